/**
 * Errors of the gRPC boundary. A frame that cannot be decoded, fails validation or is too
 * large becomes a FrameError carrying a stable code; transports never crash on bad input.
 */
import { BitacoraError, ErrorCode, type BitacoraErrorOptions, type ValidationIssue } from '../core/index.js';

export type FrameErrorCode = typeof ErrorCode.ProtocolViolation | typeof ErrorCode.PayloadTooLarge | typeof ErrorCode.Validation;

/** A frame from the peer was refused. Terminal for that frame; the stream may continue. */
export class FrameError extends BitacoraError {
  override name = 'FrameError';
  readonly issues: ValidationIssue[];
  constructor(code: FrameErrorCode, message: string, issues: ValidationIssue[] = [], options: BitacoraErrorOptions = {}) {
    super(code, message, { ...options, details: { ...options.details, issues } });
    this.issues = issues;
  }
}

/** The link to the peer is gone or could not be established. Retryable by reconnecting. */
export class LinkError extends BitacoraError {
  override name = 'LinkError';
  constructor(message: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.Unavailable, message, { retryable: true, ...options });
  }
}
