/**
 * PendingQueue — the coordinator's in-memory copy of the pending tasks, in the store's FIFO
 * order (by seq), so a dispatch pass costs no store read and no JSON decoding of specs.
 *
 * It is a TaskQueue decorator: the coordinator is the single writer of task states, and every
 * one of its writes goes through here, so each write's answer (the task after the change)
 * keeps the copy exact — a submission or a retry adds, an assignment or a cancel removes.
 * The store stays the authority: an assignment refused by its compare-and-set re-reads the
 * task, and `load` rebuilds the copy at start.
 */
import type { Task } from '../core/index.js';
import type {
  AssignmentInput, ItemOutcome, RequeueInput, SubmitOutcome, TaskQueue, TaskReport,
} from '../store/backbone.js';

export class PendingQueue implements TaskQueue {
  /** Pending tasks by seq (ascending); removals leave holes that `compact` closes. */
  private order: Array<Task | null> = [];
  private readonly byId = new Map<string, { task: Task; index: number }>();
  private holes = 0;

  constructor(private readonly store: TaskQueue) {}

  /** Reads every pending task from the store (coordinator start). */
  async load(): Promise<void> {
    this.order = [];
    this.byId.clear();
    this.holes = 0;
    for (const task of await this.store.list({ states: ['pending'] })) this.track(task);
  }

  get size(): number {
    return this.byId.size;
  }

  /** The oldest `limit` pending tasks, from memory. */
  async pending(limit: number): Promise<Task[]> {
    const out: Task[] = [];
    for (const task of this.order) {
      if (out.length >= limit) break;
      if (task) out.push(task);
    }
    return out;
  }

  async submit(...args: Parameters<TaskQueue['submit']>): Promise<SubmitOutcome> {
    const outcome = await this.store.submit(...args);
    this.track(outcome.task);
    return outcome;
  }

  async submitMany(...args: Parameters<TaskQueue['submitMany']>): Promise<SubmitOutcome[]> {
    const outcomes = await this.store.submitMany(...args);
    for (const o of outcomes) this.track(o.task);
    return outcomes;
  }

  async assign(id: string, nodeId: string, expectedAttempt: number, now: number): Promise<Task> {
    try {
      return this.track(await this.store.assign(id, nodeId, expectedAttempt, now));
    } catch (err) {
      await this.refresh(id);
      throw err;
    }
  }

  async assignMany(assignments: AssignmentInput[], now: number): Promise<ItemOutcome[]> {
    const outcomes = await this.store.assignMany(assignments, now);
    const refused: string[] = [];
    outcomes.forEach((o, i) => {
      if (o.ok) this.track(o.task);
      else refused.push(assignments[i]!.taskId);
    });
    // Someone acted first (or the copy was stale): the store says what the task is now.
    for (const id of refused) await this.refresh(id);
    return outcomes;
  }

  async markRunning(...args: Parameters<TaskQueue['markRunning']>): Promise<Task> {
    return this.track(await this.store.markRunning(...args));
  }

  async complete(...args: Parameters<TaskQueue['complete']>): Promise<Task> {
    return this.track(await this.store.complete(...args));
  }

  async requeue(...args: Parameters<TaskQueue['requeue']>): Promise<Task> {
    return this.track(await this.store.requeue(...args));
  }

  async cancel(...args: Parameters<TaskQueue['cancel']>): Promise<Task> {
    return this.track(await this.store.cancel(...args));
  }

  async recordReports(reports: TaskReport[], now: number): Promise<ItemOutcome[]> {
    return this.trackAll(await this.store.recordReports(reports, now));
  }

  async requeueMany(items: RequeueInput[], now: number): Promise<ItemOutcome[]> {
    return this.trackAll(await this.store.requeueMany(items, now));
  }

  // Reads and bookkeeping that change no state pass straight through.
  get(id: string): Promise<Task | null> {
    return this.store.get(id);
  }

  list(...args: Parameters<TaskQueue['list']>): Promise<Task[]> {
    return this.store.list(...args);
  }

  counts(): ReturnType<TaskQueue['counts']> {
    return this.store.counts();
  }

  activeOn(nodeId: string): Promise<Task[]> {
    return this.store.activeOn(nodeId);
  }

  recordFenced(...args: Parameters<TaskQueue['recordFenced']>): Promise<void> {
    return this.store.recordFenced(...args);
  }

  private trackAll(outcomes: ItemOutcome[]): ItemOutcome[] {
    for (const o of outcomes) if (o.ok) this.track(o.task);
    return outcomes;
  }

  private async refresh(id: string): Promise<void> {
    const task = await this.store.get(id);
    if (task) this.track(task);
    else this.drop(id);
  }

  /** Keeps the copy in step with `task` as the store now has it; returns it. */
  private track(task: Task): Task {
    if (task.state !== 'pending') {
      this.drop(task.id);
      return task;
    }
    const known = this.byId.get(task.id);
    if (known) {
      known.task = task;
      this.order[known.index] = task;
      return task;
    }
    // New submissions have the highest seq: appended. A retried task keeps its seq: inserted in place.
    const last = this.lastTask();
    if (!last || last.seq < task.seq) {
      this.byId.set(task.id, { task, index: this.order.length });
      this.order.push(task);
      return task;
    }
    this.compact();
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.order[mid]!.seq < task.seq) lo = mid + 1;
      else hi = mid;
    }
    this.order.splice(lo, 0, task);
    for (let i = lo; i < this.order.length; i++) this.byId.set(this.order[i]!.id, { task: this.order[i]!, index: i });
    return task;
  }

  private drop(id: string): void {
    const known = this.byId.get(id);
    if (!known) return;
    this.byId.delete(id);
    this.order[known.index] = null;
    this.holes++;
    // Removals happen from the front (FIFO): close the holes once they outweigh the rest.
    if (this.holes > 64 && this.holes * 2 > this.order.length) this.compact();
  }

  private lastTask(): Task | null {
    for (let i = this.order.length - 1; i >= 0; i--) if (this.order[i]) return this.order[i]!;
    return null;
  }

  private compact(): void {
    if (this.holes === 0) return;
    const kept: Task[] = [];
    for (const task of this.order) if (task) kept.push(task);
    this.order = kept;
    this.holes = 0;
    kept.forEach((task, index) => this.byId.set(task.id, { task, index }));
  }
}
