/**
 * Logbook projects and their topics. Projects are named by their slug; topics are serial lines
 * of work inside a project — at most one in progress per project (409 ActiveTopicExists).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  newProjectSchema, newTopicSchema, NotFoundError, parseOrThrow, PROJECT_STATUSES, projectSchema, TOPIC_STATUSES,
} from '../../core/index.js';
import { defined, nameParamSchema, projectFilterSchema, type LogbookDeps } from './logbook-shared.js';
import { bodyOrEmpty, idParamSchema, SMALL_BODY_LIMIT } from './shared.js';

const projectStatusSchema = z.enum(PROJECT_STATUSES, { message: `status must be one of: ${PROJECT_STATUSES.join(', ')}` });
const topicStatusSchema = z.enum(TOPIC_STATUSES, { message: `status must be one of: ${TOPIC_STATUSES.join(', ')}` });

const projectListQuerySchema = z.strictObject({ status: projectStatusSchema.optional() });

const projectPatchSchema = projectSchema
  .pick({ description: true, repository: true, pinnedNodes: true })
  .extend({ status: projectStatusSchema })
  .partial()
  .strict();

const topicListQuerySchema = z.strictObject({ project: projectFilterSchema, status: topicStatusSchema.optional() });

const topicStatusBodySchema = z.strictObject({ status: topicStatusSchema });

export function logbookProjectRoutes(app: FastifyInstance, { logbook }: LogbookDeps): void {
  // ── projects ──
  app.get('/projects', async (request) => {
    const query = parseOrThrow(projectListQuerySchema, request.query, 'project filter');
    return logbook.projects.list(defined(query));
  });

  app.get('/projects/:name', async (request) => {
    const { name } = parseOrThrow(nameParamSchema, request.params, 'project name');
    const project = logbook.projects.get(name);
    if (!project) throw new NotFoundError('project', name);
    return project;
  });

  app.post('/projects', async (request, reply) => {
    const body = parseOrThrow(newProjectSchema, bodyOrEmpty(request.body), 'project');
    return reply.code(201).send(logbook.projects.create(body, Date.now()));
  });

  app.patch('/projects/:name', async (request) => {
    const { name } = parseOrThrow(nameParamSchema, request.params, 'project name');
    const patch = parseOrThrow(projectPatchSchema, bodyOrEmpty(request.body), 'project update');
    return logbook.projects.update(name, defined(patch), Date.now());
  });

  // ── topics ──
  app.get('/topics', async (request) => {
    const query = parseOrThrow(topicListQuerySchema, request.query, 'topic filter');
    return logbook.topics.list(defined(query));
  });

  app.get('/topics/:id', async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'topic id');
    const topic = logbook.topics.get(id);
    if (!topic) throw new NotFoundError('topic', id);
    return topic;
  });

  app.post('/topics', async (request, reply) => {
    const body = parseOrThrow(newTopicSchema, bodyOrEmpty(request.body), 'topic');
    return reply.code(201).send(logbook.topics.create(body, Date.now()));
  });

  app.post('/topics/:id/activate', { bodyLimit: SMALL_BODY_LIMIT }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'topic id');
    return logbook.topics.activate(id, Date.now());
  });

  app.post('/topics/:id/status', { bodyLimit: SMALL_BODY_LIMIT }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'topic id');
    const { status } = parseOrThrow(topicStatusBodySchema, bodyOrEmpty(request.body), 'topic status change');
    return logbook.topics.setStatus(id, status, Date.now());
  });
}
