/**
 * WebSocket live feed `GET /v1/events`: fleet events (resumable by sequence) and live task
 * output, with filters. Server frames are JSON:
 *   { kind: 'hello', after, latestSeq }     first frame; the subscription is live once it arrives
 *   { kind: 'event', event }                 a FleetEvent, in seq order
 *   { kind: 'log', chunk }                   a TaskLogChunk (already fenced and stored)
 *   { kind: 'pong', id } | { kind: 'filter', … } | { kind: 'error', error }
 * Query: `after=SEQ` (resume: events with seq > SEQ; default: only new ones), `task=ID` (only that
 * task's events and output), `types=task.,node.status` (event type prefixes), `streams=events,logs`.
 * A consumer that cannot keep up is closed with 1013 and a reason naming `after=<last seq>`,
 * rather than buffering without bound; it reconnects and resumes from there.
 * Access: ReadState at the upgrade, and ReadLogs when the subscription carries task output
 * (`streams` includes `logs`, the default); a filter frame that later adds `logs` is checked
 * again and refused with an error frame when not allowed. The credential is re-checked every
 * CREDENTIAL_CHECK_MS: a revoked token, a removed user or a logout closes the socket (1008).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { BitacoraError, ErrorCode, issuesOf, parseOrThrow, ValidationError, type FleetEvent, type TaskLogChunk } from '../../core/index.js';
import type { AccessService } from '../../access/access-service.js';
import { credentialsStillValid, FLEET_TARGET, type Requirement } from '../auth.js';
import type { SessionStore } from '../sessions.js';
import { errorBody, sendError, toHttpError } from '../errors.js';
import { idParamSchema, type RouteDeps } from '../routes/shared.js';

export interface EventsRouteDeps extends RouteDeps {
  access: AccessService;
  sessions: SessionStore;
  /** Highest event seq, so a client that gives no `after` gets only new events. Default: replay from 0. */
  latestEventSeq?: () => number;
}

/** Bytes queued on one socket before it counts as a slow consumer. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Client frames above this are refused with an error frame (ws itself closes at its maxPayload). */
export const MAX_CLIENT_FRAME_BYTES = 4096;
/** After this many bad frames the peer is closed with 1008 (policy violation). */
const MAX_BAD_FRAMES = 20;
const KEEPALIVE_MS = 30_000;
/** How often an open subscription re-checks its credential (token revoked, user removed, logged out). */
export const CREDENTIAL_CHECK_MS = 2_000;

const STREAMS = ['events', 'logs'] as const;
type Stream = (typeof STREAMS)[number];

const commaList = z
  .string()
  .max(1024)
  .transform((s) => s.split(',').map((p) => p.trim()).filter((p) => p !== ''));
const typePrefix = z.string().regex(/^[a-z.]+$/, 'event types are like "task." or "node.status"');

const querySchema = z.strictObject({
  after: z.coerce.number().int().min(0).optional(),
  task: idParamSchema.shape.id.optional(),
  types: commaList.pipe(z.array(typePrefix).max(32)).optional(),
  streams: commaList.pipe(z.array(z.enum(STREAMS, { message: 'streams are "events" and/or "logs"' })).min(1)).optional(),
  token: z.string().optional(),
});

const clientFrameSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('ping'), id: z.union([z.string().max(64), z.number()]).optional() }),
  z.strictObject({
    op: z.literal('filter'),
    task: idParamSchema.shape.id.nullable().optional(),
    types: z.array(typePrefix).max(32).nullable().optional(),
    streams: z.array(z.enum(STREAMS)).min(1).optional(),
  }),
]);

interface Filter {
  task: string | null;
  types: string[] | null;
  streams: Set<Stream>;
}

function eventMatches(filter: Filter, event: FleetEvent): boolean {
  if (!filter.streams.has('events')) return false;
  if (filter.task !== null && event.subject !== filter.task) return false;
  return filter.types === null || filter.types.some((t) => event.type.startsWith(t));
}

function logMatches(filter: Filter, chunk: TaskLogChunk): boolean {
  return filter.streams.has('logs') && (filter.task === null || chunk.taskId === filter.task);
}

function describeFilter(filter: Filter) {
  return { task: filter.task, types: filter.types, streams: [...filter.streams] };
}

export function eventsRoute(app: FastifyInstance, deps: EventsRouteDeps): void {
  app.route({
    method: 'GET',
    url: '/events',
    config: {
      queryToken: true,
      operation: 'ReadState',
      alsoRequires: (request: FastifyRequest): Requirement[] => {
        const parsed = querySchema.safeParse(request.query);
        const streams = parsed.success ? (parsed.data.streams ?? STREAMS) : STREAMS;
        return streams.includes('logs') ? [{ operation: 'ReadLogs', targets: FLEET_TARGET }] : [];
      },
    },
    // Validated before the upgrade, so a bad query is a plain HTTP 400 the client can read.
    preValidation: async (request: FastifyRequest, reply: FastifyReply) => {
      parseOrThrow(querySchema, request.query, 'event stream query');
      if (!request.ws) {
        return sendError(reply, new BitacoraError(ErrorCode.Validation, 'GET /v1/events is a WebSocket: connect with an Upgrade request (e.g. new WebSocket(url))'));
      }
      return undefined;
    },
    handler: async () => undefined,
    wsHandler: (socket: WebSocket, request: FastifyRequest) => serveEvents(socket, request, deps),
  });
}

function serveEvents(socket: WebSocket, request: FastifyRequest, { fleet, access, sessions, latestEventSeq }: EventsRouteDeps): void {
  const query = querySchema.parse(request.query);
  const filter: Filter = {
    task: query.task ?? null,
    types: query.types && query.types.length > 0 ? query.types : null,
    streams: new Set(query.streams ?? STREAMS),
  };
  const latest = latestEventSeq?.() ?? null;
  let lastSeq = query.after ?? latest ?? 0;
  let closed = false;
  let badFrames = 0;
  let alive = true;
  const cleanups: (() => void)[] = [];

  const shutdown = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    for (const cleanup of cleanups.splice(0)) cleanup();
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
  };

  const send = (frame: unknown): void => {
    if (closed || socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      request.log.warn({ lastSeq }, 'closing slow websocket consumer');
      shutdown(1013, `slow consumer: reconnect with after=${lastSeq}`);
      return;
    }
    socket.send(JSON.stringify(frame));
  };

  const sendError = (err: BitacoraError) => {
    send({ kind: 'error', ...errorBody(err) });
    if (++badFrames >= MAX_BAD_FRAMES) shutdown(1008, 'too many bad frames');
  };

  // Frames are handled one after another, in order (a filter change may wait for the ACL).
  let frames: Promise<unknown> = Promise.resolve();
  socket.on('message', (data, isBinary) => {
    frames = frames.then(() => handleFrame(data, isBinary)).catch((err: unknown) => sendError(toHttpError(err)));
  });
  const handleFrame = async (data: WebSocket.RawData, isBinary: boolean): Promise<unknown> => {
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
    if (isBinary) return sendError(new ValidationError('binary frames are not accepted: send JSON text', [{ path: '', message: 'binary frame' }]));
    if (size > MAX_CLIENT_FRAME_BYTES) {
      return sendError(new BitacoraError(ErrorCode.PayloadTooLarge, `frame of ${size} bytes is above the limit of ${MAX_CLIENT_FRAME_BYTES}`));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
    } catch {
      return sendError(new ValidationError('frame is not valid JSON: send {"op":"ping"} or {"op":"filter",…}', [{ path: '', message: 'invalid JSON' }]));
    }
    const result = clientFrameSchema.safeParse(parsed);
    if (!result.success) {
      const issues = issuesOf(result.error);
      return sendError(new ValidationError(`invalid frame: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, issues));
    }
    const frame = result.data;
    if (frame.op === 'ping') return send({ kind: 'pong', ...(frame.id !== undefined ? { id: frame.id } : {}) });
    if (frame.streams?.includes('logs') && !filter.streams.has('logs')) {
      try {
        await access.authorize('ReadLogs', request.principal!, FLEET_TARGET);
      } catch (err) {
        return sendError(toHttpError(err));
      }
    }
    if (frame.task !== undefined) filter.task = frame.task;
    if (frame.types !== undefined) filter.types = frame.types && frame.types.length > 0 ? frame.types : null;
    if (frame.streams) filter.streams = new Set(frame.streams);
    return send({ kind: 'filter', ...describeFilter(filter) });
  };

  socket.on('pong', () => {
    alive = true;
  });
  const keepalive = setInterval(() => {
    // A peer that did not answer the previous ping is gone (half-open TCP); free its subscription.
    if (!alive) return shutdown(1001, 'no pong');
    alive = false;
    socket.ping();
  }, KEEPALIVE_MS);
  keepalive.unref();
  cleanups.push(() => clearInterval(keepalive));
  const recheck = setInterval(() => void recheckCredentials(), CREDENTIAL_CHECK_MS);
  const recheckCredentials = async (): Promise<void> => {
    if (await credentialsStillValid(request, access, sessions)) return;
    send({ kind: 'error', ...errorBody(new BitacoraError(ErrorCode.Unauthenticated, 'the credential of this subscription was revoked, expired or logged out')) });
    shutdown(1008, 'credentials revoked');
  };
  recheck.unref();
  cleanups.push(() => clearInterval(recheck));
  socket.on('close', () => shutdown(1000, ''));


  // A subscription made while (or after) the socket closed is released at once.
  const track = (unsubscribe: () => void): void => {
    if (closed) unsubscribe();
    else cleanups.push(unsubscribe);
  };

  send({ kind: 'hello', after: lastSeq, latestSeq: latest, ...describeFilter(filter) });
  // Subscribed in the same tick as the hello frame: once the client sees it, nothing is missed.
  track(
    fleet.subscribe(lastSeq, (event) => {
      if (closed) return;
      if (eventMatches(filter, event)) send({ kind: 'event', event });
      lastSeq = Math.max(lastSeq, event.seq);
    }),
  );
  track(
    fleet.subscribeLogs((chunk) => {
      if (!closed && logMatches(filter, chunk)) send({ kind: 'log', chunk });
    }),
  );
}
