/** Errors of the security module: bad certificates, keys and CSRs, and a CA that does not match its pin. */
import { BitacoraError, ErrorCode, type BitacoraErrorOptions } from '../core/index.js';

/** A certificate, key or CSR is malformed, unsupported or not from the fleet CA; or the TLS files are inconsistent. Terminal. */
export class CertificateError extends BitacoraError {
  override name = 'CertificateError';
  constructor(message: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.CertificateInvalid, message, options);
  }
}

/** The master presented a CA whose fingerprint differs from the pinned one. Terminal: never retry against that master. */
export class CaMismatchError extends BitacoraError {
  override name = 'CaMismatchError';
  constructor(readonly expected: string, readonly actual: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.CaMismatch, `the master's CA fingerprint ${actual} does not match the pinned ${expected}`, {
      ...options,
      details: { expected, actual, ...options.details },
    });
  }
}

/** An audit key is missing, malformed or readable by others (the MAC key file must be 0600). Terminal. */
export class AuditKeyError extends BitacoraError {
  override name = 'AuditKeyError';
  constructor(message: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.AuditKeyInvalid, message, options);
  }
}
