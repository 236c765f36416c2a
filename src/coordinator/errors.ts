/**
 * Errors of the coordinator. Refusals of what an agent sent carry the stable codes of the
 * catalogue; the hub turns them into `error` frames and 'protocol.violation' events.
 */
import { BitacoraError, ErrorCode, type BitacoraErrorOptions } from '../core/index.js';

/** An agent broke the protocol: wrong order, unknown task, duplicate hello. Terminal for the frame. */
export class ProtocolViolationError extends BitacoraError {
  override name = 'ProtocolViolationError';
  constructor(message: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.ProtocolViolation, message, options);
  }
}

export { UnauthenticatedError } from '../access/errors.js';

/** The coordinator is not running (starting, stopping, closed) or refuses work (emergency stop). */
export class CoordinatorUnavailableError extends BitacoraError {
  override name = 'CoordinatorUnavailableError';
  constructor(message: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.Unavailable, message, { retryable: true, ...options });
  }
}
