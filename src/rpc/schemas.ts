/**
 * zod schemas of the domain messages (messages.ts) with the size limits of the boundary.
 * The codec maps wire frames to plain objects and validates them here, so whatever a peer
 * sends, the rest of the system only ever sees well-formed AgentMessage/CoordinatorMessage.
 */
import { z } from 'zod';
import { capabilitySchema, envSchema, LOG_STREAMS, MAX_COMMAND_ARGS, slugSchema, taskResultSchema, TASK_KINDS } from '../core/index.js';
import { MAX_BATCH_ITEMS } from './messages.js';

/** Most task refs one frame may carry (hello/heartbeat running lists, voidTasks). */
export const MAX_REFS_PER_FRAME = 10_000;

const id = z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
const attempt = z.number().int().min(1, 'attempts start at 1').max(2_147_483_647);
const finite = z.number().finite();
const shortText = (max: number) => z.string().max(max, `must be at most ${max} characters`);

export const resourcesSchema = z.object({
  cpus: z.number().int().min(0).max(65_536),
  memoryBytes: finite.min(0),
  load: finite.min(0),
});

export const taskRefSchema = z.object({ taskId: id, attempt });
const refs = z.array(taskRefSchema).max(MAX_REFS_PER_FRAME, `at most ${MAX_REFS_PER_FRAME} task refs`);

const nodeInfoSchema = z.object({
  name: slugSchema,
  role: z.enum(['worker', 'hybrid']),
  capabilities: z.array(capabilitySchema).max(64),
  specializations: z.array(capabilitySchema).max(64),
  capacity: z.number().int().min(0).max(1024),
  resources: resourcesSchema,
  agentVersion: shortText(64),
});

const logChunkSchema = z.object({
  taskId: id,
  attempt,
  seq: z.number().int().min(0),
  stream: z.enum(LOG_STREAMS),
  data: z.string(),
  at: finite,
});

/** A PEM block (CSR or certificate): bounded, so a join cannot carry a megabyte of "certificate". */
const pem = z.string().min(1).max(16 * 1024).regex(/^-----BEGIN [A-Z ]+-----/, 'must be a PEM block');

/** A list of a batched frame. (The sender keeps all lists of a `reports` together under the same bound.) */
const batch = <T extends z.ZodType>(item: T) => z.array(item).max(MAX_BATCH_ITEMS, `at most ${MAX_BATCH_ITEMS} items per frame`);

export const agentMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('hello'),
    protocolVersion: z.number().int().min(0),
    joinToken: z.string().min(1).max(512).optional(),
    credential: z.object({ nodeId: id, secret: z.string().min(1).max(512) }).optional(),
    csrPem: pem.optional(),
    node: nodeInfoSchema,
    running: refs,
  }),
  z.object({ type: z.literal('heartbeat'), at: finite, resources: resourcesSchema, running: refs }),
  z.object({
    type: z.literal('reports'),
    started: batch(z.object({ taskId: id, attempt, at: finite })),
    output: batch(logChunkSchema),
    finished: batch(z.object({ taskId: id, attempt, result: taskResultSchema.extend({ error: shortText(4096).nullable() }) })),
    rejected: batch(z.object({ taskId: id, attempt, reason: shortText(1000) })),
  }),
  z.object({ type: z.literal('renewCertificate'), csrPem: pem }),
  z.object({ type: z.literal('leaving'), reason: shortText(1000), stopped: refs }),
]);

const agentConfigPatchSchema = z.object({
  heartbeatIntervalMs: z.number().int().min(10).max(3_600_000).optional(),
  selfFenceAfterMs: z.number().int().min(10).max(86_400_000).optional(),
});

export const coordinatorMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('welcome'),
    protocolVersion: z.number().int().min(0),
    nodeId: id,
    credentialSecret: z.string().min(1).max(512).optional(),
    certificatePem: pem.optional(),
    config: z.object({
      heartbeatIntervalMs: z.number().int().min(10).max(3_600_000),
      selfFenceAfterMs: z.number().int().min(10).max(86_400_000),
    }),
    voidTasks: refs,
  }),
  z.object({
    type: z.literal('executeTasks'),
    tasks: batch(z.object({
      taskId: id,
      attempt,
      kind: z.enum(TASK_KINDS),
      project: slugSchema.nullable(),
      command: z.array(z.string().max(16_384)).min(1).max(MAX_COMMAND_ARGS),
      env: envSchema,
      timeoutMs: z.number().int().positive().nullable(),
      needs: z.array(capabilitySchema).max(32).default([]),
    })),
  }),
  z.object({ type: z.literal('cancelTask'), taskId: id, attempt, reason: shortText(1000) }),
  z.object({ type: z.literal('voidTasks'), tasks: refs }),
  z.object({ type: z.literal('heartbeatAck'), at: finite }),
  z.object({
    type: z.literal('resultAcks'),
    acks: batch(z.object({ taskId: id, attempt, accepted: z.boolean(), reason: shortText(1000).optional() })),
  }),
  z.object({ type: z.literal('updateConfiguration'), config: agentConfigPatchSchema }),
  z.object({ type: z.literal('setRole'), role: z.enum(['worker', 'hybrid']) }),
  z.object({
    type: z.literal('emergencyShutdown'),
    tier: z.enum(['stop-dispatch', 'cancel-all', 'shutdown-nodes']),
    reason: shortText(1000),
  }),
  z.object({ type: z.literal('error'), code: shortText(64), message: shortText(4096), fatal: z.boolean() }),
  z.object({ type: z.literal('certificate'), certificatePem: pem, notAfter: finite }),
  z.object({
    type: z.literal('auditCheckpoint'),
    checkpoint: z.object({
      version: z.literal(1),
      headIndex: z.number().int().min(0),
      headHash: z.string().regex(/^[0-9a-f]{64}$/),
      at: finite,
      previous: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
      keyId: shortText(64),
      signature: shortText(256),
    }),
  }),
]);
