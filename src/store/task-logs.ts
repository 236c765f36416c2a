/**
 * TaskLogStore — captured output of task attempts, appended in batches by the coordinator
 * after fencing, read by `bitacora logs` and the live feed. Duplicates (same task, attempt,
 * seq) are ignored so that re-sent chunks after a reconnect are stored once.
 */
import type { TaskLogChunk } from '../core/index.js';

export interface TaskLogStore {
  /** Stores chunks; returns how many were new. */
  append(chunks: TaskLogChunk[]): Promise<number>;
  /** Chunks of a task ordered by (attempt, seq); only `attempt` when given. */
  read(taskId: string, options?: { attempt?: number; afterSeq?: number; limit?: number }): Promise<TaskLogChunk[]>;
}
