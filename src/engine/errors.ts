/**
 * Errors of the engine. Failing commands are not errors — they are results; these are the
 * reasons a project stops early, each with a stable code from core's catalogue.
 */
import { BitacoraError, ErrorCode, type BitacoraErrorOptions } from '../core/index.js';

/** A run was cancelled through its AbortSignal. Terminal: do not retry automatically. */
export class CancelledError extends BitacoraError {
  override name = 'CancelledError';
  constructor(what: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.Cancelled, `${what} was cancelled`, options);
  }
}

/** A user rejected the approval a risky topic or step waited for. */
export class ApprovalRejectedError extends BitacoraError {
  override name = 'ApprovalRejectedError';
  constructor(readonly approvalId: string, by: string | null, note: string | null, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.ApprovalRejected, `approval ${approvalId} was rejected${by ? ` by ${by}` : ''}${note ? `: ${note}` : ''}`, {
      ...options,
      details: { approvalId, by, note, ...options.details },
    });
  }
}

/** Nobody decided before the approval's expiry. Retryable: run the pipeline again to ask again. */
export class ApprovalExpiredError extends BitacoraError {
  override name = 'ApprovalExpiredError';
  constructor(readonly approvalId: string, expiresAt: number, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.ApprovalExpired, `approval ${approvalId} expired at ${new Date(expiresAt).toISOString()} without a decision`, {
      retryable: true,
      ...options,
      details: { approvalId, expiresAt, ...options.details },
    });
  }
}

/** A step needs capabilities this node does not have. */
export class MissingCapabilityError extends BitacoraError {
  override name = 'MissingCapabilityError';
  constructor(readonly step: string, readonly missing: string[], options: BitacoraErrorOptions = {}) {
    super(ErrorCode.NoCapableNode, `step '${step}' needs ${missing.join(', ')}, which this node does not have`, {
      ...options,
      details: { step, missing, ...options.details },
    });
  }
}
