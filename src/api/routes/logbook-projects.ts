/**
 * Logbook projects and their topics. Projects are named by their slug; topics are serial lines
 * of work inside a project — at most one in progress per project (409 ActiveTopicExists). Writes
 * need WriteLogbook on the project concerned.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  newProjectSchema, newTopicSchema, NotFoundError, parseOrThrow, PROJECT_STATUSES, projectSchema, TOPIC_STATUSES,
} from '../../core/index.js';
import type { Target } from '../../security/index.js';
import { auditedWrite, defined, nameParamSchema, projectFilterSchema, READ_LOGBOOK, type LogbookDeps } from './logbook-shared.js';
import { bodyOrEmpty, bodyString, idParamSchema, paramId, projectTargets, SMALL_BODY_LIMIT } from './shared.js';

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

export function logbookProjectRoutes(app: FastifyInstance, deps: LogbookDeps): void {
  const { logbook } = deps;
  const named = (request: FastifyRequest): Target[] => projectTargets([parseOrThrow(nameParamSchema, request.params, 'project name').name]);
  const inBody = (request: FastifyRequest): Target[] => projectTargets([bodyString(request.body, 'name')]);
  const ofBodyProject = (request: FastifyRequest): Target[] => projectTargets([bodyString(request.body, 'project')]);
  const ofTopic = async (request: FastifyRequest): Promise<Target[]> => {
    // An unknown topic is the handler's 404 (after validation); deciding on the fleet meanwhile.
    return projectTargets([(await logbook.topics.get(paramId(request, 'topic id')))?.project]);
  };

  // ── projects ──
  app.get('/projects', READ_LOGBOOK, async (request) => {
    const query = parseOrThrow(projectListQuerySchema, request.query, 'project filter');
    return logbook.projects.list(defined(query));
  });

  app.get('/projects/:name', READ_LOGBOOK, async (request) => {
    const { name } = parseOrThrow(nameParamSchema, request.params, 'project name');
    const project = await logbook.projects.get(name);
    if (!project) throw new NotFoundError('project', name);
    return project;
  });

  app.post('/projects', { config: { operation: 'WriteLogbook', targets: inBody } }, async (request, reply) => {
    const body = parseOrThrow(newProjectSchema, bodyOrEmpty(request.body), 'project');
    return reply.code(201).send(await auditedWrite(deps, request, 'project.create', body.name, () => logbook.projects.create(body, Date.now())));
  });

  app.patch('/projects/:name', { config: { operation: 'WriteLogbook', targets: named } }, async (request) => {
    const { name } = parseOrThrow(nameParamSchema, request.params, 'project name');
    const patch = parseOrThrow(projectPatchSchema, bodyOrEmpty(request.body), 'project update');
    return auditedWrite(deps, request, 'project.update', name, () => logbook.projects.update(name, defined(patch), Date.now()));
  });

  // ── topics ──
  app.get('/topics', READ_LOGBOOK, async (request) => {
    const query = parseOrThrow(topicListQuerySchema, request.query, 'topic filter');
    return logbook.topics.list(defined(query));
  });

  app.get('/topics/:id', READ_LOGBOOK, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'topic id');
    const topic = await logbook.topics.get(id);
    if (!topic) throw new NotFoundError('topic', id);
    return topic;
  });

  app.post('/topics', { config: { operation: 'WriteLogbook', targets: ofBodyProject } }, async (request, reply) => {
    const body = parseOrThrow(newTopicSchema, bodyOrEmpty(request.body), 'topic');
    return reply.code(201).send(await auditedWrite(deps, request, 'topic.create', body.project, () => logbook.topics.create(body, Date.now())));
  });

  app.post('/topics/:id/activate', { bodyLimit: SMALL_BODY_LIMIT, config: { operation: 'WriteLogbook', targets: ofTopic } }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'topic id');
    return auditedWrite(deps, request, 'topic.activate', id, () => logbook.topics.activate(id, Date.now()));
  });

  app.post('/topics/:id/status', { bodyLimit: SMALL_BODY_LIMIT, config: { operation: 'WriteLogbook', targets: ofTopic } }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'topic id');
    const { status } = parseOrThrow(topicStatusBodySchema, bodyOrEmpty(request.body), 'topic status change');
    return auditedWrite(deps, request, 'topic.status', id, () => logbook.topics.setStatus(id, status, Date.now()));
  });
}
