/**
 * The fleet's certificate authority: a self-signed ECDSA P-256 CA, the master's TLS server
 * certificate, and node certificates issued from a node's CSR (its private key never leaves
 * the node). Pure apart from randomness and WebCrypto; files live in ./ca-files.ts.
 */
import 'reflect-metadata'; // must load before @peculiar/x509 (tsyringe needs it)
import { X509Certificate as NodeX509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { ValidationError, type NodeRole, type ValidationIssue } from '../core/index.js';
import { CertificateError } from './errors.js';
import { nodeIdentityUri, type NodeIdentity } from './identity.js';
import { crypto, generateKeyPair, keyPairFromPem, SIGNING_ALGORITHM, type CryptoKey, type CryptoKeyPair } from './keys.js';

/** The CA's certificate and private key, both PEM. The key belongs in a 0600 file and nowhere else. */
export interface FleetCa {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

export interface IssuedNodeCertificate {
  certPem: string;
  /** Hex serial number, for revocation lists. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  identity: NodeIdentity;
}

/** Default lifetime of the fleet CA: 10 years (agents pin it; replacing it means every node rejoins). */
export const DEFAULT_CA_VALIDITY_DAYS = 3650;
/** Default lifetime of the master's server certificate: 825 days; `ensureFleetCa` renews it on start when close to expiry. */
export const DEFAULT_SERVER_VALIDITY_DAYS = 825;
/** Default lifetime of a node certificate: 7 days, rotated over the live connection before it ends. */
export const DEFAULT_NODE_VALIDITY_DAYS = 7;
/** Certificates start this much in the past so a peer whose clock is a little behind accepts them. */
const CLOCK_SKEW_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

export async function createFleetCa(options: { commonName?: string; validityDays?: number; now?: Date } = {}): Promise<FleetCa> {
  const commonName = checkCommonName(options.commonName ?? 'Bitacora Fleet CA');
  const { notBefore, notAfter } = validity(options.validityDays ?? DEFAULT_CA_VALIDITY_DAYS, options.now);
  const { keys, keyPem } = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: [{ CN: [commonName] }, { O: ['Bitacora Fleet'] }],
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        // pathLength 0: the fleet CA signs leaf certificates only, never another CA.
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem };
}

/**
 * The master's TLS server certificate with a new key. `hosts` become the SANs: IP literals
 * (IPv6 with or without brackets) as IP SANs, everything else as DNS names.
 */
export async function issueServerCertificate(
  ca: FleetCa,
  options: { commonName: string; hosts: readonly string[]; validityDays?: number; now?: Date },
): Promise<CertificateAndKey> {
  const commonName = checkCommonName(options.commonName);
  const sans = subjectAltNames(options.hosts);
  const { notBefore, notAfter } = validity(options.validityDays ?? DEFAULT_SERVER_VALIDITY_DAYS, options.now);
  const signer = await loadCa(ca);
  const { keys, keyPem } = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: [{ CN: [commonName] }, { O: ['Bitacora Fleet'] }],
      issuer: signer.cert.subjectName,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: signer.keys.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(sans),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(signer.keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem };
}

/**
 * A PKCS#10 request proving possession of `keys`. The subject is informational only: the CA
 * names the node from its join record, whatever the request says.
 */
export async function createCsr(keys: CryptoKeyPair, options: { commonName: string }): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: [{ CN: [checkCommonName(options.commonName)] }], keys, signingAlgorithm: SIGNING_ALGORITHM },
    crypto,
  );
  return csr.toString('pem');
}

/**
 * Signs a node certificate for the key in `csrPem`, naming `nodeId` and `role` (subject CN/OU
 * and the `bitacora://node/<id>?role=<role>` URI SAN). Workers get clientAuth only; masters
 * and hybrids (which may coordinate) also serverAuth. CertificateError when the CSR is
 * malformed, its signature is wrong, or its key is not ECDSA P-256.
 */
export async function issueNodeCertificate(
  ca: FleetCa,
  csrPem: string,
  options: { nodeId: string; role: NodeRole; validityDays?: number; now?: Date },
): Promise<IssuedNodeCertificate> {
  const identity: NodeIdentity = { nodeId: options.nodeId, role: options.role };
  const uri = nodeIdentityUri(identity);
  const { notBefore, notAfter } = validity(options.validityDays ?? DEFAULT_NODE_VALIDITY_DAYS, options.now);
  const { csr, publicKey } = await checkedCsr(csrPem);
  const signer = await loadCa(ca);
  const serialNumber = randomSerial();
  const usages = options.role === 'worker' ? [x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth];
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber,
      subject: [{ CN: [options.nodeId] }, { OU: [options.role] }, { O: ['Bitacora Fleet'] }],
      issuer: signer.cert.subjectName,
      notBefore,
      notAfter,
      publicKey: csr.publicKey,
      signingKey: signer.keys.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(usages),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }]),
        await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(signer.keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), serialNumber, notBefore, notAfter, identity };
}

/**
 * Checks a node's CSR without signing anything: well-formed, self-signed by its key, ECDSA
 * P-256. The master calls it before consuming a join token, so a bad CSR does not burn it.
 */
export async function checkCsr(csrPem: string): Promise<void> {
  await checkedCsr(csrPem);
}

async function checkedCsr(csrPem: string): Promise<{ csr: x509.Pkcs10CertificateRequest; publicKey: CryptoKey }> {
  const csr = parseCsr(csrPem);
  if (!(await csr.verify(crypto).catch(() => false))) throw new CertificateError('the certificate request is not signed by its own key');
  const publicKey = await csr.publicKey.export(crypto).catch((err: unknown) => {
    throw new CertificateError('the certificate request carries an unsupported key', { cause: err });
  });
  const algorithm = publicKey.algorithm as { name: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    throw new CertificateError(`node keys must be ECDSA P-256, got ${algorithm.name} ${algorithm.namedCurve ?? ''}`.trim());
  }
  return { csr, publicKey };
}

/** Whether `certPem` was signed by `caCertPem` and is valid at `now` (signature, issuer name, dates). */
export function isIssuedBy(certPem: string, caCertPem: string, now: Date = new Date()): boolean {
  try {
    const cert = new NodeX509Certificate(certPem);
    const caCert = new NodeX509Certificate(caCertPem);
    const t = now.getTime();
    return cert.checkIssued(caCert) && cert.verify(caCert.publicKey) && Date.parse(cert.validFrom) <= t && t <= Date.parse(cert.validTo);
  } catch {
    return false;
  }
}

/** The SAN entries for `hosts`; ValidationError naming every entry that is neither an IP nor a DNS name. */
export function subjectAltNames(hosts: readonly string[]): Array<{ type: 'ip' | 'dns'; value: string }> {
  const issues: ValidationIssue[] = [];
  const out = new Map<string, { type: 'ip' | 'dns'; value: string }>();
  hosts.forEach((raw, i) => {
    const host = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
    if (isIP(host) !== 0) out.set(`ip:${host}`, { type: 'ip', value: host });
    else if (DNS_NAME.test(host) && host.length <= 253) out.set(`dns:${host.toLowerCase()}`, { type: 'dns', value: host.toLowerCase() });
    else issues.push({ path: `hosts[${i}]`, message: `${JSON.stringify(raw)} is neither an IP address nor a DNS name` });
  });
  if (issues.length > 0) throw new ValidationError(`invalid certificate hosts:\n${issues.map((i) => `${i.path}: ${i.message}`).join('\n')}`, issues);
  if (out.size === 0) throw new ValidationError('a server certificate needs at least one host', [{ path: 'hosts', message: 'must not be empty' }]);
  return [...out.values()];
}

/** Labels of letters, digits and inner hyphens; a leading `*.` wildcard is allowed. */
const DNS_NAME = /^(\*\.)?(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$/;

type LoadedCa = { cert: x509.X509Certificate; keys: CryptoKeyPair };

/**
 * Parsed and checked CAs, per CA object: the coordinator signs every joining node's
 * certificate with the same CA, and parsing plus the key check cost ~13 ms a time.
 */
const loadedCas = new WeakMap<FleetCa, Promise<LoadedCa>>();

function loadCa(ca: FleetCa): Promise<LoadedCa> {
  let loaded = loadedCas.get(ca);
  if (!loaded) {
    loaded = parseCa(ca);
    loadedCas.set(ca, loaded);
    // A refused CA is not remembered: the caller may fix the object's files and retry.
    loaded.catch(() => loadedCas.delete(ca));
  }
  return loaded;
}

async function parseCa(ca: FleetCa): Promise<LoadedCa> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(ca.certPem);
    if (!new NodeX509Certificate(ca.certPem).checkPrivateKey(createPrivateKey(ca.keyPem))) {
      throw new Error('the CA key does not belong to the CA certificate');
    }
  } catch (err) {
    throw new CertificateError(`unusable fleet CA: ${(err as Error).message}`, { cause: err });
  }
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  if (basic === null || !basic.ca) throw new CertificateError('unusable fleet CA: its certificate is not a CA certificate');
  return { cert, keys: await keyPairFromPem(ca.keyPem) };
}

function parseCsr(csrPem: string): x509.Pkcs10CertificateRequest {
  try {
    return new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new CertificateError(`malformed certificate request: ${(err as Error).message}`, { cause: err });
  }
}

function validity(days: number, now: Date = new Date()): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(days) || days < 1 || days > 36_500) {
    throw new ValidationError(`validityDays must be a whole number of days from 1 to 36500, got ${days}`, [
      { path: 'validityDays', message: 'must be an integer from 1 to 36500' },
    ]);
  }
  // Whole seconds: X.509 times carry no milliseconds, and round-tripping should compare equal.
  const t = Math.floor(now.getTime() / 1000) * 1000;
  return { notBefore: new Date(t - CLOCK_SKEW_MS), notAfter: new Date(t + days * DAY_MS) };
}

function checkCommonName(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > 64 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new ValidationError(`invalid certificate common name ${JSON.stringify(name)}`, [
      { path: 'commonName', message: 'must be 1-64 characters without control characters' },
    ]);
  }
  return name;
}

/** 16 random bytes, positive and without a leading zero byte (DER INTEGER stays 16 bytes). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x40;
  return bytes.toString('hex');
}
