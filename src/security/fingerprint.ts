/**
 * The CA pin: `sha256:<hex of the DER certificate>`, as carried by `bitacora join --ca-hash`
 * (the kubeadm idea: trust on first use, but of a hash the user copied from the master).
 */
import { X509Certificate, createHash, timingSafeEqual } from 'node:crypto';
import { CaMismatchError, CertificateError } from './errors.js';

const FINGERPRINT_PATTERN = /^sha256:((?:[0-9a-f]{2}:?){31}[0-9a-f]{2})$/i;

/** `sha256:` + lowercase hex of the SHA-256 of the certificate's DER encoding. CertificateError for a non-certificate. */
export function caFingerprint(certPem: string): string {
  let der: Buffer;
  try {
    der = new X509Certificate(certPem).raw;
  } catch (err) {
    throw new CertificateError(`not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

/**
 * The canonical form of a fingerprint a human typed: `sha256:` + 64 lowercase hex digits.
 * Upper case and byte-separating colons (`AB:CD:…`, as openssl prints) are accepted. Null if malformed.
 */
export function normalizeFingerprint(text: string): string | null {
  const match = FINGERPRINT_PATTERN.exec(text.trim());
  return match ? `sha256:${(match[1] as string).replaceAll(':', '').toLowerCase()}` : null;
}

/** Constant-time comparison of two fingerprints (after normalizing); false when either is malformed. */
export function fingerprintsEqual(a: string, b: string): boolean {
  const x = normalizeFingerprint(a);
  const y = normalizeFingerprint(b);
  if (x === null || y === null) return false;
  return timingSafeEqual(Buffer.from(x.slice(7), 'hex'), Buffer.from(y.slice(7), 'hex'));
}

/** Throws CaMismatchError unless `caCertPem` is the pinned CA. Returns its fingerprint. */
export function assertCaPin(caCertPem: string, pinned: string): string {
  const actual = caFingerprint(caCertPem);
  if (!fingerprintsEqual(actual, pinned)) throw new CaMismatchError(normalizeFingerprint(pinned) ?? pinned, actual);
  return actual;
}
