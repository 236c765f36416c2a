/**
 * PlacementScheduler — the fleet's pure placement: a snapshot of nodes and pending tasks in,
 * assignments and reasons out. Flow and vocabulary are in ./README.md.
 */
import { acceptsWork, formatDuration, type Task } from '../core/index.js';
import { estimateKeyOf } from './estimates.js';
import { FairQueue, projectKeyOf } from './fair-queue.js';
import { SpeedTable } from './speed.js';
import type { Assignment, FleetSnapshot, NodeView, Plan, Scheduler, Unplaceable } from './types.js';

/** Tunables of placement. Weights add up to a node's score; the highest score wins. */
export interface PlacementOptions {
  /** Weight of the project's pinned nodes (`projectPins`), a preference. Default 4: above speed, so a project stays with its workspace. */
  pinWeight?: number;
  /** Weight of the share of the task's `prefers` the node specializes in. Default 2. */
  specializationWeight?: number;
  /** Weight of observed speed: (fastest expected duration among free candidates) / (this node's). Default 3. */
  speedWeight?: number;
  /** Weight of free capacity left after placing (1 − used/capacity); spreads work. Default 1. */
  loadWeight?: number;
  /** Weight of machine idleness (1 − load/cpus); a tie-breaker. Default 0.25. */
  machineLoadWeight?: number;
  /**
   * Samples before a node's estimate is trusted. Below it the estimate is blended with an
   * optimistic prior, so unexplored nodes get a few runs and learn their speed. Default 3.
   */
  minSamples?: number;
  /** The optimistic prior: an unexplored node is presumed to take this fraction of the best known duration. Default 0.5. */
  explorationFactor?: number;
  /**
   * Hold a task back for a full node only when waiting for it is expected to finish at least
   * this many times sooner than starting now on the best free node (both estimates trusted,
   * and only while the task has waited less than the free node would take). Default 1.5;
   * 0 disables holding back: every placeable task is placed at once.
   */
  deferFactor?: number;
}

export const DEFAULT_PLACEMENT_OPTIONS: Readonly<Required<PlacementOptions>> = Object.freeze({
  pinWeight: 4,
  specializationWeight: 2,
  speedWeight: 3,
  loadWeight: 1,
  machineLoadWeight: 0.25,
  minSamples: 3,
  explorationFactor: 0.5,
  deferFactor: 1.5,
});

/** A ready node with its running tally for this plan. */
interface Slot {
  view: NodeView;
  index: number;
  capacity: number;
  /** activeTasks + assignments made in this plan. */
  used: number;
  /** Tasks held back for this node in this plan (its queue). */
  queued: number;
  capabilities: ReadonlySet<string>;
  specializations: ReadonlySet<string>;
  /** 1 − load/cpus in [0, 1]. */
  idle: number;
}

/** The nodes that satisfy one combination of hard constraints (needs + pin). */
interface ConstraintClass {
  candidates: Slot[];
  /** The needs of the class (sorted, unique), for the reasons. */
  needs: readonly string[];
  /** Set once every candidate is full; capacity only shrinks within a plan, so it stays. */
  exhausted: boolean;
  /** Why `candidates` is empty. */
  whyNone: string;
  /** The no-capacity detail, once exhausted. */
  fullDetail?: string;
}

export class PlacementScheduler implements Scheduler {
  private readonly options: Readonly<Required<PlacementOptions>>;

  constructor(options: PlacementOptions = {}) {
    this.options = Object.freeze({ ...DEFAULT_PLACEMENT_OPTIONS, ...definedOnly(options) });
  }

  plan(snapshot: FleetSnapshot, now: number): Plan {
    return new PlanBuilder(snapshot, now, this.options).build();
  }
}

/** One plan call's working state; thrown away afterwards. */
class PlanBuilder {
  private readonly slots: Slot[];
  private readonly allNodes: ReadonlyMap<string, NodeView>;
  private readonly classes = new Map<string, ConstraintClass>();
  private readonly speeds = new Map<string, SpeedTable | null>();
  private readonly pins = new Map<string, ReadonlySet<string>>();
  private readonly assignments: Assignment[] = [];
  private readonly unplaced: Unplaceable[] = [];

  constructor(
    private readonly snapshot: FleetSnapshot,
    private readonly now: number,
    private readonly options: Readonly<Required<PlacementOptions>>,
  ) {
    this.allNodes = new Map([...(snapshot.unavailable ?? []), ...snapshot.nodes].map((view) => [view.node.id, view]));
    this.slots = snapshot.nodes
      .filter((view) => acceptsWork(view.node))
      .map((view, index) => {
        const cpus = view.node.resources.cpus;
        const load = view.node.resources.load;
        return {
          view,
          index,
          capacity: Math.max(0, view.node.capacity),
          used: Math.max(0, view.activeTasks),
          queued: 0,
          capabilities: new Set(view.node.capabilities),
          specializations: new Set(view.node.specializations),
          idle: cpus > 0 && Number.isFinite(load) ? 1 - Math.min(1, Math.max(0, load) / cpus) : 0,
        };
      });
  }

  build(): Plan {
    const seen = new Set<string>();
    let free = this.slots.reduce((sum, slot) => sum + Math.max(0, slot.capacity - slot.used), 0);
    // Fair order matters only while there are free slots to hand out.
    const queue = free > 0 ? new FairQueue(this.snapshot.pending, this.snapshot.activeByProject) : undefined;
    for (let task = queue?.peek(); queue !== undefined && task !== undefined && free > 0; task = queue.peek()) {
      let placed = false;
      // A task listed twice is planned once; the duplicate does not count for fairness.
      if (!seen.has(task.id)) {
        seen.add(task.id);
        placed = this.decide(task);
        if (placed) free--;
      }
      queue.advance(placed);
    }
    // The fleet is full: what is left can only be classified, in any order.
    for (const task of this.snapshot.pending) {
      if (seen.has(task.id)) continue;
      seen.add(task.id);
      const cls = this.constraintClass(task);
      cls.exhausted = true;
      if (cls.candidates.length === 0) this.unplace(task, 'no-capable-node', cls.whyNone);
      else this.unplace(task, 'no-capacity', this.fullDetail(cls));
    }
    return { assignments: this.assignments, unplaced: this.unplaced };
  }

  /** Places `task` or records why not; true when placed. */
  private decide(task: Task): boolean {
    const cls = this.constraintClass(task);
    if (cls.candidates.length === 0) return this.unplace(task, 'no-capable-node', cls.whyNone);
    if (cls.exhausted) return this.unplace(task, 'no-capacity', this.fullDetail(cls));

    const speed = this.speedTable(estimateKeyOf(task));
    // Pass 1: the free candidates and the fastest expected duration among them, which the
    // speed score is relative to (so "2× slower" weighs the same whatever the absolute times).
    let fastestFree = Infinity;
    let anyFree = false;
    for (const slot of cls.candidates) {
      if (slot.used >= slot.capacity) continue;
      anyFree = true;
      if (speed !== null) fastestFree = Math.min(fastestFree, speed.expectedMs(slot.index));
    }
    if (!anyFree) {
      cls.exhausted = true;
      return this.unplace(task, 'no-capacity', this.fullDetail(cls));
    }

    // Pass 2: score the free candidates; the first best in snapshot order wins ties.
    const pinned = this.pinSet(task.project);
    const o = this.options;
    let best: Slot | undefined;
    let bestScore = -Infinity;
    for (const slot of cls.candidates) {
      if (slot.used >= slot.capacity) continue;
      let score = 0;
      if (pinned.has(slot.view.node.id)) score += o.pinWeight;
      if (task.prefers.length > 0) score += (o.specializationWeight * matches(task.prefers, slot.specializations)) / task.prefers.length;
      if (speed !== null) score += (o.speedWeight * fastestFree) / speed.expectedMs(slot.index);
      score += o.loadWeight * (1 - (slot.used + 1) / slot.capacity);
      score += o.machineLoadWeight * slot.idle;
      if (score > bestScore) {
        bestScore = score;
        best = slot;
      }
    }
    const chosen = best as Slot;

    const wait = speed === null ? null : this.worthWaitingFor(task, cls, speed, chosen);
    if (wait !== null) {
      wait.slot.queued++;
      this.unplaced.push({
        taskId: task.id,
        reason: 'no-capacity',
        waitingFor: wait.slot.view.node.id,
        detail:
          `waiting for faster node ${wait.slot.view.node.name} (expected to finish in ${formatDuration(wait.finishMs)}` +
          ` vs ${formatDuration(speed?.expectedMs(chosen.index) ?? 0)} on ${chosen.view.node.name})`,
      });
      return false;
    }

    chosen.used++;
    const reason = this.explain(task, chosen, pinned, speed);
    speed?.noteAssigned(chosen.index);
    this.assignments.push({ taskId: task.id, expectedAttempt: task.attempt, nodeId: chosen.view.node.id, reason });
    return true;
  }

  private unplace(task: Task, reason: Unplaceable['reason'], detail: string): false {
    this.unplaced.push({ taskId: task.id, reason, detail });
    return false;
  }

  /** Once a class is exhausted its candidates stay full for the rest of the plan, so the text is cached. */
  private fullDetail(cls: ConstraintClass): string {
    if (cls.exhausted && cls.fullDetail !== undefined) return cls.fullDetail;
    const used = cls.candidates.reduce((sum, s) => sum + Math.min(s.used, s.capacity), 0);
    const capacity = cls.candidates.reduce((sum, s) => sum + s.capacity, 0);
    const n = cls.candidates.length;
    const which = cls.needs.length > 0 ? `with ${cls.needs.join(', ')}` : 'that can run it';
    const text = `${n === 1 ? `the only ready node ${which} is` : `all ${n} ready nodes ${which} are`} full (${used}/${capacity} slots used)`;
    if (cls.exhausted) cls.fullDetail = text;
    return text;
  }

  /**
   * Earliest-finish-time look-ahead: a full node that is much faster may finish the task
   * sooner even after waiting for a slot. Its wait is modelled as the first of its `capacity`
   * running tasks ending (≈ duration/(capacity+1)) plus one duration/capacity per task
   * already queued for it in this plan, so the queue it builds makes waiting less attractive.
   * Only trusted estimates on both sides count, and only while the task has waited less than
   * the free node would take, so a stuck fast node cannot hold work back for long.
   */
  private worthWaitingFor(task: Task, cls: ConstraintClass, speed: SpeedTable, free: Slot): { slot: Slot; finishMs: number } | null {
    const factor = this.options.deferFactor;
    if (!(factor > 0) || !speed.trusted(free.index)) return null;
    const startNowMs = speed.expectedMs(free.index);
    if (this.now - task.createdAt >= startNowMs) return null;
    let found: { slot: Slot; finishMs: number } | null = null;
    for (const slot of cls.candidates) {
      if (slot.used < slot.capacity || slot.capacity === 0 || !speed.trusted(slot.index)) continue;
      const duration = speed.expectedMs(slot.index);
      const finishMs = duration / (slot.capacity + 1) + (slot.queued * duration) / slot.capacity + duration;
      if (finishMs * factor <= startNowMs && (found === null || finishMs < found.finishMs)) found = { slot, finishMs };
    }
    return found;
  }

  private constraintClass(task: Task): ConstraintClass {
    const needs = task.needs.length <= 1 ? task.needs : [...new Set(task.needs)].sort();
    // Nodes that refused this task (their serve allow-list) are a hard exclusion, like a missing capability.
    const refused = this.snapshot.refusedBy?.[task.id];
    const refusedKey = refused && refused.length > 0 ? [...refused].sort().join('\u0000') : '';
    const key = `${task.pinnedNode ?? ''}\u0000${needs.join('\u0000')}\u0001${refusedKey}`;
    let cls = this.classes.get(key);
    if (cls === undefined) {
      const excluded = new Set(refusedKey === '' ? [] : refused);
      const capable = this.slots.filter(
        (slot) => (task.pinnedNode === null || slot.view.node.id === task.pinnedNode) && needs.every((n) => slot.capabilities.has(n)),
      );
      const candidates = excluded.size === 0 ? capable : capable.filter((slot) => !excluded.has(slot.view.node.id));
      let whyNone = '';
      if (candidates.length === 0) {
        whyNone = capable.length === 0
          ? this.whyNoCandidate(task.pinnedNode, needs)
          : `refused by ${capable.map((slot) => slot.view.node.name).join(', ')} (not served there) and no other ready node can run it`;
      }
      cls = { candidates, needs, exhausted: false, whyNone };
      this.classes.set(key, cls);
    }
    return cls;
  }

  private whyNoCandidate(pinnedNode: string | null, needs: readonly string[]): string {
    if (pinnedNode !== null) {
      const view = this.allNodes.get(pinnedNode);
      if (view === undefined) return `pinned to node ${pinnedNode}, which is not in the fleet`;
      if (!this.slots.some((slot) => slot.view.node.id === pinnedNode)) return `pinned to node ${view.node.name}, which is ${availability(view)}`;
      const have = new Set(view.node.capabilities);
      return `pinned to node ${view.node.name}, which lacks ${needs.filter((n) => !have.has(n)).join(', ')}`;
    }
    const unavailable = this.unavailable();
    if (needs.length === 0) {
      return unavailable.length > 0 ? `no node is ready: ${describeNodes(unavailable)}` : 'no node has joined the fleet';
    }
    const offered = new Set(this.slots.flatMap((slot) => [...slot.capabilities]));
    const missing = needs.filter((n) => !offered.has(n));
    if (missing.length === 0) return `no single ready node has all of ${needs.join(', ')}`;
    // Per missing capability: nobody has it, or the nodes that have it cannot take work now.
    return missing
      .map((cap) => {
        const holders = unavailable.filter((view) => view.node.capabilities.includes(cap));
        return holders.length === 0 ? `no node has ${cap}` : `the nodes with ${cap} are ${describeNodes(holders)}`;
      })
      .join('; ');
  }

  /** Nodes that take no work now but are still in the fleet (not `left`): named in the reasons. */
  private unavailable(): NodeView[] {
    const ready = new Set(this.slots.map((slot) => slot.view.node.id));
    return [...this.allNodes.values()].filter((view) => !ready.has(view.node.id) && view.node.status !== 'left');
  }

  /** Expected durations of `key` on the ready nodes, or null when no node has an estimate for it. */
  private speedTable(key: string): SpeedTable | null {
    let table = this.speeds.get(key);
    if (table === undefined) {
      table = SpeedTable.build(
        this.slots.map((slot) => this.snapshot.estimates[slot.view.node.id]?.[key]),
        this.options,
      );
      this.speeds.set(key, table);
    }
    return table;
  }

  private pinSet(project: string | null): ReadonlySet<string> {
    const key = projectKeyOf({ project });
    let set = this.pins.get(key);
    if (set === undefined) {
      set = new Set(project === null ? [] : (this.snapshot.projectPins[project] ?? []));
      this.pins.set(key, set);
    }
    return set;
  }

  private explain(task: Task, slot: Slot, pinned: ReadonlySet<string>, speed: SpeedTable | null): string {
    const parts: string[] = [];
    if (task.pinnedNode !== null) parts.push('pinned');
    if (pinned.has(slot.view.node.id)) parts.push(`project ${task.project ?? ''} prefers it`);
    const specialized = task.prefers.filter((p) => slot.specializations.has(p));
    if (specialized.length > 0) parts.push(`specializes in ${specialized.join(', ')}`);
    if (speed !== null) {
      parts.push(`expected ${formatDuration(speed.expectedMs(slot.index))}${speed.trusted(slot.index) ? '' : ' (learning)'}`);
    }
    parts.push(`slot ${slot.used}/${slot.capacity}`);
    return parts.join('; ');
  }
}

/** `draining`, `down`, `joining`, or `not connected` for a node recorded ready whose stream is gone. */
function availability(view: NodeView): string {
  return view.node.status === 'ready' ? 'not connected' : view.node.status;
}

/** `w1 (draining), w2 (down)`, at most 5 named. */
function describeNodes(views: readonly NodeView[]): string {
  const named = views.slice(0, 5).map((view) => `${view.node.name} (${availability(view)})`);
  return views.length > 5 ? `${named.join(', ')} and ${views.length - 5} more` : named.join(', ');
}

function matches(wanted: readonly string[], offered: ReadonlySet<string>): number {
  let count = 0;
  for (const w of wanted) if (offered.has(w)) count++;
  return count;
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
