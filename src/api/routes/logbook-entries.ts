/**
 * Logbook entries: actions (atomic steps, hand-logged here) and sparks (notes, ideas, executed
 * commands). Lists are oldest first; `limit` keeps the most recent N. Writing needs WriteLogbook on
 * every project the entry names or reaches through its session or topic (the fleet when none).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { newActionSchema, newSparkSchema, NotFoundError, parseOrThrow, SPARK_TYPES } from '../../core/index.js';
import type { Target } from '../../security/index.js';
import { auditedWrite, defined, idFilterSchema, limitQuerySchema, projectFilterSchema, READ_LOGBOOK, type LogbookDeps, type LogbookStore } from './logbook-shared.js';
import { bodyOrEmpty, bodyString, idParamSchema, projectTargets } from './shared.js';

/**
 * The API logs actions by hand (phase 'logged'); executed, two-phase actions are written by the
 * engine, which owns their phases and decision log.
 */
const logActionSchema = newActionSchema.omit({ phase: true }).strict();

const actionListQuerySchema = z.strictObject({
  session: idFilterSchema,
  topic: idFilterSchema,
  project: projectFilterSchema,
  limit: limitQuerySchema,
});

const sparkListQuerySchema = z.strictObject({
  session: idFilterSchema,
  project: projectFilterSchema,
  type: z.enum(SPARK_TYPES, { message: `type must be one of: ${SPARK_TYPES.join(', ')}` }).optional(),
  limit: limitQuerySchema,
});

/** The projects an entry reaches: its own, its topic's, its session's (unknown references are the handler's 404). */
function entryTargets(logbook: LogbookStore) {
  return async (request: FastifyRequest): Promise<Target[]> => {
    const topicId = bodyString(request.body, 'topicId');
    const sessionId = bodyString(request.body, 'sessionId');
    return projectTargets([
      bodyString(request.body, 'project'),
      topicId !== null ? (await logbook.topics.get(topicId))?.project : null,
      sessionId !== null ? (await logbook.sessions.get(sessionId))?.project : null,
    ]);
  };
}

export function logbookEntryRoutes(app: FastifyInstance, deps: LogbookDeps): void {
  const { logbook } = deps;
  const write = { config: { operation: 'WriteLogbook', targets: entryTargets(logbook) } } as const;

  // ── actions ──
  app.get('/actions', READ_LOGBOOK, async (request) => {
    const { session, topic, ...rest } = parseOrThrow(actionListQuerySchema, request.query, 'action filter');
    return logbook.actions.list(defined({ ...rest, sessionId: session, topicId: topic }));
  });

  app.get('/actions/:id', READ_LOGBOOK, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'action id');
    const action = await logbook.actions.get(id);
    if (!action) throw new NotFoundError('action', id);
    return action;
  });

  app.post('/actions', write, async (request, reply) => {
    const body = parseOrThrow(logActionSchema, bodyOrEmpty(request.body), 'action');
    const action = await auditedWrite(deps, request, 'action.log', body.project, () => logbook.actions.create({ ...body, phase: 'logged' }, Date.now()));
    return reply.code(201).send(action);
  });

  // ── sparks ──
  app.get('/sparks', READ_LOGBOOK, async (request) => {
    const { session, ...rest } = parseOrThrow(sparkListQuerySchema, request.query, 'spark filter');
    return logbook.sparks.list(defined({ ...rest, sessionId: session }));
  });

  app.get('/sparks/:id', READ_LOGBOOK, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'spark id');
    const spark = await logbook.sparks.get(id);
    if (!spark) throw new NotFoundError('spark', id);
    return spark;
  });

  app.post('/sparks', write, async (request, reply) => {
    const body = parseOrThrow(newSparkSchema, bodyOrEmpty(request.body), 'spark');
    const spark = await auditedWrite(deps, request, 'spark.add', body.project, () => logbook.sparks.add(body, Date.now()));
    return reply.code(201).send(spark);
  });
}
