/**
 * TaskQueue — the durable queue with fencing. Every method returns a Promise that resolves
 * only once its change is durable (committed and fsynced at the configured durability); each
 * call is atomic: the state change and its event land together or not at all. Calls made
 * concurrently are applied in call order; an implementation may commit them together (group
 * commit) but one call's failure never undoes another's. The coordinator's plan applier is
 * the single writer of assignments; agents' results come through the coordinator.
 *
 * Fencing: `assign` increments `attempt`; every later call for the task names the attempt it
 * acts for and is refused with StaleAttemptError when it is not current or the task is
 * already terminal. The next state after a result or an infrastructure failure is decided by
 * the pure rules of `core` (`nextAfterResult`, `nextAfterRequeue`); adapters only store it.
 *
 * Batch verbs (`assignMany`, `recordReports`, `requeueMany`) take many items in one call and
 * answer one outcome per item, in order: an item refused (conflict, stale attempt, unknown
 * task) is reported in its outcome and the other items still apply.
 */
import type { BitacoraError, NewFleetEvent, NewTaskSpec, Task, TaskResult, TaskState } from '../core/index.js';

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

/** One assignment of a plan: compare-and-set on the attempt the plan saw. */
export interface AssignmentInput {
  taskId: string;
  nodeId: string;
  expectedAttempt: number;
}

/** An agent's report about one of its attempts. */
export type TaskReport =
  | { kind: 'started'; taskId: string; attempt: number }
  | { kind: 'finished'; taskId: string; attempt: number; result: TaskResult };

/** An infrastructure failure of one attempt (node lost, refused): see `requeue`. */
export interface RequeueInput {
  taskId: string;
  attempt: number;
  reason: string;
}

/** The answer for one item of a batch verb: the task after the change, or why it was refused. */
export type ItemOutcome = { ok: true; task: Task } | { ok: false; error: BitacoraError };

export interface TaskQueue {
  /**
   * Persists a task in state 'pending' before returning (the acknowledgement).
   * Same idempotency key + same spec → the existing task, created=false;
   * same key + different spec → BitacoraError IdempotencyMismatch. Appends 'task.submitted'.
   */
  submit(spec: NewTaskSpec, now: number): Promise<SubmitOutcome>;
  /**
   * Several submissions as one atomic change; all or nothing. `record`: an event (the
   * submission's audit entry) appended in the same change, before the tasks — and kept when
   * the submission itself is refused (it records the attempt), so a task never lands
   * without it and it costs no commit of its own.
   */
  submitMany(specs: NewTaskSpec[], now: number, options?: { record?: NewFleetEvent }): Promise<SubmitOutcome[]>;
  get(id: string): Promise<Task | null>;
  list(filter?: TaskFilter): Promise<Task[]>;
  counts(): Promise<TaskCounts>;
  /** Pending tasks in FIFO order (by seq), at most `limit`. */
  pending(limit: number): Promise<Task[]>;
  /** Tasks in 'assigned' or 'running' on `nodeId`. */
  activeOn(nodeId: string): Promise<Task[]>;
  /**
   * pending → assigned to `nodeId` with attempt = expectedAttempt + 1.
   * Throws ConflictError if the task is no longer pending at `expectedAttempt` (someone
   * else acted first), NotFoundError if unknown. Appends 'task.assigned'.
   */
  assign(id: string, nodeId: string, expectedAttempt: number, now: number): Promise<Task>;
  /** assigned → running for `attempt`. Idempotent when already running. Fenced. */
  markRunning(id: string, attempt: number, now: number): Promise<Task>;
  /**
   * Records the result of `attempt`. exitCode 0 and no error → succeeded. Otherwise failed,
   * unless userFailures < retryOnFailure, in which case the task goes back to pending.
   * Fenced: a second result for the same attempt is refused too (recorded once).
   * Appends 'task.finished' (or 'task.requeued').
   */
  complete(id: string, attempt: number, result: TaskResult, now: number): Promise<Task>;
  /**
   * Infrastructure failure of `attempt` (node lost, agent refused the work): back to pending
   * while infraFailures < maxRetries, else failed with `reason`. Fenced. Appends 'task.requeued'
   * or 'task.finished'.
   */
  requeue(id: string, attempt: number, reason: string, now: number): Promise<Task>;
  /**
   * Cancels a non-terminal task (any attempt). Terminal tasks are returned unchanged.
   * Appends 'task.cancelled'.
   */
  cancel(id: string, reason: string, now: number): Promise<Task>;
  /**
   * Applies a plan's assignments: each is `assign` (ConflictError / NotFoundError in its
   * outcome when someone acted first). One call per dispatch pass.
   */
  assignMany(assignments: AssignmentInput[], now: number): Promise<ItemOutcome[]>;
  /** Records a batch of agent reports: each is `markRunning` or `complete`, fenced. */
  recordReports(reports: TaskReport[], now: number): Promise<ItemOutcome[]>;
  /** Requeues many attempts (a lost node's work): each is `requeue`, fenced. */
  requeueMany(items: RequeueInput[], now: number): Promise<ItemOutcome[]>;
  /** Records a refused (fenced) message for audit; appends 'task.fenced'. */
  recordFenced(id: string, attempt: number, what: string, now: number): Promise<void>;
}
