/**
 * The agent's node identity: its own key pair (generated here, stored only in the 0600 state
 * file, never sent anywhere), the CSR it sends at join and at rotation, and what the
 * certificate the master returned says (node id, role, expiry) — checked against our key
 * before it replaces anything.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createCsr, generateKeyPair, nodeIdentityFromSubjectAltName, type NodeIdentity } from '../security/index.js';

export interface PendingKey {
  keyPem: string;
  csrPem: string;
}

export interface CertificateFacts extends NodeIdentity {
  notBefore: number;
  notAfter: number;
}

/** A fresh P-256 key and a CSR for it. */
export async function newKeyAndCsr(commonName: string): Promise<PendingKey> {
  const { keys, keyPem } = await generateKeyPair();
  // The CA ignores the CSR's subject (it names the node from the join record); keep it tame.
  const cn = commonName.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'node';
  return { keyPem, csrPem: await createCsr(keys, { commonName: cn }) };
}

/** What `certPem` states, or null when it is not a node certificate. */
export function certificateFacts(certPem: string): CertificateFacts | null {
  try {
    const cert = new X509Certificate(certPem);
    const identity = nodeIdentityFromSubjectAltName(cert.subjectAltName);
    if (!identity) return null;
    return { ...identity, notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
  } catch {
    return null;
  }
}

/** Whether the certificate is for `keyPem` (a master answering with someone else's certificate is refused). */
export function certificateMatchesKey(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/**
 * When to ask for a new certificate: once two thirds of its lifetime have passed (a 7-day
 * certificate is renewed after ~4.7 days, leaving days of margin for an agent that is offline).
 */
export function renewalDue(facts: Pick<CertificateFacts, 'notBefore' | 'notAfter'>, now: number, renewAtFraction = 2 / 3): boolean {
  return now >= facts.notBefore + (facts.notAfter - facts.notBefore) * renewAtFraction;
}
