/**
 * Dispatcher — the single-writer plan applier. Triggers (submissions, finishes, joins,
 * requeues, a slow safety tick) only *ask* for a pass; passes are coalesced onto one
 * setImmediate, so a burst of 10k submissions costs one plan, not 10k. A pass builds a
 * read-only FleetSnapshot from in-memory caches plus one pending-queue read, asks the pure
 * scheduler for a plan, re-checks each assignment (node still connected, ready and below
 * capacity) and commits it with the TaskQueue's compare-and-set on the attempt, then sends
 * executeTask. A lost race (ConflictError) just skips the assignment.
 */
import { ConflictError, NotFoundError, type Task } from '../core/index.js';
import { estimateKeyOf, type FleetSnapshot, type NodeView, type Plan, type Scheduler } from '../scheduler/index.js';
import type { ExecuteTaskCommand } from '../rpc/messages.js';
import type { CoordinatorContext } from './context.js';
import { Roster } from './roster.js';
import type { EstimateBook } from './results.js';
import { WaitingReasons } from './waiting-reasons.js';

export interface DispatcherOptions {
  scheduler: Scheduler;
  estimates: EstimateBook;
  /** Safety-net pass period. Default 1000 ms. */
  tickMs?: number;
  /** How long project pins are cached. Default 2000 ms. */
  pinsTtlMs?: number;
}

export interface DispatchStats {
  passes: number;
  assigned: number;
  conflicts: number;
  lastPlanMs: number;
}

export class Dispatcher {
  private scheduled = false;
  private frozen = false;
  private stopped = true;
  private tick: NodeJS.Timeout | null = null;
  private pins: { at: number; value: Record<string, string[]> } | null = null;
  readonly stats: DispatchStats = { passes: 0, assigned: 0, conflicts: 0, lastPlanMs: 0 };
  /** Why each pending task waits: the scheduler's latest reasons (waiting-reasons.ts). */
  readonly waiting: WaitingReasons;

  constructor(private readonly ctx: CoordinatorContext, private readonly options: DispatcherOptions) {
    this.waiting = new WaitingReasons(ctx, options.scheduler);
  }

  /** Stop-dispatch (emergency tier 1): nothing new is assigned until `resume`. */
  get isFrozen(): boolean {
    return this.frozen;
  }

  freeze(): void {
    this.frozen = true;
  }

  resume(): void {
    this.frozen = false;
    this.schedule();
  }

  start(): void {
    this.stopped = false;
    this.tick = setInterval(() => this.schedule(), this.options.tickMs ?? 1000);
    this.tick.unref();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
  }

  /** Coalesced request for a pass. Cheap; call after anything that may free or need a slot. */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.stopped || this.frozen) return;
      try {
        this.pass();
      } catch (err) {
        this.ctx.log.error(`dispatch pass failed: ${(err as Error).message}`, { err });
      }
    });
  }

  /** One plan-and-apply pass. Returns the number of tasks assigned. Public for tests and benchmarks. */
  pass(): number {
    const { ctx } = this;
    const views: NodeView[] = [];
    let free = 0;
    for (const [nodeId, session] of ctx.sessions) {
      const node = ctx.roster.get(nodeId);
      if (!node || session.state !== 'active' || !Roster.acceptsWork(node)) continue;
      const activeTasks = ctx.active.countOn(nodeId);
      free += Math.max(0, node.capacity - activeTasks);
      views.push({ node, activeTasks });
    }
    if (free === 0) {
      this.waiting.withoutFreeSlots(views);
      return 0;
    }
    const window = Math.min(ctx.settings.maxPlanWindow, Math.max(64, free * 4));
    const pending = ctx.backbone.tasks.pending(window);
    if (pending.length === 0) return 0;
    const snapshot: FleetSnapshot = {
      nodes: views,
      pending,
      activeByProject: { ...ctx.active.byProject() },
      estimates: this.options.estimates.snapshot(),
      projectPins: this.projectPins(),
      unavailable: this.waiting.unavailableNodes(views),
    };
    const refusedBy = ctx.refusals.forTasks(pending);
    if (refusedBy) snapshot.refusedBy = refusedBy;
    const started = performance.now();
    const plan = this.options.scheduler.plan(snapshot, ctx.clock.now());
    this.stats.lastPlanMs = performance.now() - started;
    this.stats.passes++;
    this.waiting.record(plan);
    if (plan.assignments.length === 0) return 0;

    const byId = new Map<string, Task>();
    for (const t of pending) byId.set(t.id, t);
    const now = ctx.clock.now();
    const sends: Array<{ nodeId: string; task: Task }> = [];
    try {
      ctx.batch(() => this.apply(plan.assignments, byId, sends, now));
    } catch (err) {
      // The batch rolled back: forget what it indexed, nothing was sent.
      for (const { task } of sends) ctx.active.remove(task.id);
      throw err;
    }
    // Send after commit: an agent never hears of an assignment the store does not have.
    // If a send fails the stream is gone; SyncState on reconnect (or failover) requeues it.
    for (const { nodeId, task } of sends) ctx.sendTo(nodeId, { type: 'executeTask', task: toCommand(task) });
    this.stats.assigned += sends.length;
    // A full window placed and slots left: more may be waiting behind it.
    if (sends.length > 0 && pending.length === window && sends.length < free) this.schedule();
    return sends.length;
  }

  private apply(assignments: Plan['assignments'], byId: Map<string, Task>, sends: Array<{ nodeId: string; task: Task }>, now: number): void {
    const { ctx } = this;
    for (const a of assignments) {
      const node = ctx.roster.get(a.nodeId);
      const session = ctx.sessions.get(a.nodeId);
      // Re-check against current state: the plan was made from a snapshot.
      if (!node || !session || session.state !== 'active' || !Roster.acceptsWork(node)) continue;
      if (ctx.active.countOn(a.nodeId) >= node.capacity) continue;
      let task: Task;
      try {
        task = ctx.backbone.tasks.assign(a.taskId, a.nodeId, a.expectedAttempt, now);
      } catch (err) {
        if (err instanceof ConflictError || err instanceof NotFoundError) {
          this.stats.conflicts++;
          continue;
        }
        throw err;
      }
      ctx.active.add(task, estimateKeyOf(byId.get(a.taskId) ?? task));
      sends.push({ nodeId: a.nodeId, task });
    }
  }

  private projectPins(): Record<string, string[]> {
    const now = this.ctx.clock.now();
    if (this.pins && now - this.pins.at < (this.options.pinsTtlMs ?? 2000)) return this.pins.value;
    const value: Record<string, string[]> = {};
    for (const p of this.ctx.backbone.projects.list()) if (p.pinnedNodes.length > 0) value[p.name] = p.pinnedNodes;
    this.pins = { at: now, value };
    return value;
  }
}

export function toCommand(task: Task): ExecuteTaskCommand {
  return {
    taskId: task.id,
    attempt: task.attempt,
    kind: task.kind,
    project: task.project,
    command: task.command,
    env: task.env,
    timeoutMs: task.timeoutMs,
    needs: task.needs,
  };
}
