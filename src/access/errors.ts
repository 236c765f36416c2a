/** Errors of access control: who is refused and why, with the catalogue's stable codes. */
import { BitacoraError, ErrorCode, type BitacoraErrorOptions } from '../core/index.js';

/** A caller (agent hello, bearer, certificate) could not be authenticated. */
export class UnauthenticatedError extends BitacoraError {
  override name = 'UnauthenticatedError';
  constructor(message: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.Unauthenticated, message, options);
  }
}
