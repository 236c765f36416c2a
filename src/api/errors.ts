/**
 * The one place where domain errors become HTTP statuses. Every error response has the body
 * `{ error: { code, message, retryable, details } }` with a stable BIT_ERR_* code, so clients
 * (src/client) can turn it back into the same BitacoraError.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { BitacoraError, ErrorCode, ValidationError } from '../core/index.js';

/**
 * Status per code. Every code should be listed (test/api checks it); a code added to the catalogue
 * before it is mapped here answers 500 rather than breaking the build of whoever added it.
 */
export const HTTP_STATUS: Readonly<Partial<Record<ErrorCode, number>>> = {
  [ErrorCode.Validation]: 400,
  [ErrorCode.PipelineInvalid]: 400,
  [ErrorCode.UnsafeName]: 400,
  [ErrorCode.ProtocolVersion]: 400,
  [ErrorCode.ProtocolViolation]: 400,
  [ErrorCode.CaMismatch]: 400,
  [ErrorCode.CertificateInvalid]: 400,
  [ErrorCode.Unauthenticated]: 401,
  // Join-token refusals reach HTTP only when a token is presented to the API; the caller is not authenticated.
  [ErrorCode.TokenInvalid]: 401,
  [ErrorCode.TokenExpired]: 401,
  [ErrorCode.TokenUsed]: 401,
  [ErrorCode.TokenRevoked]: 401,
  [ErrorCode.CertificateRevoked]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.InvalidTransition]: 409,
  [ErrorCode.ActiveTopicExists]: 409,
  [ErrorCode.StaleAttempt]: 409,
  [ErrorCode.IdempotencyMismatch]: 409,
  [ErrorCode.ApprovalRejected]: 409,
  [ErrorCode.ApprovalExpired]: 409,
  [ErrorCode.Cancelled]: 409,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.RateLimited]: 429,
  // The request was understood but no node can run it (capabilities, pin): not retryable as is.
  [ErrorCode.NoCapableNode]: 422,
  [ErrorCode.SpawnFailed]: 500,
  [ErrorCode.Internal]: 500,
  [ErrorCode.StoreUnavailable]: 503,
  [ErrorCode.AuditUnavailable]: 503,
  [ErrorCode.AuditKeyInvalid]: 500,
  [ErrorCode.MasterUnreachable]: 503,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Timeout]: 504,
};

export function httpStatusOf(code: string): number {
  return (HTTP_STATUS as Record<string, number>)[code] ?? 500;
}

export interface ErrorBody {
  error: { code: string; message: string; retryable: boolean; details: Record<string, unknown> };
}

export function errorBody(err: BitacoraError): ErrorBody {
  return { error: { code: err.code, message: err.message, retryable: err.retryable, details: err.details } };
}

/**
 * Fastify's own errors (body parsing, size limits, content types) carry `FST_ERR_*` codes and a
 * 4xx statusCode; they are translated to our catalogue so clients see one vocabulary.
 */
export function fromFastifyError(err: FastifyError): BitacoraError {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BitacoraError(ErrorCode.PayloadTooLarge, `request body is too large: ${err.message}`);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ValidationError(`request body is not valid JSON: ${err.message}`, [{ path: '', message: err.message }]);
    case 'FST_ERR_BAD_URL':
      return new ValidationError(`malformed URL: ${err.message}`, [{ path: 'url', message: 'malformed percent-escape' }]);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ValidationError('a path parameter is too long: ids and names are at most 100 characters', [{ path: 'url', message: 'parameter too long' }]);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ValidationError(`unsupported content type: send JSON with "Content-Type: application/json"`, [
        { path: '', message: err.message },
      ]);
    default:
      break;
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return new ValidationError(err.message, [{ path: '', message: err.message }]);
  return new BitacoraError(ErrorCode.Internal, `internal error: ${err.message}`, { cause: err });
}

/**
 * A request Node's HTTP parser refused before fastify saw it (unknown method, malformed request
 * line, oversized headers): answered on the raw socket, in the same JSON envelope, then closed.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, error] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, new BitacoraError(ErrorCode.Timeout, 'the request was not received in time')]
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, new BitacoraError(ErrorCode.PayloadTooLarge, 'request headers are too large')]
    : [400, new ValidationError(`malformed HTTP request (${err.code ?? 'parse error'})`, [{ path: '', message: err.message }])];
  const body = JSON.stringify(errorBody(error));
  const writable = socket as Duplex & { writable?: boolean };
  if (writable.writable) {
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  } else {
    socket.destroy(err);
  }
}

export function toHttpError(err: unknown): BitacoraError {
  if (err instanceof BitacoraError) return err;
  if (err instanceof Error && typeof (err as FastifyError).code === 'string' && (err as FastifyError).code.startsWith('FST_')) {
    return fromFastifyError(err as FastifyError);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new BitacoraError(ErrorCode.Internal, `internal error: ${message}`, { cause: err });
}

export function sendError(reply: FastifyReply, err: BitacoraError): FastifyReply {
  const status = httpStatusOf(err.code);
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="bitacora"');
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(err));
}

/** Installed with `setErrorHandler`: logs server-side failures, answers with the mapped body. */
export function handleError(this: unknown, err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const mapped = toHttpError(err);
  if (httpStatusOf(mapped.code) >= 500) request.log.error({ err }, 'request failed');
  return sendError(reply, mapped);
}
