/**
 * Failover: what happens when a node is lost (missed heartbeats, stream gone past its grace,
 * removed, revoked). The node is marked down at once and its stream closed; its unfinished
 * tasks wait for the end of its lease (held-work.ts) — by then its agent has killed them
 * itself — and are then requeued with their attempt as fencing token, so a late result from
 * the lost node is refused while the task runs elsewhere.
 */
import { ErrorCode, StaleAttemptError } from '../core/index.js';
import type { CoordinatorContext } from './context.js';
import { leaseEndsAt } from './held-work.js';

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
  const until = ctx.leaseEnd(nodeId);
  if (until <= now) {
    ctx.heldWork.release(nodeId);
    requeueLostWork(ctx, nodeId, reason);
    return;
  }
  ctx.heldWork.hold(nodeId, until, reason);
  const held = ctx.active.countOn(nodeId);
  if (held > 0) {
    ctx.log.info(`${held} task(s) of node ${node.name} move in ${until - now} ms, when its lease ends (its agent stops them by then)`, { nodeId });
  }
}

/**
 * Requeues the work of lost nodes whose lease has ended (the coordinator's timer calls this).
 * A store that cannot write yet (disk full) keeps the entry for the next tick.
 */
export function requeueHeldWork(ctx: CoordinatorContext): void {
  for (const entry of ctx.heldWork.due(ctx.clock.now())) {
    try {
      requeueLostWork(ctx, entry.nodeId, entry.reason);
    } catch (err) {
      ctx.heldWork.hold(entry.nodeId, entry.until, entry.reason);
      ctx.log.warn(`cannot requeue the work of node ${entry.nodeId} yet (retrying): ${err instanceof Error ? err.message : String(err)}`, { nodeId: entry.nodeId });
    }
  }
}

/**
 * At a coordinator start: work the store still records on nodes nobody waits for (lost before
 * the stop, held for their lease then). Their agents have heard nothing from us since, so a
 * lease counted from now covers them.
 */
export function holdWorkOfLostNodes(ctx: CoordinatorContext, awaited: (nodeId: string) => boolean): void {
  const now = ctx.clock.now();
  const seen = new Set<string>();
  for (const { nodeId } of ctx.active.all()) {
    if (seen.has(nodeId)) continue;
    seen.add(nodeId);
    if (!awaited(nodeId)) ctx.heldWork.hold(nodeId, leaseEndsAt(now, ctx.leaseTerms.for(nodeId, now)), 'lost before the coordinator restarted');
  }
}

/** Requeues a lost node's tasks now (its lease has ended), with the reason in each task's history. */
function requeueLostWork(ctx: CoordinatorContext, nodeId: string, reason: string): void {
  const name = ctx.roster.get(nodeId)?.name ?? nodeId;
  const requeued = requeueNodeTasks(ctx, nodeId, `node ${name} lost: ${reason}`);
  if (requeued > 0) ctx.log.info(`requeued ${requeued} task(s) of node ${name}`, { nodeId });
}
