/**
 * The master's HTTP edge: REST + WebSocket over a FleetService and an AccessService, on
 * fastify. A thin layer — it authenticates (bearer token or dashboard cookie), authorizes every
 * route against the ACL (auth.ts), validates, calls the service and maps its errors (errors.ts);
 * all fleet logic lives behind FleetService. Routes live under `/v1` (and the alias `/api/v1`).
 */
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyWebsocket from '@fastify/websocket';
import { BitacoraError, ErrorCode } from '../core/index.js';
import type { AccessService } from '../access/access-service.js';
import type { FleetService } from '../coordinator/fleet-service.js';
import { authHook, authorizeHook, redactUrl, routeAccessGuard, type RouteAccess } from './auth.js';
import { SessionStore, type SessionStoreOptions } from './sessions.js';
import { accessRoutes } from './routes/access.js';
import { loginRoutes } from './routes/login.js';
import { answerClientError, fromFastifyError, handleError, sendError } from './errors.js';
import { fleetRoutes, rootRoutes } from './routes/fleet.js';
import { logbookApprovalRoutes } from './routes/logbook-approvals.js';
import { logbookEntryRoutes } from './routes/logbook-entries.js';
import { logbookProjectRoutes } from './routes/logbook-projects.js';
import { logbookSessionRoutes } from './routes/logbook-sessions.js';
import type { AuditSink, LogbookStore } from './routes/logbook-shared.js';
import type { AuditRecord } from '../security/index.js';
import { nodeRoutes } from './routes/nodes.js';
import { taskRoutes } from './routes/tasks.js';
import { tokenRoutes } from './routes/tokens.js';
import { auditRoutes, type AuditCheckpointSource } from './routes/audit.js';
import { nodeRevokeRoutes } from './routes/node-revoke.js';
import { eventsRoute } from './ws/events.js';
import { dashboardRoutes, type DashboardOptions } from './dashboard.js';

export interface ApiServerOptions {
  fleet: FleetService;
  host: string;
  /** 0 picks a free port (tests); the returned `url` names the real one. */
  port: number;
  /** Users, tokens and the ACL: who each request is (bearer token or dashboard login) and what it may do. */
  access: AccessService;
  /** Request logging to stdout (pino). Default false. Tokens in URLs are redacted. */
  logger?: boolean;
  /** Highest event seq, so a WebSocket without `after` gets only new events. Default: replay from 0. */
  latestEventSeq?: () => number;
  /** Extra routes on the same server (e.g. the dashboard's static files), registered last. */
  extend?: (app: FastifyInstance) => void | Promise<void>;
  /** The logbook repositories (sessions, projects, topics, approvals, actions, sparks); their routes are served only when given. */
  logbook?: LogbookStore;
  /**
   * Where logbook writes (which go to the repositories directly, not through FleetService) are
   * recorded before they happen; it throws to refuse them (fail-closed). Default: `access.record`.
   */
  audit?: AuditSink;
  /** The audit trail's public side: the signed checkpoints and their public key (`GET /v1/audit/checkpoints`). Omitted: that route answers BIT_ERR_UNAVAILABLE. */
  auditCheckpoints?: AuditCheckpointSource;
  /** Dashboard sessions: idle (default 12 h) and absolute (default 7 d) expiry; `file` keeps them across restarts (default: memory only). */
  sessions?: Pick<SessionStoreOptions, 'idleMs' | 'absoluteMs' | 'maxSessions' | 'file'>;
  /** The dashboard's built files (`dist/web`), served at `/`. Default: no dashboard (`/` answers 404). */
  dashboard?: DashboardOptions;
}

/** Options of `startApiServer` only: how it listens. */
export interface ApiListenOptions extends ApiServerOptions {
  /**
   * Serve HTTPS with this certificate (chain first) and key, both PEM; the WebSocket then runs
   * over TLS too. Default: plain HTTP (for loopback development).
   */
  tls?: { certPem: string; keyPem: string };
}

export interface ApiServer {
  /** `http://host:port` (`https://…` with `tls`), without trailing slash. */
  url: string;
  /** Stops accepting, closes WebSockets and open connections. Idempotent. */
  close(): Promise<void>;
}

/** Default limit for any body; routes that accept task specs raise it explicitly. */
const DEFAULT_BODY_LIMIT = 256 * 1024;
/** Largest client WebSocket frame the ws library accepts before closing with 1009. */
const WS_MAX_PAYLOAD = 64 * 1024;

export const API_PREFIXES = ['/v1', '/api/v1'] as const;

declare module 'fastify' {
  interface FastifyInstance {
    /** Every registered route with the access it declares (public, self, or its ACL operation). */
    routeAccess: readonly RouteAccess[];
  }
}

export async function buildApiApp(options: ApiServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: DEFAULT_BODY_LIMIT,
    forceCloseConnections: true,
    // The router's own refusals (a malformed %-escape, a path parameter over 100 characters)
    // and the HTTP parser's (an unknown method, a broken request line) answer in our envelope too.
    frameworkErrors: (error, _request, reply) => {
      void sendError(reply, fromFastifyError(error));
    },
    clientErrorHandler: answerClientError,
    logger: options.logger
      ? { serializers: { req: (req) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }) } }
      : false,
  });
  const { access } = options;
  const sessions = await SessionStore.open({
    ...options.sessions,
    onWriteError: (err) => app.log.warn({ err }, 'could not save the dashboard sessions (they are kept in memory)'),
  });
  const deps = { fleet: options.fleet, access, sessions, ...(options.latestEventSeq ? { latestEventSeq: options.latestEventSeq } : {}) };
  const routeAccess: RouteAccess[] = [];
  app.decorate('routeAccess', routeAccess);
  // Default deny at registration: a route that declares no access cannot be added.
  app.addHook('onRoute', routeAccessGuard(routeAccess));
  app.addHook('onClose', async () => sessions.close());
  app.decorateRequest('principal', null);
  app.decorateRequest('authVia', null);
  app.decorateRequest('dashboardSession', null);

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new BitacoraError(ErrorCode.NotFound, `no route ${request.method} ${redactUrl(request.url)}: see the API routes in README.md`, {
      details: { entity: 'route', id: `${request.method} ${redactUrl(request.url)}` },
    })),
  );
  // Registered before the auth hook: its onRequest marks upgrade requests, and its onResponse
  // then destroys the socket of a refused upgrade (otherwise close() would wait on it forever).
  await app.register(fastifyWebsocket, {
    options: { maxPayload: WS_MAX_PAYLOAD },
    // Close frames first, then cut peers that do not answer, so close() never waits ws's 30 s.
    preClose(done) {
      for (const client of this.websocketServer.clients) {
        client.close(1001, 'server shutting down');
        setTimeout(() => client.terminate(), 500).unref();
      }
      this.websocketServer.close(() => done());
    },
  });
  // Parses cookies in its own onRequest hook, which must run before authentication.
  await app.register(fastifyCookie, { hook: 'onRequest' });
  app.addHook('onRequest', authHook(access, sessions));
  // After body parsing and route validation, so targets can be computed from the body.
  app.addHook('preHandler', authorizeHook(access));

  await app.register(async (root) => rootRoutes(root, deps));
  for (const prefix of API_PREFIXES) {
    await app.register(
      async (api) => {
        fleetRoutes(api, deps);
        nodeRoutes(api, deps);
        taskRoutes(api, deps);
        tokenRoutes(api, deps);
        nodeRevokeRoutes(api, deps);
        auditRoutes(api, { ...deps, ...(options.auditCheckpoints ? { checkpoints: options.auditCheckpoints } : {}) });
        accessRoutes(api, deps);
        loginRoutes(api, deps);
        eventsRoute(api, deps);
        if (options.logbook) {
          const logbookDeps = { logbook: options.logbook, audit: options.audit ?? ((record: AuditRecord) => options.access.record(record)) };
          logbookSessionRoutes(api, logbookDeps);
          logbookProjectRoutes(api, logbookDeps);
          logbookEntryRoutes(api, logbookDeps);
          logbookApprovalRoutes(api, logbookDeps);
        }
      },
      { prefix },
    );
  }
  if (options.dashboard) await dashboardRoutes(app, options.dashboard);
  if (options.extend) await options.extend(app);
  return app;
}

export async function startApiServer(options: ApiListenOptions): Promise<ApiServer> {
  const { tls, ...appOptions } = options;
  const app = await buildApiApp(appOptions);
  if (tls) return listenHttps(app, options.host, options.port, tls);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | null = null;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    close: () => (closing ??= app.close().then(() => undefined)),
  };
}

/**
 * HTTPS without changing the app's Fastify options: a TLS server of our own hands every request
 * to the app's router (hooks, routes, error handling as over HTTP) and every upgrade to the
 * WebSocket plugin, which listens on `app.server` (created by fastify, never bound here).
 * `request.protocol` is `https` (the socket is encrypted), so the session cookie is `Secure`.
 */
async function listenHttps(app: FastifyInstance, host: string, port: number, tls: { certPem: string; keyPem: string }): Promise<ApiServer> {
  await app.ready();
  const server = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => app.routing(req, res));
  server.on('upgrade', (req, socket, head) => app.server.emit('upgrade', req, socket, head));
  server.on('clientError', (err, socket) => {
    if (app.server.listenerCount('clientError') > 0) app.server.emit('clientError', err, socket);
    else socket.destroy();
  });
  // A failed TLS handshake (plain HTTP, an untrusting client) never reaches the app: just drop it.
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `https://${shownHost}:${bound}`,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await app.close(); // WebSockets get their close frames first (preClose)
        server.closeAllConnections();
        await stopped;
      })()),
  };
}
