/**
 * WaitingReasons: the latest reason the scheduler gave for each pending task it did not place
 * ("no node has gpu", "the nodes with gpu are draining (w1)", "all 2 ready nodes with docker
 * are full"), kept in memory by the dispatcher for `task show`, `tasks --json`, REST and
 * `run --wait`. Not persisted: after a restart the first pass says it again.
 *
 * The dispatcher calls `record(plan)` after every plan and `withoutFreeSlots(views)` when a pass
 * finds no free slot and plans nothing (then this book asks the scheduler itself, at most once
 * a second, so a full or empty fleet still says why work waits).
 */
import type { Task } from '../core/index.js';
import type { NodeView, Plan, Scheduler } from '../scheduler/index.js';
import type { TaskQueue } from '../store/backbone.js';
import type { FleetState } from './fleet-state.js';
import type { Runtime } from './runtime.js';

/** What the book reads: the clock, the roster and active index, refusals and the pending queue. */
export interface WaitingReasonsDeps {
  runtime: Pick<Runtime, 'clock'>;
  state: Pick<FleetState, 'roster' | 'active' | 'refusals'>;
  tasks: Pick<TaskQueue, 'pending'>;
  scheduler: Scheduler;
}

/** How often a pass without free slots re-explains the pending head. */
const EXPLAIN_WITHOUT_SLOTS_MS = 1000;
/** Pending tasks explained in such a pass (the head of the queue). */
const EXPLAIN_WINDOW = 256;
/** Entries kept at most; the oldest go first (a task that waits that long is re-explained by the next plan). */
const MAX_ENTRIES = 20_000;

export class WaitingReasons {
  private readonly reasons = new Map<string, string>();
  private lastExplainedAt = -Infinity;

  constructor(private readonly deps: WaitingReasonsDeps) {}

  /** After a plan: each unplaced task's reason replaces the one before; placed tasks have none. */
  record(plan: Plan): void {
    for (const a of plan.assignments) this.reasons.delete(a.taskId);
    for (const u of plan.unplaced) {
      this.reasons.delete(u.taskId); // re-inserted last: the map stays ordered by freshness
      this.reasons.set(u.taskId, u.detail);
    }
    for (const oldest of this.reasons.keys()) {
      if (this.reasons.size <= MAX_ENTRIES) break;
      this.reasons.delete(oldest);
    }
  }

  /** A pass found no free slot among `views` (possibly none at all): explain the pending head now and then. */
  async withoutFreeSlots(views: NodeView[]): Promise<void> {
    const now = this.deps.runtime.clock.now();
    if (now - this.lastExplainedAt < EXPLAIN_WITHOUT_SLOTS_MS) return;
    this.lastExplainedAt = now;
    const pending = await this.deps.tasks.pending(EXPLAIN_WINDOW);
    if (pending.length === 0) return;
    const refusedBy = this.deps.state.refusals.forTasks(pending);
    // No free slot: the plan can only classify, never assign.
    this.record(this.deps.scheduler.plan({
      nodes: views, pending, activeByProject: {}, estimates: {}, projectPins: {}, unavailable: this.unavailableNodes(views), ...(refusedBy ? { refusedBy } : {}),
    }, now));
  }

  /** The fleet's nodes not among `views` (the ones that take work), except those gone for good: for the reasons only. */
  unavailableNodes(views: readonly NodeView[]): NodeView[] {
    const taking = new Set(views.map((v) => v.node.id));
    const out: NodeView[] = [];
    for (const node of this.deps.state.roster.values()) {
      if (node.status !== 'left' && !taking.has(node.id)) out.push({ node, activeTasks: this.deps.state.active.countOn(node.id) });
    }
    return out;
  }

  /** Why `task` waits, when it is pending and was planned; `frozen`: dispatch is stopped (emergency tier 1). */
  reasonFor(task: Pick<Task, 'id' | 'state'>, frozen: boolean): string | null {
    if (task.state !== 'pending') return null;
    if (frozen) return 'dispatch is stopped (emergency stop-dispatch): `bitacora resume` lifts it';
    return this.reasons.get(task.id) ?? null;
  }

  /** Of `needs`, the capabilities no node of the fleet advertises (any status, also down or gone). */
  unadvertised(needs: readonly string[]): string[] {
    if (needs.length === 0) return [];
    const offered = new Set<string>();
    for (const node of this.deps.state.roster.values()) for (const cap of node.capabilities) offered.add(cap);
    return [...new Set(needs)].filter((n) => !offered.has(n));
  }
}
