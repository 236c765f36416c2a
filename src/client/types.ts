/**
 * Wire shapes of the REST/WebSocket API as the client sees them. The fleet-level shapes
 * (status, join info, created token, agent configuration) come from core, shared with the server.
 */
import type { FleetEvent, Task, TaskLogChunk, TaskState } from '../core/index.js';

export type {
  AgentConfig, CreatedJoinToken, EmergencyTier, FleetEvent, FleetNode, FleetStatus, JoinInfo, NewTaskSpec, Task, TaskLogChunk, TaskState,
} from '../core/index.js';
export { EMERGENCY_TIERS } from '../core/index.js';

/** A task as the API shows it: with `waitingReason`, why it is still pending (null: not pending, or not planned yet). */
export type TaskView = Task & { waitingReason?: string | null };

export interface SubmitOutcome {
  task: TaskView;
  /** false when an idempotency key matched an existing task with the same payload. */
  created: boolean;
  /** Set when the task needs a capability no node of the fleet advertises: accepted, it waits until one joins. */
  warning?: string;
}

export interface TaskListQuery {
  states?: TaskState[];
  /** Node id or name. */
  node?: string;
  project?: string;
  /** Default 1000, at most 10000. */
  limit?: number;
  /** 'desc' = newest first. Default 'asc'. */
  order?: 'asc' | 'desc';
}

export interface TokenRequest {
  role?: 'worker' | 'hybrid';
  /** A duration like `1h`, or milliseconds. */
  ttl?: string | number;
}

/** Frames of `GET /v1/events`. */
export type ServerFrame =
  | { kind: 'hello'; after: number; latestSeq: number | null; task: string | null; types: string[] | null; streams: string[] }
  | { kind: 'event'; event: FleetEvent }
  | { kind: 'log'; chunk: TaskLogChunk }
  | { kind: 'pong'; id?: string | number }
  | { kind: 'filter'; task: string | null; types: string[] | null; streams: string[] }
  | { kind: 'error'; error: { code: string; message: string; details: Record<string, unknown> } };
