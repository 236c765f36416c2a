/**
 * TaskQueue — the durable queue with fencing. Every method is atomic: the state change and
 * its event land together or not at all. The coordinator's plan applier is the single writer
 * of assignments; agents' results come through the coordinator.
 *
 * Fencing: `assign` increments `attempt`; every later call for the task names the attempt it
 * acts for and is refused with StaleAttemptError when it is not current or the task is
 * already terminal. JetStream mapping: a work-queue stream + a KV bucket of task records
 * updated with compare-and-set on revision.
 */
import type { NewTaskSpec, Task, TaskResult, TaskState } from '../core/index.js';

export interface SubmitOutcome {
  task: Task;
  /** false when an idempotency key matched an existing task with the same payload. */
  created: boolean;
}

export interface TaskFilter {
  states?: TaskState[];
  nodeId?: string;
  project?: string;
  /** Newest first when set to 'desc' (default 'asc' by submission order). */
  order?: 'asc' | 'desc';
  limit?: number;
}

export interface TaskCounts {
  pending: number;
  assigned: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

export interface TaskQueue {
  /**
   * Persists a task in state 'pending' before returning (the acknowledgement).
   * Same idempotency key + same spec → the existing task, created=false;
   * same key + different spec → BitacoraError IdempotencyMismatch. Appends 'task.submitted'.
   */
  submit(spec: NewTaskSpec, now: number): SubmitOutcome;
  /** Several submissions in one transaction (one fsync); all or nothing. */
  submitMany(specs: NewTaskSpec[], now: number): SubmitOutcome[];
  get(id: string): Task | null;
  list(filter?: TaskFilter): Task[];
  counts(): TaskCounts;
  /** Pending tasks in FIFO order (by seq), at most `limit`. */
  pending(limit: number): Task[];
  /** Tasks in 'assigned' or 'running' on `nodeId`. */
  activeOn(nodeId: string): Task[];
  /**
   * pending → assigned to `nodeId` with attempt = expectedAttempt + 1.
   * Throws ConflictError if the task is no longer pending at `expectedAttempt` (someone
   * else acted first), NotFoundError if unknown. Appends 'task.assigned'.
   */
  assign(id: string, nodeId: string, expectedAttempt: number, now: number): Task;
  /** assigned → running for `attempt`. Idempotent when already running. Fenced. */
  markRunning(id: string, attempt: number, now: number): Task;
  /**
   * Records the result of `attempt`. exitCode 0 and no error → succeeded. Otherwise failed,
   * unless userFailures < retryOnFailure, in which case the task goes back to pending.
   * Fenced: a second result for the same attempt is refused too (recorded once).
   * Appends 'task.finished' (or 'task.requeued').
   */
  complete(id: string, attempt: number, result: TaskResult, now: number): Task;
  /**
   * Infrastructure failure of `attempt` (node lost, agent refused the work): back to pending
   * while infraFailures < maxRetries, else failed with `reason`. Fenced. Appends 'task.requeued'
   * or 'task.finished'.
   */
  requeue(id: string, attempt: number, reason: string, now: number): Task;
  /**
   * Cancels a non-terminal task (any attempt). Terminal tasks are returned unchanged.
   * Appends 'task.cancelled'.
   */
  cancel(id: string, reason: string, now: number): Task;
  /** Records a refused (fenced) message for audit; appends 'task.fenced'. */
  recordFenced(id: string, attempt: number, what: string, now: number): void;
}
