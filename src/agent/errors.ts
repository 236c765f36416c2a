/** Errors of the agent runtime. Fatal ones end the agent (wrong token, CA mismatch, removed node). */
import { BitacoraError, ErrorCode, type BitacoraErrorOptions } from '../core/index.js';

/** Codes from the coordinator after which retrying cannot help: the agent stops. */
export const FATAL_CODES: ReadonlySet<string> = new Set([
  ErrorCode.TokenInvalid, ErrorCode.TokenExpired, ErrorCode.TokenUsed, ErrorCode.TokenRevoked,
  ErrorCode.Unauthenticated, ErrorCode.Forbidden, ErrorCode.ProtocolVersion, ErrorCode.CaMismatch, ErrorCode.CertificateRevoked,
]);

/** The coordinator refused this agent for good (see FATAL_CODES). */
export class AgentRefusedError extends BitacoraError {
  override name = 'AgentRefusedError';
  constructor(code: string, message: string, options: BitacoraErrorOptions = {}) {
    super(code as BitacoraError['code'], message, options);
  }
}

/** The master cannot be reached or its join info is unusable; retried with backoff. */
export class MasterUnreachableError extends BitacoraError {
  override name = 'MasterUnreachableError';
  constructor(message: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.Unavailable, message, { retryable: true, ...options });
  }
}
