/**
 * Bearer authentication of the API: every route requires `Authorization: Bearer <token>`
 * unless its route config says `public: true`. Browsers cannot set headers on a WebSocket,
 * so routes with `queryToken: true` also accept `?token=`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BitacoraError, ErrorCode } from '../core/index.js';
import { sendError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** No token needed (health check, join info). */
    public?: boolean;
    /** Also accept the token as `?token=` (WebSocket from a browser). */
    queryToken?: boolean;
  }
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** Tokens longer than this are refused before reaching `verifyToken` (no unbounded hashing). */
const MAX_TOKEN_LENGTH = 512;

export function bearerFrom(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header !== '') {
    const match = BEARER.exec(header);
    return match ? match[1]! : '';
  }
  if (request.routeOptions.config.queryToken) {
    const token = (request.query as Record<string, unknown> | undefined)?.['token'];
    if (typeof token === 'string' && token !== '') return token;
  }
  return null;
}

const HOW_TO = 'send "Authorization: Bearer <admin token>" — `bitacora up` prints the token and saves it in <data dir>/client.json';

export function authHook(verifyToken: (bearer: string) => boolean) {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (request.routeOptions.config.public) return undefined;
    const token = bearerFrom(request);
    if (token === null) {
      return sendError(reply, new BitacoraError(ErrorCode.Unauthenticated, `authentication required: ${HOW_TO}`));
    }
    let valid = false;
    try {
      valid = token !== '' && token.length <= MAX_TOKEN_LENGTH && verifyToken(token);
    } catch (err) {
      // A failing verifier must not let the request through, nor leak a 500 with its internals.
      request.log.error({ err }, 'token verification failed');
    }
    if (!valid) {
      const why = token === '' ? 'malformed Authorization header' : 'invalid or expired token';
      return sendError(reply, new BitacoraError(ErrorCode.Unauthenticated, `${why}: ${HOW_TO}`));
    }
    return undefined;
  };
}

/** Redacts `token=` in URLs before they reach the log. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&]*/gi, '$1[redacted]');
}
