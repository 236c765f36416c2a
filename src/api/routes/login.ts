/**
 * Dashboard login and logout. `POST /v1/login {token}` (public) exchanges a one-time login token
 * (or an API token) for a server-side session: the `bitacora_session` cookie (HttpOnly,
 * SameSite=Strict, Path=/, Secure over TLS) and a CSRF token the dashboard sends back as
 * `X-CSRF-Token` on every state-changing request. `POST /v1/logout` ends the session.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BitacoraError, ErrorCode, parseOrThrow } from '../../core/index.js';
import { SESSION_COOKIE } from '../auth.js';
import { FailureThrottle } from '../failure-throttle.js';
import type { SessionStore } from '../sessions.js';
import { bodyOrEmpty, type AccessDeps } from './shared.js';

export interface LoginRouteDeps extends AccessDeps {
  sessions: SessionStore;
}

const LOGIN_BODY_LIMIT = 4096;
const loginSchema = z.strictObject({ token: z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters') });

function cookieOptions(request: FastifyRequest, maxAgeMs?: number) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: request.protocol === 'https',
    ...(maxAgeMs !== undefined ? { maxAge: Math.floor(maxAgeMs / 1000) } : {}),
  };
}

function endCurrentSession(request: FastifyRequest, reply: FastifyReply, sessions: SessionStore): void {
  const cookie = request.cookies[SESSION_COOKIE];
  const session = request.dashboardSession ?? (cookie ? sessions.get(cookie) : null);
  if (session) sessions.delete(session.key);
  if (cookie !== undefined) reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
}

export function loginRoutes(app: FastifyInstance, { access, sessions }: LoginRouteDeps): void {
  // Per client address: refused logins are audited, so a flood must stop before it reaches the trail.
  const throttle = new FailureThrottle();
  app.post('/login', { config: { public: true }, bodyLimit: LOGIN_BODY_LIMIT }, async (request, reply) => {
    const { token } = parseOrThrow(loginSchema, bodyOrEmpty(request.body), 'login');
    const retryAfterMs = throttle.retryAfterMs(request.ip, Date.now());
    if (retryAfterMs > 0) {
      reply.header('retry-after', String(Math.ceil(retryAfterMs / 1000)));
      throw new BitacoraError(ErrorCode.RateLimited, `too many failed logins from ${request.ip}: retry in ${Math.ceil(retryAfterMs / 1000)} s`, {
        retryable: true,
        details: { retryAfterMs },
      });
    }
    // TokenInvalid / TokenExpired / TokenUsed / TokenRevoked → 401; audited by the access service.
    let principal;
    try {
      principal = await access.login(token);
    } catch (err) {
      throttle.fail(request.ip, Date.now());
      throw err;
    }
    throttle.succeed(request.ip);
    if (principal.kind !== 'user') throw new BitacoraError(ErrorCode.TokenInvalid, 'this token does not name a user');
    endCurrentSession(request, reply, sessions);
    const { id, session } = sessions.create(principal);
    // With a sessions file: answer once it holds the new session (and no longer the ended one).
    await sessions.saved();
    reply.setCookie(SESSION_COOKIE, id, cookieOptions(request, sessions.absoluteMs));
    reply.header('cache-control', 'no-store');
    return { user: principal.name, role: principal.role, csrfToken: session.csrfToken };
  });

  app.post('/logout', { config: { self: true }, bodyLimit: LOGIN_BODY_LIMIT }, async (request, reply) => {
    endCurrentSession(request, reply, sessions);
    await sessions.saved();
    return reply.code(204).send();
  });
}
