/**
 * Dispatcher — the single-writer plan applier. Triggers (submissions, finishes, joins,
 * requeues, a slow safety tick) only *ask* for a pass; passes are coalesced onto one
 * setImmediate, so a burst of 10k submissions costs one plan, not 10k. A pass builds a
 * read-only FleetSnapshot from in-memory caches plus one pending-queue read, asks the pure
 * scheduler for a plan, re-checks each assignment (node still connected, ready and below
 * capacity) and commits the whole plan with one `assignMany` (compare-and-set on each
 * attempt), then sends each node its share of the plan as one executeTasks frame. A lost race
 * (ConflictError) just skips the assignment.
 */
import type { Task } from '../core/index.js';
import type { ItemOutcome, RequeueInput } from '../store/backbone.js';
import { estimateKeyOf, type FleetSnapshot, type NodeView, type Plan, type Scheduler } from '../scheduler/index.js';
import type { ExecuteTaskCommand } from '../rpc/messages.js';
import type { ProjectRepository, TaskQueue } from '../store/backbone.js';
import type { FleetState } from './fleet-state.js';
import type { DispatchTrigger, Runtime } from './runtime.js';
import { Roster } from './roster.js';
import type { EstimateBook } from './results.js';
import { WaitingReasons } from './waiting-reasons.js';

export interface DispatcherDeps {
  runtime: Runtime;
  state: Pick<FleetState, 'roster' | 'active' | 'refusals' | 'streams'>;
  tasks: TaskQueue;
  projects: ProjectRepository;
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

export class Dispatcher implements DispatchTrigger {
  private scheduled = false;
  /** A pass is in flight (it awaits the store); passes never overlap. */
  private running = false;
  /** Asked for during a pass: run one more after it. */
  private again = false;
  private frozen = false;
  private stopped = true;
  private tick: NodeJS.Timeout | null = null;
  private pins: { at: number; value: Record<string, string[]> } | null = null;
  readonly stats: DispatchStats = { passes: 0, assigned: 0, conflicts: 0, lastPlanMs: 0 };
  /** Why each pending task waits: the scheduler's latest reasons (waiting-reasons.ts). */
  readonly waiting: WaitingReasons;

  constructor(private readonly deps: DispatcherDeps) {
    this.waiting = new WaitingReasons(deps);
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
    this.tick = setInterval(() => this.schedule(), this.deps.tickMs ?? 1000);
    this.tick.unref();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
  }

  /**
   * Coalesced request for a pass. Cheap; call after anything that may free or need a slot.
   * One pass runs at a time: a request during a pass makes one more pass after it.
   */
  schedule(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.stopped || this.frozen) return;
      this.running = true;
      this.pass()
        .catch((err: unknown) => this.deps.runtime.log.error(`dispatch pass failed: ${(err as Error).message}`, { err }))
        .finally(() => {
          this.running = false;
          if (this.again) {
            this.again = false;
            this.schedule();
          }
        });
    });
  }

  /** One plan-and-apply pass. Resolves with the number of tasks assigned. Public for tests and benchmarks. */
  async pass(): Promise<number> {
    const ctx = this.deps;
    const views: NodeView[] = [];
    let free = 0;
    for (const [nodeId, session] of ctx.state.streams.entries()) {
      const node = ctx.state.roster.get(nodeId);
      if (!node || session.state !== 'active' || !Roster.acceptsWork(node)) continue;
      const activeTasks = ctx.state.active.busyOn(nodeId);
      free += Math.max(0, node.capacity - activeTasks);
      views.push({ node, activeTasks });
    }
    if (free === 0) {
      await this.waiting.withoutFreeSlots(views);
      return 0;
    }
    const window = Math.min(ctx.runtime.settings.maxPlanWindow, Math.max(64, free * 4));
    const [pending, projectPins] = await Promise.all([ctx.tasks.pending(window), this.projectPins()]);
    if (pending.length === 0) return 0;
    const snapshot: FleetSnapshot = {
      nodes: views,
      pending,
      activeByProject: { ...ctx.state.active.byProject() },
      estimates: this.deps.estimates.snapshot(),
      projectPins,
      unavailable: this.waiting.unavailableNodes(views),
    };
    const refusedBy = ctx.state.refusals.forTasks(pending);
    if (refusedBy) snapshot.refusedBy = refusedBy;
    const started = performance.now();
    const plan = this.deps.scheduler.plan(snapshot, ctx.runtime.clock.now());
    this.stats.lastPlanMs = performance.now() - started;
    this.stats.passes++;
    this.waiting.record(plan);
    if (plan.assignments.length === 0) return 0;
    const sent = await this.apply(plan.assignments, new Map(pending.map((t) => [t.id, t])));
    this.stats.assigned += sent;
    // A full window placed and slots left: more may be waiting behind it.
    if (sent > 0 && pending.length === window && sent < free) this.again = true;
    return sent;
  }

  /**
   * Re-checks each assignment against current state (the plan was made from a snapshot),
   * reserves its slot in the active index, commits all of them in one compare-and-set call,
   * then sends each node its assignments as one executeTasks — after commit, so an agent never
   * hears of an assignment the store does not have. A reservation the failover took away
   * meanwhile (node lost) is requeued.
   */
  private async apply(assignments: Plan['assignments'], byId: Map<string, Task>): Promise<number> {
    const ctx = this.deps;
    const chosen: Plan['assignments'] = [];
    for (const a of assignments) {
      const node = ctx.state.roster.get(a.nodeId);
      const session = ctx.state.streams.get(a.nodeId);
      const task = byId.get(a.taskId);
      if (!task || !node || !session || session.state !== 'active' || !Roster.acceptsWork(node)) continue;
      if (ctx.state.active.busyOn(a.nodeId) >= node.capacity || ctx.state.active.get(a.taskId)) continue;
      ctx.state.active.add({ id: task.id, attempt: a.expectedAttempt + 1, nodeId: a.nodeId, project: task.project }, estimateKeyOf(task));
      chosen.push(a);
    }
    if (chosen.length === 0) return 0;
    const now = ctx.runtime.clock.now();
    let outcomes: ItemOutcome[];
    try {
      outcomes = await ctx.tasks.assignMany(chosen.map(({ taskId, nodeId, expectedAttempt }) => ({ taskId, nodeId, expectedAttempt })), now);
    } catch (err) {
      // Nothing was committed: give the slots back; nothing was sent.
      for (const a of chosen) if (ctx.state.active.holder(a.taskId, a.expectedAttempt + 1, a.nodeId)) ctx.state.active.remove(a.taskId);
      throw err;
    }
    let sent = 0;
    const orphans: RequeueInput[] = [];
    const perNode = new Map<string, ExecuteTaskCommand[]>();
    outcomes.forEach((outcome, i) => {
      const a = chosen[i]!;
      const reserved = ctx.state.active.holder(a.taskId, a.expectedAttempt + 1, a.nodeId);
      if (!outcome.ok) {
        // Someone acted first (cancelled, already assigned): a lost race, skipped.
        if (reserved) ctx.state.active.remove(a.taskId);
        this.stats.conflicts++;
        return;
      }
      const session = ctx.state.streams.get(a.nodeId);
      if (!reserved || !session || session.state !== 'active') {
        if (reserved) ctx.state.active.remove(a.taskId);
        orphans.push({ taskId: a.taskId, attempt: outcome.task.attempt, reason: 'node lost before the assignment was sent' });
        return;
      }
      let tasks = perNode.get(a.nodeId);
      if (!tasks) perNode.set(a.nodeId, (tasks = []));
      tasks.push(toCommand(outcome.task));
      sent++;
    });
    // One frame per node (the codec cuts one that would be too large); a node whose stream
    // dropped meanwhile loses the frame, and its reconnect's SyncState requeues the attempts.
    for (const [nodeId, tasks] of perNode) ctx.state.streams.send(nodeId, { type: 'executeTasks', tasks });
    if (orphans.length > 0) {
      await ctx.tasks.requeueMany(orphans, ctx.runtime.clock.now());
      this.again = true;
    }
    return sent;
  }

  private async projectPins(): Promise<Record<string, string[]>> {
    const now = this.deps.runtime.clock.now();
    if (this.pins && now - this.pins.at < (this.deps.pinsTtlMs ?? 2000)) return this.pins.value;
    const value: Record<string, string[]> = {};
    for (const p of await this.deps.projects.list()) if (p.pinnedNodes.length > 0) value[p.name] = p.pinnedNodes;
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
