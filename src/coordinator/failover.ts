/**
 * Failover: what happens when a node is lost (missed heartbeats, stream gone past its grace,
 * removed, revoked). The node is marked down at once and its stream closed; its unfinished
 * tasks wait for the end of its lease (held-work.ts) — by then its agent has killed them
 * itself — and are then requeued with their attempt as fencing token, so a late result from
 * the lost node is refused while the task runs elsewhere.
 */
import { ErrorCode } from '../core/index.js';
import type { CoordinatorContext } from './context.js';
import { leaseEndsAt } from './held-work.js';

/** Requeues every task the store says `nodeId` holds. Returns how many were requeued. */
export async function requeueNodeTasks(ctx: CoordinatorContext, nodeId: string, reason: string): Promise<number> {
  const { tasks } = ctx.backbone;
  const held = await tasks.activeOn(nodeId);
  for (const task of held) ctx.active.remove(task.id);
  // Entries the index still holds for the node (should be none) are stale by now.
  for (const entry of ctx.active.on(nodeId)) ctx.active.remove(entry.taskId);
  if (held.length === 0) return 0;
  // One store call for the whole node; a stale attempt (someone acted first) is skipped.
  const outcomes = await tasks.requeueMany(held.map((t) => ({ taskId: t.id, attempt: t.attempt, reason })), ctx.clock.now());
  const count = outcomes.filter((o) => o.ok).length;
  if (count > 0) ctx.scheduleDispatch();
  return count;
}

/**
 * Declares `nodeId` down: status, stream, tasks. Idempotent for a node already down or gone.
 */
export async function markNodeDown(ctx: CoordinatorContext, nodeId: string, reason: string): Promise<void> {
  const node = ctx.roster.get(nodeId);
  if (!node) return;
  const now = ctx.clock.now();
  // The cache says 'down' at once (no assignment goes to it from here on); the write follows.
  const statusWritten = node.status !== 'down' && node.status !== 'left' ? ctx.roster.setStatus(nodeId, 'down', reason, now) : null;
  if (statusWritten) ctx.log.warn(`node ${node.name} is down: ${reason}`, { nodeId });
  const session = ctx.sessions.get(nodeId);
  if (session) {
    // A silent-but-connected node (paused, partitioned) must reconnect and go through
    // SyncState, which voids the work it held; closing its stream forces that.
    ctx.sessions.delete(nodeId);
    session.state = 'closed';
    session.connection.send({ type: 'error', code: ErrorCode.Unavailable, message: `node declared down: ${reason}; reconnect to resync`, fatal: true });
    session.connection.close(`node declared down: ${reason}`);
  }
  await statusWritten;
  const until = ctx.leaseEnd(nodeId);
  if (until <= now) {
    ctx.heldWork.release(nodeId);
    await requeueLostWork(ctx, nodeId, reason);
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
export async function requeueHeldWork(ctx: CoordinatorContext): Promise<void> {
  for (const entry of ctx.heldWork.due(ctx.clock.now())) {
    try {
      await requeueLostWork(ctx, entry.nodeId, entry.reason);
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
async function requeueLostWork(ctx: CoordinatorContext, nodeId: string, reason: string): Promise<void> {
  const name = ctx.roster.get(nodeId)?.name ?? nodeId;
  const requeued = await requeueNodeTasks(ctx, nodeId, `node ${name} lost: ${reason}`);
  if (requeued > 0) ctx.log.info(`requeued ${requeued} task(s) of node ${name}`, { nodeId });
}
