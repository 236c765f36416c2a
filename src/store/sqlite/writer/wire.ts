/**
 * What crosses the writer thread's boundary: errors travel as plain data and come back as the
 * same typed errors (so `instanceof StaleAttemptError` still holds on the caller's side).
 */
import {
  BitacoraError, ConflictError, ErrorCode, InvalidTransitionError, NotFoundError, StaleAttemptError, StoreUnavailableError,
  ValidationError, type ValidationIssue,
} from '../../../core/index.js';

export interface WireError {
  name: string;
  code: string;
  message: string;
  retryable: boolean;
  details: Record<string, unknown>;
}

export function errorToWire(error: BitacoraError): WireError {
  return { name: error.name, code: error.code, message: error.message, retryable: error.retryable, details: structuredSafe(error.details) };
}

export function errorFromWire(wire: WireError): BitacoraError {
  const d = wire.details;
  let error: BitacoraError;
  switch (wire.name) {
    case 'ValidationError':
      error = new ValidationError(wire.message, (d.issues as ValidationIssue[] | undefined) ?? [], { details: d });
      break;
    case 'NotFoundError':
      error = new NotFoundError(String(d.entity), String(d.id), { details: d });
      break;
    case 'ConflictError':
      error = new ConflictError(wire.message, { details: d });
      break;
    case 'InvalidTransitionError':
      error = new InvalidTransitionError(String(d.entity), String(d.from), String(d.to), { details: d });
      break;
    case 'StaleAttemptError':
      error = new StaleAttemptError(String(d.taskId), Number(d.attempt), Number(d.currentAttempt), { details: d });
      break;
    case 'StoreUnavailableError':
      error = new StoreUnavailableError(wire.message, { details: d });
      break;
    default:
      error = new BitacoraError(wire.code as ErrorCode, wire.message, { retryable: wire.retryable, details: d });
  }
  // The subclass may word its message itself; the original wording wins.
  error.message = wire.message;
  return error;
}

export function closedStoreError(): BitacoraError {
  return new BitacoraError(ErrorCode.Unavailable, 'the store is closed');
}

/** Details are plain data by convention; anything else (a cause, a function) is dropped. */
function structuredSafe(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return structuredClone(details);
  } catch {
    return JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
  }
}
