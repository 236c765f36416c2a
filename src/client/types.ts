/**
 * Wire shapes of the REST/WebSocket API as the client sees them. The client may import only
 * core, so the few shapes that the coordinator defines (status, join info, created token) are
 * restated here; test/api checks they stay assignable from the server's types.
 */
import type { FleetEvent, FleetNode, NewTaskSpec, Task, TaskLogChunk, TaskState } from '../core/index.js';

export type { FleetEvent, FleetNode, NewTaskSpec, Task, TaskLogChunk, TaskState };

export interface AgentConfig {
  heartbeatIntervalMs: number;
  selfFenceAfterMs: number;
}

export type EmergencyTier = 'stop-dispatch' | 'cancel-all' | 'shutdown-nodes';
export const EMERGENCY_TIERS: readonly EmergencyTier[] = ['stop-dispatch', 'cancel-all', 'shutdown-nodes'];

export interface FleetStatus {
  nodes: { total: number; ready: number; down: number; draining: number };
  tasks: Record<TaskState, number>;
  acceptingWork: boolean;
  config: AgentConfig;
}

export interface JoinInfo {
  caCertPem: string;
  caHash: string;
  grpcAddress: string;
  protocolVersion: number;
}

export interface CreatedJoinToken {
  id: string;
  token: string;
  role: 'worker' | 'hybrid';
  expiresAt: number;
  caHash: string;
  join: string;
}

export interface SubmitOutcome {
  task: Task;
  /** false when an idempotency key matched an existing task with the same payload. */
  created: boolean;
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
