/**
 * Logbook entries: actions (atomic steps, hand-logged here) and sparks (notes, ideas, executed
 * commands). Lists are oldest first; `limit` keeps the most recent N.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { newActionSchema, newSparkSchema, NotFoundError, parseOrThrow, SPARK_TYPES } from '../../core/index.js';
import { defined, idFilterSchema, limitQuerySchema, projectFilterSchema, type LogbookDeps } from './logbook-shared.js';
import { bodyOrEmpty, idParamSchema } from './shared.js';

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

export function logbookEntryRoutes(app: FastifyInstance, { logbook }: LogbookDeps): void {
  // ── actions ──
  app.get('/actions', async (request) => {
    const { session, topic, ...rest } = parseOrThrow(actionListQuerySchema, request.query, 'action filter');
    return logbook.actions.list(defined({ ...rest, sessionId: session, topicId: topic }));
  });

  app.get('/actions/:id', async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'action id');
    const action = logbook.actions.get(id);
    if (!action) throw new NotFoundError('action', id);
    return action;
  });

  app.post('/actions', async (request, reply) => {
    const body = parseOrThrow(logActionSchema, bodyOrEmpty(request.body), 'action');
    return reply.code(201).send(logbook.actions.create({ ...body, phase: 'logged' }, Date.now()));
  });

  // ── sparks ──
  app.get('/sparks', async (request) => {
    const { session, ...rest } = parseOrThrow(sparkListQuerySchema, request.query, 'spark filter');
    return logbook.sparks.list(defined({ ...rest, sessionId: session }));
  });

  app.get('/sparks/:id', async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'spark id');
    const spark = logbook.sparks.get(id);
    if (!spark) throw new NotFoundError('spark', id);
    return spark;
  });

  app.post('/sparks', async (request, reply) => {
    const body = parseOrThrow(newSparkSchema, bodyOrEmpty(request.body), 'spark');
    return reply.code(201).send(logbook.sparks.add(body, Date.now()));
  });
}
