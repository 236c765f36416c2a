/**
 * Task: the fleet's unit of execution (a spark, a command step, an action phase).
 * Each assignment increments `attempt`, the fencing token: a result, log line or claim
 * naming an older attempt is refused.
 */
import { z } from 'zod';
import { capabilitySchema, slugSchema } from '../names.js';
import type { TransitionTable } from './transitions.js';

export const TASK_STATES = ['pending', 'assigned', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const TERMINAL_TASK_STATES: readonly TaskState[] = ['succeeded', 'failed', 'cancelled'];
export const ACTIVE_TASK_STATES: readonly TaskState[] = ['assigned', 'running'];

export const TASK_TRANSITIONS: TransitionTable<TaskState> = {
  pending: ['assigned', 'cancelled', 'failed'],
  // assigned/running → pending: infrastructure failure (node down) or a retry after failure.
  assigned: ['running', 'pending', 'succeeded', 'failed', 'cancelled'],
  running: ['pending', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_TASK_STATES.includes(state);
}

export const TASK_KINDS = ['spark', 'command', 'action'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export const MAX_COMMAND_ARGS = 256;
export const MAX_ENV_ENTRIES = 128;

export const envSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment names are identifiers'), z.string().max(8192))
  .refine((env) => Object.keys(env).length <= MAX_ENV_ENTRIES, `at most ${MAX_ENV_ENTRIES} environment variables`);

export const taskSpecSchema = z
  .object({
    kind: z.enum(TASK_KINDS).default('spark'),
    project: slugSchema.nullable().default(null),
    /** argv; a shell line is `['sh', '-c', line]`. */
    command: z.array(z.string().max(16_384)).min(1, 'a command is required').max(MAX_COMMAND_ARGS),
    env: envSchema.default({}),
    /** Required capabilities: hard constraints. */
    needs: z.array(capabilitySchema).max(32).default([]),
    /** Preferred specialization (affinity), e.g. 'build' or 'test'. */
    prefers: z.array(capabilitySchema).max(32).default([]),
    /** Run only on this node (id). */
    pinnedNode: z.string().nullable().default(null),
    /** Automatic retries after infrastructure failure (node lost). */
    maxRetries: z.number().int().min(0).max(100).default(3),
    /** Retries after a non-zero exit; user failures are not retried by default. */
    retryOnFailure: z.number().int().min(0).max(100).default(0),
    timeoutMs: z.number().int().positive().max(7 * 86_400_000).nullable().default(null),
    idempotencyKey: z.string().min(1).max(200).nullable().default(null),
    /** Grouping key for learned duration estimates, e.g. 'build' or the command's first word. */
    estimateKey: z.string().max(200).nullable().default(null),
    labels: z.record(z.string().max(64), z.string().max(256)).default({}),
  })
  .strict();
export type TaskSpec = z.infer<typeof taskSpecSchema>;
export type NewTaskSpec = z.input<typeof taskSpecSchema>;

export const taskSchema = taskSpecSchema.extend({
  id: z.string(),
  state: z.enum(TASK_STATES),
  /** 0 until first assigned; the current fencing token afterwards. */
  attempt: z.number().int().nonnegative(),
  /** Infrastructure failures so far (counts against maxRetries). */
  infraFailures: z.number().int().nonnegative(),
  /** Non-zero exits so far (counts against retryOnFailure). */
  userFailures: z.number().int().nonnegative(),
  nodeId: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  error: z.string().nullable(),
  createdAt: z.number().int(),
  assignedAt: z.number().int().nullable(),
  startedAt: z.number().int().nullable(),
  finishedAt: z.number().int().nullable(),
  /** Monotonic submission order; the queue's FIFO key. */
  seq: z.number().int().nonnegative(),
});
export type Task = z.infer<typeof taskSchema>;

/** What an agent reports when a task's process ends. */
export const taskResultSchema = z.object({
  exitCode: z.number().int().nullable(),
  /** null on normal exit; 'timeout', 'cancelled', 'spawn-failed: …', 'signal SIGKILL'. */
  error: z.string().nullable(),
  durationMs: z.number().int().nonnegative(),
});
export type TaskResult = z.infer<typeof taskResultSchema>;

export const LOG_STREAMS = ['stdout', 'stderr', 'system'] as const;
export type LogStream = (typeof LOG_STREAMS)[number];

export interface TaskLogChunk {
  taskId: string;
  attempt: number;
  /** Per (task, attempt), from 0, gap-free; lets the receiver drop duplicates. */
  seq: number;
  stream: LogStream;
  data: string;
  at: number;
}
