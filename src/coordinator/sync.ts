/**
 * SyncState: after an agent (re)connects, it and the master agree on which tasks the node
 * holds. The decision is pure (`reconcile`); `applySync` carries it out with fencing.
 *  - reported by the agent but not its current attempt (superseded, cancelled, finished,
 *    moved elsewhere) → void: the agent kills it and drops its results;
 *  - held by the master for this node but not reported → requeue: the agent lost it (crash,
 *    restart, an executeTask lost with the old stream).
 */
import { isTerminal, type TaskState } from '../core/index.js';
import { estimateKeyOf } from '../scheduler/index.js';
import type { TaskRef } from '../rpc/messages.js';
import type { TaskQueue } from '../store/backbone.js';
import type { FleetState } from './fleet-state.js';
import type { DispatchTrigger, Runtime } from './runtime.js';

export interface TaskView {
  attempt: number;
  nodeId: string | null;
  state: TaskState;
}

export interface SyncDecision {
  /** Reported and current: the node keeps running them. */
  keep: TaskRef[];
  /** Reported but not the node's to run. */
  voidTasks: TaskRef[];
  /** The master's assignments to this node that the agent no longer holds. */
  requeue: TaskRef[];
}

export function reconcile(
  nodeId: string,
  reported: readonly TaskRef[],
  heldByMaster: readonly TaskRef[],
  lookup: (taskId: string) => TaskView | null,
): SyncDecision {
  const keep: TaskRef[] = [];
  const voidTasks: TaskRef[] = [];
  const kept = new Set<string>();
  for (const ref of reported) {
    const task = lookup(ref.taskId);
    const current = task !== null && task.nodeId === nodeId && task.attempt === ref.attempt && !isTerminal(task.state) && task.state !== 'pending';
    if (current && !kept.has(ref.taskId)) {
      keep.push(ref);
      kept.add(ref.taskId);
    } else if (!current) {
      voidTasks.push(ref);
    }
  }
  const requeue = heldByMaster.filter((ref) => !kept.has(ref.taskId));
  return { keep, voidTasks, requeue };
}

/**
 * Reconciles `reported` with the store for `nodeId`: requeues what the agent lost (fenced,
 * so a concurrent change wins), re-indexes what it keeps, and returns the refs to void.
 */
export interface SyncDeps {
  runtime: Runtime;
  state: Pick<FleetState, 'active'>;
  tasks: TaskQueue;
  dispatch: DispatchTrigger;
}

export async function applySync(deps: SyncDeps, nodeId: string, reported: readonly TaskRef[]): Promise<SyncDecision> {
  const { tasks, state } = deps;
  const held = await tasks.activeOn(nodeId);
  const byId = new Map(held.map((t) => [t.id, t]));
  // Reported tasks the node does not hold by the store's record: read once, for the pure decision.
  for (const ref of reported) {
    if (byId.has(ref.taskId)) continue;
    const task = await tasks.get(ref.taskId);
    if (task) byId.set(task.id, task);
  }
  const decision = reconcile(
    nodeId,
    reported,
    held.map((t) => ({ taskId: t.id, attempt: t.attempt })),
    (id) => {
      const t = byId.get(id);
      return t ? { attempt: t.attempt, nodeId: t.nodeId, state: t.state } : null;
    },
  );
  const now = deps.runtime.clock.now();
  for (const ref of decision.requeue) state.active.remove(ref.taskId);
  const writes: Array<Promise<unknown>> = [];
  if (decision.requeue.length > 0) {
    // Fenced: a stale attempt (a concurrent change won) is answered in its outcome, not thrown.
    writes.push(tasks.requeueMany(decision.requeue.map((ref) => ({ ...ref, reason: 'node no longer holds the task (SyncState after reconnect)' })), now));
  }
  // A claim on an attempt that was superseded or moved is a refused (fenced) report; a
  // finished attempt reported again (its ack was lost) is merely a duplicate.
  for (const ref of decision.voidTasks) {
    const task = byId.get(ref.taskId);
    if (task && (task.attempt !== ref.attempt || task.nodeId !== nodeId)) {
      writes.push(tasks.recordFenced(ref.taskId, ref.attempt, 'SyncState claim after reconnect', now));
    }
  }
  for (const ref of decision.keep) {
    const task = byId.get(ref.taskId);
    if (task && !state.active.holder(task.id, task.attempt, nodeId)) state.active.add(task, estimateKeyOf(task));
  }
  await Promise.all(writes);
  if (decision.requeue.length > 0) deps.dispatch.schedule();
  return decision;
}
