/**
 * Logbook sessions: list, the current one, inspect (with the derived worked time), start, and
 * pause/resume/end. Every answer is a session plus `durationMs` (wall time minus paused time at
 * the moment of the answer).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  BitacoraError, ErrorCode, newSessionSchema, NotFoundError, parseOrThrow, SESSION_STATUSES, sessionDurationMs, type Session,
} from '../../core/index.js';
import type { Target } from '../../security/index.js';
import { auditedWrite, defined, limitQuerySchema, projectFilterSchema, READ_LOGBOOK, type LogbookDeps, type LogbookStore } from './logbook-shared.js';
import { bodyOrEmpty, bodyString, idParamSchema, paramId, principalName, projectTargets, SMALL_BODY_LIMIT } from './shared.js';

/** `user` defaults to the requester. */
const startBodySchema = newSessionSchema.partial({ user: true });

const listQuerySchema = z.strictObject({
  status: z.enum(SESSION_STATUSES, { message: `status must be one of: ${SESSION_STATUSES.join(', ')}` }).optional(),
  project: projectFilterSchema,
  limit: limitQuerySchema,
});

export type SessionView = Session & { durationMs: number };

export function sessionView(session: Session, now: number): SessionView {
  return { ...session, durationMs: sessionDurationMs(session, now) };
}

/** `current` names the most recent active or paused session. */
async function targetSession(logbook: LogbookStore, id: string): Promise<Session> {
  if (id === 'current') {
    const current = await logbook.sessions.current();
    if (!current) {
      throw new BitacoraError(ErrorCode.NotFound, 'no session is active or paused: start one with POST /v1/sessions', {
        details: { entity: 'session', id: 'current' },
      });
    }
    return current;
  }
  const session = await logbook.sessions.get(id);
  if (!session) throw new NotFoundError('session', id);
  return session;
}

export function logbookSessionRoutes(app: FastifyInstance, deps: LogbookDeps): void {
  const { logbook } = deps;
  const newSessionTargets = (request: FastifyRequest): Target[] => projectTargets([bodyString(request.body, 'project')]);
  const sessionTargets = async (request: FastifyRequest): Promise<Target[]> => {
    const id = paramId(request, 'session id');
    // An unknown session is the handler's 404; deciding on the fleet meanwhile.
    return projectTargets([(await (id === 'current' ? logbook.sessions.current() : logbook.sessions.get(id)))?.project]);
  };

  app.get('/sessions', READ_LOGBOOK, async (request) => {
    const query = parseOrThrow(listQuerySchema, request.query, 'session filter');
    const now = Date.now();
    return (await logbook.sessions.list(defined(query))).map((s) => sessionView(s, now));
  });

  app.get('/sessions/:id', READ_LOGBOOK, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'session id');
    return sessionView(await targetSession(logbook, id), Date.now());
  });

  app.post('/sessions', { config: { operation: 'WriteLogbook', targets: newSessionTargets } }, async (request, reply) => {
    const body = parseOrThrow(startBodySchema, bodyOrEmpty(request.body), 'session');
    const open = await logbook.sessions.current();
    if (open) {
      throw new BitacoraError(ErrorCode.Conflict, `session ${open.id} is still ${open.status}; end it first with POST /v1/sessions/${open.id}/end`, {
        details: { sessionId: open.id, status: open.status },
      });
    }
    if (body.project !== null && !(await logbook.projects.get(body.project))) {
      throw new NotFoundError('project', body.project, { details: { hint: 'create it first with POST /v1/projects' } });
    }
    const now = Date.now();
    const started = await auditedWrite(deps, request, 'session.start', body.project, () =>
      logbook.sessions.start({ ...body, user: body.user ?? principalName(request) }, now),
    );
    return reply.code(201).send(sessionView(started, now));
  });

  for (const name of ['pause', 'resume', 'end'] as const) {
    app.post(`/sessions/:id/${name}`, { bodyLimit: SMALL_BODY_LIMIT, config: { operation: 'WriteLogbook', targets: sessionTargets } }, async (request) => {
      const { id } = parseOrThrow(idParamSchema, request.params, 'session id');
      const target = await targetSession(logbook, id);
      const now = Date.now();
      return sessionView(await auditedWrite(deps, request, `session.${name}`, target.id, () => logbook.sessions[name](target.id, now)), now);
    });
  }
}
