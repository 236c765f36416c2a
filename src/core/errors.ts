/**
 * Typed errors of the domain. Every error carries a stable `code` from the catalogue,
 * whether retrying can help, and structured context; edges (api/, rpc/) map codes to
 * HTTP / gRPC statuses, never the domain.
 */
import { ErrorCode } from './error-codes.js';

export { ErrorCode } from './error-codes.js';

export interface ValidationIssue {
  /** Dotted path with indexes, e.g. `topics[2].steps[0].timeout`. Empty for the root. */
  path: string;
  message: string;
}

export interface BitacoraErrorOptions extends ErrorOptions {
  retryable?: boolean;
  details?: Record<string, unknown>;
}

export class BitacoraError extends Error {
  override name = 'BitacoraError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: BitacoraErrorOptions = {}) {
    super(message, options);
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; retryable: boolean; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

export class ValidationError extends BitacoraError {
  override name = 'ValidationError';
  readonly issues: ValidationIssue[];
  constructor(message: string, issues: ValidationIssue[], options: BitacoraErrorOptions = {}) {
    super(ErrorCode.Validation, message, { ...options, details: { ...options.details, issues } });
    this.issues = issues;
  }
}

export class PipelineError extends BitacoraError {
  override name = 'PipelineError';
  readonly issues: ValidationIssue[];
  constructor(message: string, issues: ValidationIssue[], options: BitacoraErrorOptions = {}) {
    super(ErrorCode.PipelineInvalid, message, { ...options, details: { ...options.details, issues } });
    this.issues = issues;
  }
}

export class NotFoundError extends BitacoraError {
  override name = 'NotFoundError';
  constructor(readonly entity: string, readonly id: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.NotFound, `${entity} '${id}' not found`, { ...options, details: { entity, id, ...options.details } });
  }
}

export class ConflictError extends BitacoraError {
  override name = 'ConflictError';
  constructor(message: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.Conflict, message, { retryable: true, ...options });
  }
}

export class InvalidTransitionError extends BitacoraError {
  override name = 'InvalidTransitionError';
  constructor(readonly entity: string, readonly from: string, readonly to: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.InvalidTransition, `${entity} cannot go from '${from}' to '${to}'`, {
      ...options,
      details: { entity, from, to, ...options.details },
    });
  }
}

/** Fencing refusal: the attempt named by the caller is not the task's current attempt. */
export class StaleAttemptError extends BitacoraError {
  override name = 'StaleAttemptError';
  constructor(readonly taskId: string, readonly attempt: number, readonly currentAttempt: number, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.StaleAttempt, `task ${taskId}: attempt ${attempt} is superseded (current attempt ${currentAttempt})`, {
      ...options,
      details: { taskId, attempt, currentAttempt, ...options.details },
    });
  }
}

export class StoreUnavailableError extends BitacoraError {
  override name = 'StoreUnavailableError';
  constructor(message: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.StoreUnavailable, message, { retryable: true, ...options });
  }
}

export function isBitacoraError(err: unknown): err is BitacoraError {
  return err instanceof BitacoraError;
}

/** Wraps anything thrown into a BitacoraError without losing the original as `cause`. */
export function toBitacoraError(err: unknown): BitacoraError {
  if (err instanceof BitacoraError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BitacoraError(ErrorCode.Internal, message, { cause: err });
}
