/**
 * SyncState: after an agent (re)connects, it and the master agree on which tasks the node
 * holds. The decision is pure (`reconcile`); `applySync` carries it out with fencing.
 *  - reported by the agent but not its current attempt (superseded, cancelled, finished,
 *    moved elsewhere) → void: the agent kills it and drops its results;
 *  - held by the master for this node but not reported → requeue: the agent lost it (crash,
 *    restart, an executeTask lost with the old stream).
 */
import { isTerminal, StaleAttemptError, type TaskState } from '../core/index.js';
import { estimateKeyOf } from '../scheduler/index.js';
import type { TaskRef } from '../rpc/messages.js';
import type { CoordinatorContext } from './context.js';

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
export function applySync(ctx: CoordinatorContext, nodeId: string, reported: readonly TaskRef[]): SyncDecision {
  const { tasks } = ctx.backbone;
  const held = tasks.activeOn(nodeId);
  const byId = new Map(held.map((t) => [t.id, t]));
  const decision = reconcile(
    nodeId,
    reported,
    held.map((t) => ({ taskId: t.id, attempt: t.attempt })),
    (id) => {
      const t = byId.get(id) ?? tasks.get(id);
      return t ? { attempt: t.attempt, nodeId: t.nodeId, state: t.state } : null;
    },
  );
  const now = ctx.clock.now();
  ctx.batch(() => {
    for (const ref of decision.requeue) {
      ctx.active.remove(ref.taskId);
      try {
        tasks.requeue(ref.taskId, ref.attempt, 'node no longer holds the task (SyncState after reconnect)', now);
      } catch (err) {
        if (!(err instanceof StaleAttemptError)) throw err;
      }
    }
  });
  // A claim on an attempt that was superseded or moved is a refused (fenced) report; a
  // finished attempt reported again (its ack was lost) is merely a duplicate.
  for (const ref of decision.voidTasks) {
    const task = byId.get(ref.taskId) ?? tasks.get(ref.taskId);
    if (task && (task.attempt !== ref.attempt || task.nodeId !== nodeId)) {
      tasks.recordFenced(ref.taskId, ref.attempt, 'SyncState claim after reconnect', now);
    }
  }
  for (const ref of decision.keep) {
    const task = byId.get(ref.taskId);
    if (task && !ctx.active.holder(task.id, task.attempt, nodeId)) ctx.active.add(task, estimateKeyOf(task));
  }
  if (decision.requeue.length > 0) ctx.scheduleDispatch();
  return decision;
}
