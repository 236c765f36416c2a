/**
 * Failover: what happens when a node is lost (missed heartbeats, stream gone past its grace,
 * removed, revoked). The node is marked down, its stream closed, and each of its unfinished
 * tasks requeued through the TaskQueue with its attempt as fencing token, so a late result
 * from the lost node is refused while the task runs elsewhere.
 */
import { ErrorCode, StaleAttemptError } from '../core/index.js';
import type { CoordinatorContext } from './context.js';

/** Requeues every task the store says `nodeId` holds. Returns how many were requeued. */
export function requeueNodeTasks(ctx: CoordinatorContext, nodeId: string, reason: string): number {
  const { tasks } = ctx.backbone;
  const now = ctx.clock.now();
  let count = 0;
  ctx.batch(() => {
    for (const task of tasks.activeOn(nodeId)) {
      ctx.active.remove(task.id);
      try {
        tasks.requeue(task.id, task.attempt, reason, now);
        count++;
      } catch (err) {
        if (!(err instanceof StaleAttemptError)) throw err;
      }
    }
    // Entries the index still holds for the node (should be none) are stale by now.
    for (const entry of ctx.active.on(nodeId)) ctx.active.remove(entry.taskId);
  });
  if (count > 0) ctx.scheduleDispatch();
  return count;
}

/**
 * Declares `nodeId` down: status, stream, tasks. Idempotent for a node already down or gone.
 */
export function markNodeDown(ctx: CoordinatorContext, nodeId: string, reason: string): void {
  const node = ctx.roster.get(nodeId);
  if (!node) return;
  const now = ctx.clock.now();
  if (node.status !== 'down' && node.status !== 'left') {
    ctx.roster.setStatus(nodeId, 'down', reason, now);
    ctx.log.warn(`node ${node.name} is down: ${reason}`, { nodeId });
  }
  const session = ctx.sessions.get(nodeId);
  if (session) {
    // A silent-but-connected node (paused, partitioned) must reconnect and go through
    // SyncState, which voids the work it held; closing its stream forces that.
    ctx.sessions.delete(nodeId);
    session.state = 'closed';
    session.connection.send({ type: 'error', code: ErrorCode.Unavailable, message: `node declared down: ${reason}; reconnect to resync`, fatal: true });
    session.connection.close(`node declared down: ${reason}`);
  }
  const requeued = requeueNodeTasks(ctx, nodeId, `node ${node.name} lost: ${reason}`);
  if (requeued > 0) ctx.log.info(`requeued ${requeued} task(s) of node ${node.name}`, { nodeId });
}
