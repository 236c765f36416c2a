/**
 * Failover: what happens when a node is lost (missed heartbeats, stream gone past its grace,
 * removed, revoked) or leaves cleanly. A lost node is marked down at once and its stream
 * closed; its unfinished tasks wait for the end of its lease (held-work.ts) — by then its agent
 * has killed them itself — and are then requeued with their attempt as fencing token, so a
 * late result from the lost node is refused while the task runs elsewhere. A node that leaves
 * cleanly hands back what it stopped, and that moves at once.
 */
import { ErrorCode } from '../core/index.js';
import type { TaskRef } from '../rpc/messages.js';
import type { TaskQueue } from '../store/backbone.js';
import type { FleetState } from './fleet-state.js';
import { leaseEndsAt } from './held-work.js';
import type { DispatchTrigger, Runtime } from './runtime.js';

export interface FailoverDeps {
  runtime: Runtime;
  state: Pick<FleetState, 'roster' | 'active' | 'streams' | 'heldWork' | 'leaseTerms' | 'lastHeard'>;
  tasks: TaskQueue;
  dispatch: DispatchTrigger;
}

export class Failover {
  constructor(private readonly deps: FailoverDeps) {}

  /** When the lease of `nodeId` ends as the master counts it: after this its agent has stopped its tasks. */
  leaseEnd(nodeId: string): number {
    const { state, runtime } = this.deps;
    const now = runtime.clock.now();
    return leaseEndsAt(state.lastHeard.get(nodeId) ?? now, state.leaseTerms.for(nodeId, now));
  }

  /** Declares `nodeId` down: status, stream, tasks. Idempotent for a node already down or gone. */
  async markNodeDown(nodeId: string, reason: string): Promise<void> {
    const { state, runtime } = this.deps;
    const node = state.roster.get(nodeId);
    if (!node) return;
    const now = runtime.clock.now();
    // The cache says 'down' at once (no assignment goes to it from here on); the write follows.
    const statusWritten = node.status !== 'down' && node.status !== 'left' ? state.roster.setStatus(nodeId, 'down', reason, now) : null;
    if (statusWritten) runtime.log.warn(`node ${node.name} is down: ${reason}`, { nodeId });
    // A silent-but-connected node (paused, partitioned) must reconnect and go through
    // SyncState, which voids the work it held; closing its stream forces that.
    state.streams.expel(nodeId, { code: ErrorCode.Unavailable, message: `node declared down: ${reason}; reconnect to resync` }, `node declared down: ${reason}`);
    await statusWritten;
    const until = this.leaseEnd(nodeId);
    if (until <= now) {
      state.heldWork.release(nodeId);
      await this.requeueLostWork(nodeId, reason);
      return;
    }
    state.heldWork.hold(nodeId, until, reason);
    const held = state.active.countOn(nodeId);
    if (held > 0) {
      runtime.log.info(`${held} task(s) of node ${node.name} move in ${until - now} ms, when its lease ends (its agent stops them by then)`, { nodeId });
    }
  }

  /**
   * A clean stop: no more work goes to the node ('left', until it comes back), and the attempts
   * it stopped are requeued now rather than at the end of its lease — their processes are
   * dead, the agent says, and only it can know. Resolves with the attempts it named but does
   * not hold (stale or unknown: the caller answers those like any such report).
   */
  async nodeLeaving(nodeId: string, reason: string, stopped: readonly TaskRef[]): Promise<TaskRef[]> {
    const { state, runtime, tasks } = this.deps;
    const node = state.roster.get(nodeId);
    // 'left': it said goodbye, unlike a lost node, which is 'down'; it may come back with its
    // certificate (a revoked one is refused by its serial, a removed one is not in the roster).
    const statusWritten = node && node.status !== 'left' ? state.roster.setStatus(nodeId, 'left', `agent stopping: ${reason}`, runtime.clock.now()) : null;
    const handedBack: TaskRef[] = [];
    const notHeld: TaskRef[] = [];
    for (const ref of stopped) (state.active.holder(ref.taskId, ref.attempt, nodeId) ? handedBack : notHeld).push(ref);
    for (const ref of handedBack) state.active.remove(ref.taskId);
    const requeued = handedBack.length > 0 ? tasks.requeueMany(handedBack.map((ref) => ({ ...ref, reason: `node refused the task: agent stopping: ${reason}` })), runtime.clock.now()) : null;
    await Promise.all([statusWritten, requeued]);
    if (handedBack.length > 0) this.deps.dispatch.schedule();
    runtime.log.info(`node ${node?.name ?? nodeId} is leaving (${reason}); ${handedBack.length} stopped task(s) handed back`, { nodeId });
    return notHeld;
  }

  /**
   * Requeues the work of lost nodes whose lease has ended (the coordinator's timer calls this).
   * A store that cannot write yet (disk full) keeps the entry for the next tick.
   */
  async requeueHeldWork(): Promise<void> {
    const { state, runtime } = this.deps;
    for (const entry of state.heldWork.due(runtime.clock.now())) {
      try {
        await this.requeueLostWork(entry.nodeId, entry.reason);
      } catch (err) {
        state.heldWork.hold(entry.nodeId, entry.until, entry.reason);
        runtime.log.warn(`cannot requeue the work of node ${entry.nodeId} yet (retrying): ${err instanceof Error ? err.message : String(err)}`, { nodeId: entry.nodeId });
      }
    }
  }

  /**
   * At a coordinator start: work the store still records on nodes nobody waits for (lost before
   * the stop, held for their lease then). Their agents have heard nothing from us since, so a
   * lease counted from now covers them.
   */
  holdWorkOfLostNodes(awaited: (nodeId: string) => boolean): void {
    const { state, runtime } = this.deps;
    const now = runtime.clock.now();
    const seen = new Set<string>();
    for (const { nodeId } of state.active.all()) {
      if (seen.has(nodeId)) continue;
      seen.add(nodeId);
      if (!awaited(nodeId)) state.heldWork.hold(nodeId, leaseEndsAt(now, state.leaseTerms.for(nodeId, now)), 'lost before the coordinator restarted');
    }
  }

  /** Requeues every task the store says `nodeId` holds. Resolves with how many were requeued. */
  async requeueNodeTasks(nodeId: string, reason: string): Promise<number> {
    const { state, tasks, runtime } = this.deps;
    const held = await tasks.activeOn(nodeId);
    for (const task of held) state.active.remove(task.id);
    // Entries the index still holds for the node (should be none) are stale by now.
    for (const entry of state.active.on(nodeId)) state.active.remove(entry.taskId);
    if (held.length === 0) return 0;
    // One store call for the whole node; a stale attempt (someone acted first) is skipped.
    const outcomes = await tasks.requeueMany(held.map((t) => ({ taskId: t.id, attempt: t.attempt, reason })), runtime.clock.now());
    const count = outcomes.filter((o) => o.ok).length;
    if (count > 0) this.deps.dispatch.schedule();
    return count;
  }

  /** Requeues a lost node's tasks now (its lease has ended), with the reason in each task's history. */
  private async requeueLostWork(nodeId: string, reason: string): Promise<void> {
    const name = this.deps.state.roster.get(nodeId)?.name ?? nodeId;
    const requeued = await this.requeueNodeTasks(nodeId, `node ${name} lost: ${reason}`);
    if (requeued > 0) this.deps.runtime.log.info(`requeued ${requeued} task(s) of node ${name}`, { nodeId });
  }
}
