/**
 * Task routes: submit one or a batch (SubmitTask on each spec's project, the fleet for specs
 * without one), list with filters and inspect (ReadState), cancel (CancelTask on the task's
 * project), read captured output (ReadLogs). Tasks carry `waitingReason` (why a pending task
 * waits); a submission needing a capability no node advertises is accepted with a `warning`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BitacoraError, ErrorCode, parseOrThrow, TASK_STATES, taskSpecSchema, type NewTaskSpec, type Task } from '../../core/index.js';
import type { FleetService } from '../../coordinator/fleet-service.js';
import type { Target } from '../../security/index.js';
import { bodyOrEmpty, bodyString, fleetFor, idParamSchema, lookup, paramId, projectTargets, SMALL_BODY_LIMIT, type RouteDeps } from './shared.js';

/** One spec holds up to 256 arguments of 16 KiB; a batch is bounded by count and bytes. */
const TASK_BODY_LIMIT = 1024 * 1024;
const BATCH_BODY_LIMIT = 8 * 1024 * 1024;
export const MAX_BATCH = 1000;
export const MAX_LIST_LIMIT = 10_000;
const DEFAULT_LIST_LIMIT = 1000;

/** `?state=a,b` and `?state=a&state=b` both mean "either state". */
const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess((value) => {
    if (value === undefined) return undefined;
    const parts = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','));
    return parts.map((p) => p.trim()).filter((p) => p !== '');
  }, z.array(item).min(1).optional());

const listQuerySchema = z.strictObject({
  state: listOf(z.enum(TASK_STATES, { message: `state must be one of: ${TASK_STATES.join(', ')}` })),
  node: idParamSchema.shape.id.optional(),
  project: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(DEFAULT_LIST_LIMIT),
  order: z.enum(['asc', 'desc']).default('asc'),
});

const logsQuerySchema = z.strictObject({
  attempt: z.coerce.number().int().min(1).optional(),
  after: z.coerce.number().int().min(-1).optional(),
});

const cancelBodySchema = z.strictObject({
  reason: z.string().min(1).max(500).optional(),
});

const batchSchema = z
  .array(taskSpecSchema)
  .min(1, 'a batch holds at least one task')
  .max(MAX_BATCH, `a batch holds at most ${MAX_BATCH} tasks`);

/**
 * `?node=` accepts a name or an id. Names are resolved through the fleet; an unknown value that
 * looks like a node id is still used as is, so tasks of a removed node stay listable.
 */
function resolveNodeFilter(fleet: FleetService, node: string): string {
  try {
    return fleet.getNode(node).id;
  } catch (err) {
    if (err instanceof BitacoraError && err.code === ErrorCode.NotFound && node.startsWith('nod_')) return node;
    throw err;
  }
}

const specTargets = (request: FastifyRequest): Target[] => projectTargets([bodyString(request.body, 'project')]);
const batchTargets = (request: FastifyRequest): Target[] => {
  const specs = Array.isArray(request.body) ? (request.body as unknown[]) : [];
  // A spec without a project needs SubmitTask on the fleet, even when others name projects.
  const projects = specs.map((spec) => bodyString(spec, 'project'));
  const targets = projectTargets(projects);
  return projects.includes(null) && targets[0]?.kind === 'project' ? [...targets, { kind: 'fleet' }] : targets;
};

/** A task as shown: with why it still waits, when it does (the scheduler's latest reason). */
function withReason(fleet: FleetService, task: Task): Task & { waitingReason: string | null } {
  return { ...task, waitingReason: fleet.waitingReason?.(task) ?? null };
}

/** Accepted all the same (a node with it may join later), but said at once. */
function submitted(fleet: FleetService, spec: NewTaskSpec, outcome: { task: Task; created: boolean }) {
  const missing = fleet.unadvertisedNeeds?.(spec.needs ?? []) ?? [];
  const warning = missing.length > 0 ? `no node of the fleet has ${missing.join(', ')}: the task waits until a node that has ${missing.length === 1 ? 'it' : 'them'} joins` : undefined;
  return { ...outcome, task: withReason(fleet, outcome.task), ...(warning ? { warning } : {}) };
}

export function taskRoutes(app: FastifyInstance, { fleet }: RouteDeps): void {
  const read = { config: { operation: 'ReadState' } } as const;
  const taskProject = async (request: FastifyRequest): Promise<Target[]> => projectTargets([(await lookup(() => fleet.getTask(paramId(request, 'task id'))))?.project]);

  app.post('/tasks', { bodyLimit: TASK_BODY_LIMIT, config: { operation: 'SubmitTask', targets: specTargets } }, async (request, reply) => {
    const spec = parseOrThrow(taskSpecSchema, bodyOrEmpty(request.body), 'task');
    const outcome = await fleetFor(fleet, request).submitTask(spec);
    return reply.code(outcome.created ? 201 : 200).send(submitted(fleet, spec, outcome));
  });

  app.post('/tasks/batch', { bodyLimit: BATCH_BODY_LIMIT, config: { operation: 'SubmitTask', targets: batchTargets } }, async (request, reply) => {
    const specs = parseOrThrow(batchSchema, request.body ?? [], 'task batch');
    const outcomes = await fleetFor(fleet, request).submitTasks(specs);
    return reply.code(outcomes.some((o) => o.created) ? 201 : 200).send(outcomes.map((o, i) => submitted(fleet, specs[i]!, o)));
  });

  app.get('/tasks', read, async (request) => {
    const query = parseOrThrow(listQuerySchema, request.query, 'task filter');
    const tasks = await fleet.listTasks({
      ...(query.state ? { states: query.state } : {}),
      ...(query.node ? { nodeId: resolveNodeFilter(fleet, query.node) } : {}),
      ...(query.project ? { project: query.project } : {}),
      limit: query.limit,
      order: query.order,
    });
    return tasks.map((task) => withReason(fleet, task));
  });

  app.get('/tasks/:id', read, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'task id');
    return withReason(fleet, await fleet.getTask(id));
  });

  app.post('/tasks/:id/cancel', { bodyLimit: SMALL_BODY_LIMIT, config: { operation: 'CancelTask', targets: taskProject } }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'task id');
    const { reason } = parseOrThrow(cancelBodySchema, bodyOrEmpty(request.body), 'cancel request');
    return fleetFor(fleet, request).cancelTask(id, reason ?? 'cancelled through the API');
  });

  app.get('/tasks/:id/logs', { config: { operation: 'ReadLogs' } }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'task id');
    const query = parseOrThrow(logsQuerySchema, request.query, 'log query');
    return fleet.taskLogs(id, {
      ...(query.attempt !== undefined ? { attempt: query.attempt } : {}),
      ...(query.after !== undefined ? { afterSeq: query.after } : {}),
    });
  });
}
