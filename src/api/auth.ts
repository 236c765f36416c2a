/**
 * Who is calling and what they may do, for every route of the API.
 *
 * Authentication (onRequest): a principal — a user Requester — comes from
 * `Authorization: Bearer <token>` (`AccessService.authenticate`), from `?token=` on routes that
 * say `queryToken: true` (the WebSocket: browsers cannot set its headers), or from the dashboard
 * session cookie. Cookie requests that change state must carry the session's `X-CSRF-Token`;
 * cookie WebSocket upgrades must come from the same origin. Routes with `public: true` skip it all.
 *
 * Authorization (preHandler, after body parsing): every other route declares in its config the
 * `operation` it performs and how to compute its `targets` from the request; the hook asks
 * `AccessService.authorize` (which audits denials and throws Forbidden). Default deny: a route
 * that declares neither an operation, `self: true` nor `public: true` cannot even be registered
 * (`routeAccessGuard`).
 */
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { BitacoraError, ErrorCode } from '../core/index.js';
import type { AccessService } from '../access/access-service.js';
import { secretsEqual, type Operation, type Target } from '../security/index.js';
import { sendError } from './errors.js';
import type { DashboardSession, SessionStore, UserPrincipal } from './sessions.js';

export type { UserPrincipal } from './sessions.js';
export type AuthVia = 'bearer' | 'cookie';

/** A further check a route needs besides its main operation (the events stream that also carries logs). */
export interface Requirement {
  operation: Operation;
  targets: readonly Target[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** No authentication and no authorization (health check, join info, login). */
    public?: boolean;
    /** Also accept the token as `?token=` (WebSocket from a browser). */
    queryToken?: boolean;
    /** Any authenticated user, no grant: the route acts only on the caller's own identity or session (whoami, logout). */
    self?: boolean;
    /** The ACL operation the route performs. */
    operation?: Operation;
    /** What it acts on, computed from params/body/query (may look entities up). Default: the fleet. */
    targets?: (request: FastifyRequest) => readonly Target[] | Promise<readonly Target[]>;
    /** Further operations, e.g. ReadLogs when a subscription includes task output. */
    alsoRequires?: (request: FastifyRequest) => readonly Requirement[];
  }
  interface FastifyRequest {
    /** The authenticated user; null on public routes (and before the onRequest hook). */
    principal: UserPrincipal | null;
    authVia: AuthVia | null;
    /** The dashboard session when authenticated by cookie. */
    dashboardSession: DashboardSession | null;
  }
}

export const SESSION_COOKIE = 'bitacora_session';
export const CSRF_HEADER = 'x-csrf-token';
export const FLEET_TARGET: readonly Target[] = Object.freeze([{ kind: 'fleet' } as const]);

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** Tokens longer than this are refused before reaching `authenticate` (no unbounded hashing). */
const MAX_TOKEN_LENGTH = 512;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const ROLE_RANK = { viewer: 0, operator: 1, admin: 2 } as const;

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

const HOW_TO = 'send "Authorization: Bearer <token>" (`bitacora up` prints the admin\'s and saves it in <data dir>/client.json; `bitacora token create --user U` makes more) or log in to the dashboard';

const unauthenticated = (why: string) => new BitacoraError(ErrorCode.Unauthenticated, `${why}: ${HOW_TO}`);
const forbidden = (message: string, reason: string) => new BitacoraError(ErrorCode.Forbidden, message, { details: { reason } });

export function authHook(access: AccessService, sessions: SessionStore) {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    request.principal = null;
    request.authVia = null;
    request.dashboardSession = null;
    if (request.routeOptions.config.public) return undefined;

    const token = bearerFrom(request);
    if (token !== null) {
      let principal = null;
      try {
        principal = token !== '' && token.length <= MAX_TOKEN_LENGTH ? await access.authenticate(token) : null;
      } catch (err) {
        // A failing verifier must not let the request through, nor leak a 500 with its internals.
        request.log.error({ err }, 'token verification failed');
      }
      if (!principal || principal.kind !== 'user') {
        return sendError(reply, unauthenticated(token === '' ? 'malformed Authorization header' : 'invalid or expired token'));
      }
      request.principal = principal;
      request.authVia = 'bearer';
      return undefined;
    }

    const cookie = request.cookies[SESSION_COOKIE];
    if (cookie === undefined || cookie === '') return sendError(reply, unauthenticated('authentication required'));
    const session = sessions.get(cookie);
    if (!session) {
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return sendError(reply, unauthenticated('the dashboard session has expired or ended'));
    }
    const principal = await currentPrincipal(access, session.principal);
    if (!principal) {
      sessions.delete(session.key);
      return sendError(reply, unauthenticated(`user ${session.principal.name} no longer exists`));
    }
    if (!SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || sent.length > 256 || !secretsEqual(sent, session.csrfToken)) {
        return sendError(
          reply,
          forbidden(
            `missing or wrong ${CSRF_HEADER} header: a request authenticated by the dashboard cookie that changes state must send the csrfToken answered by POST /v1/login`,
            'csrf',
          ),
        );
      }
    }
    if (isUpgrade(request) && !sameOrigin(request)) {
      return sendError(reply, forbidden('cross-origin WebSocket refused: a cookie-authenticated WebSocket must come from the dashboard\'s own origin', 'origin'));
    }
    request.principal = principal;
    request.authVia = 'cookie';
    request.dashboardSession = session;
    return undefined;
  };
}

/**
 * The session's user as the access service knows it now: a removed user ends the session, a
 * demoted one acts with the lower role, project limits follow the user's current ones.
 */
/**
 * Whether the credential a long-lived request (a WebSocket) was admitted with still holds: the
 * bearer token is still valid for the same user, or the dashboard session still exists and its
 * user too. Revoking a token, removing a user or logging out thus ends open subscriptions.
 */
export async function credentialsStillValid(request: FastifyRequest, access: AccessService, sessions: SessionStore): Promise<boolean> {
  const admitted = request.principal;
  if (!admitted) return false;
  try {
    if (request.authVia === 'bearer') {
      const token = bearerFrom(request);
      const now = token !== null && token !== '' ? await access.authenticate(token) : null;
      return now?.kind === 'user' && now.name === admitted.name;
    }
    const cookie = request.cookies[SESSION_COOKIE];
    return cookie !== undefined && sessions.get(cookie) !== null && (await currentPrincipal(access, admitted)) !== null;
  } catch {
    return false;
  }
}

async function currentPrincipal(access: AccessService, at: UserPrincipal): Promise<UserPrincipal | null> {
  const user = (await access.listUsers()).find((u) => u.name === at.name);
  if (!user) return null;
  const role = ROLE_RANK[user.role] < ROLE_RANK[at.role] ? user.role : at.role;
  const projects = user.projects ?? at.projects;
  return { kind: 'user', name: user.name, role, ...(projects ? { projects } : {}) };
}

function isUpgrade(request: FastifyRequest): boolean {
  const upgrade = request.headers.upgrade;
  return typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket';
}

/** Browsers always send Origin on a WebSocket; it must name the host the request was sent to. */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  const host = request.headers.host;
  if (typeof origin !== 'string' || typeof host !== 'string') return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

/** Runs after body parsing: the route's operation on its targets, asked of the access service. */
export function authorizeHook(access: AccessService) {
  return async function authorizeRequest(request: FastifyRequest): Promise<void> {
    const config = request.routeOptions.config;
    if (config.public || request.is404) return;
    const principal = request.principal;
    if (!principal) throw unauthenticated('authentication required');
    if (config.self) return;
    if (!config.operation) {
      // Cannot happen for routes registered through buildApiApp (routeAccessGuard); refuse anyway.
      throw forbidden(`${request.method} ${request.routeOptions.url ?? ''} declares no ACL operation: refused (default deny)`, 'undeclared');
    }
    await access.authorize(config.operation, principal, config.targets ? await config.targets(request) : FLEET_TARGET);
    for (const extra of config.alsoRequires?.(request) ?? []) await access.authorize(extra.operation, principal, extra.targets);
  };
}

/** How a route is protected: what `routeAccessGuard` records for each registered route. */
export interface RouteAccess {
  method: string;
  url: string;
  access: 'public' | 'self' | Operation;
}

/** An onRoute hook: refuses to register a route that declares no access, and records the others. */
export function routeAccessGuard(record: RouteAccess[]) {
  return function guard(route: RouteOptions): void {
    const config = (route.config ?? {}) as { public?: boolean; self?: boolean; operation?: Operation };
    const access = config.public ? 'public' : config.self ? 'self' : config.operation;
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      if (!access) {
        throw new Error(`route ${method} ${route.url} declares no ACL operation: give its config an \`operation\` (or \`public: true\`)`);
      }
      record.push({ method, url: route.url, access });
    }
  };
}

/** Redacts `token=` in URLs before they reach the log. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&]*/gi, '$1[redacted]');
}
