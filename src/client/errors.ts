/**
 * Turns API failures back into BitacoraErrors with the server's stable code, so callers (the
 * CLI, the dashboard) handle remote and local errors the same way. Transport failures become
 * `BIT_ERR_UNAVAILABLE` with a message naming the URL and the usual fix.
 */
import { BitacoraError, ErrorCode, ValidationError, type ValidationIssue } from '../core/index.js';

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** Used when the body is not our JSON error (a proxy, a crash): the status decides. */
function codeForStatus(status: number): ErrorCode {
  if (status === 400 || status === 422) return ErrorCode.Validation;
  if (status === 401) return ErrorCode.Unauthenticated;
  if (status === 403) return ErrorCode.Forbidden;
  if (status === 404) return ErrorCode.NotFound;
  if (status === 409) return ErrorCode.Conflict;
  if (status === 413) return ErrorCode.PayloadTooLarge;
  if (status === 429) return ErrorCode.RateLimited;
  if (status === 502 || status === 503 || status === 504) return ErrorCode.Unavailable;
  return ErrorCode.Internal;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `body` is the parsed JSON (or text) of a non-2xx response. */
export function errorFromResponse(status: number, body: unknown, what: string): BitacoraError {
  const error = isRecord(body) && isRecord(body['error']) ? body['error'] : null;
  const rawCode = error && typeof error['code'] === 'string' ? error['code'] : null;
  const code = rawCode !== null && KNOWN_CODES.has(rawCode) ? (rawCode as ErrorCode) : codeForStatus(status);
  const message =
    error && typeof error['message'] === 'string'
      ? error['message']
      : `${what} failed with HTTP ${status}${typeof body === 'string' && body ? `: ${body.slice(0, 200)}` : ''}`;
  const details = error && isRecord(error['details']) ? error['details'] : {};
  const retryable = error && typeof error['retryable'] === 'boolean' ? error['retryable'] : status >= 502;
  if (code === ErrorCode.Validation && Array.isArray(details['issues'])) {
    return new ValidationError(message, details['issues'] as ValidationIssue[], { retryable, details });
  }
  return new BitacoraError(code, message, { retryable, details: { ...details, httpStatus: status } });
}

/** fetch rejected: nothing answered at `url` (refused, DNS, reset). */
export function unreachable(url: string, err: unknown): BitacoraError {
  const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
  return new BitacoraError(
    ErrorCode.MasterUnreachable,
    `cannot reach the master at ${url} (${cause}): is \`bitacora up\` running there? Otherwise pass the right --url (or BITACORA_URL)`,
    { retryable: true, cause: err, details: { url } },
  );
}

/** The master refused the WebSocket upgrade with this HTTP status. */
export function upgradeRefused(status: number, url: string): BitacoraError {
  const code = codeForStatus(status);
  const hint = status === 401 ? ': the token was refused — check --token (or BITACORA_TOKEN)' : '';
  return new BitacoraError(code, `the master refused the event stream at ${url} with HTTP ${status}${hint}`, {
    details: { httpStatus: status, url },
  });
}
