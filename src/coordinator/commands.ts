/**
 * Cluster commands issued from the API: UpdateConfiguration (live, persisted), the tiers of
 * EmergencyShutdown, node drain/undrain/remove/set-role and task cancellation. Each command
 * changes the store first, then tells the agents concerned.
 */
import { BitacoraError, ErrorCode, isTerminal, NotFoundError, type FleetNode, type NodeRole, type Task } from '../core/index.js';
import type { AgentConfig, EmergencyTier } from '../rpc/messages.js';
import type { CoordinatorContext } from './context.js';
import type { Dispatcher } from './dispatcher.js';
import { markNodeDown } from './failover.js';
import type { HeartbeatMonitor } from './heartbeat-monitor.js';
import type { Hub } from './hub.js';
import { applyConfigPatch } from './options.js';
import type { EstimateBook } from './results.js';

export const CONFIG_KEY = 'fleet/config';
export const DISPATCH_KEY = 'fleet/dispatch';

export interface DispatchState {
  frozen: boolean;
  tier: EmergencyTier | null;
  reason: string | null;
  at: number;
}

export interface CommandDeps {
  hub: Hub;
  dispatcher: Dispatcher;
  monitor: HeartbeatMonitor;
  estimates: EstimateBook;
  /** Called after a 'shutdown-nodes' emergency: the master stops too. */
  onShutdownRequested(reason: string): void;
}

export class Commands {
  constructor(private readonly ctx: CoordinatorContext, private readonly deps: CommandDeps) {}

  /** Validates, persists (KV `fleet/config`), applies to the monitor at once and to every agent. */
  async updateConfiguration(patch: Partial<AgentConfig>): Promise<AgentConfig> {
    const next = applyConfigPatch(this.ctx.agentConfig, patch, this.ctx.settings.missedHeartbeats);
    await this.ctx.backbone.kv.put(CONFIG_KEY, next);
    await this.ctx.backbone.events.append({ type: 'config.updated', subject: null, data: { ...next } });
    this.ctx.agentConfig = next;
    this.ctx.leaseTerms.change(next.selfFenceAfterMs, this.ctx.clock.now(), this.ctx.roster.ids());
    this.deps.hub.broadcast({ type: 'updateConfiguration', config: next });
    this.ctx.log.info('configuration updated', { ...next });
    return next;
  }

  /**
   * 'stop-dispatch': no new assignments (persisted, survives a restart, undone by resumeDispatch).
   * 'cancel-all': also cancels every assigned/running task and kills it on its node.
   * 'shutdown-nodes': also tells every agent to stop its processes and exit; then the master stops.
   */
  async emergencyShutdown(tier: EmergencyTier, reason: string): Promise<void> {
    const { ctx } = this;
    const now = ctx.clock.now();
    const text = reason.trim() || 'no reason given';
    this.deps.dispatcher.freeze();
    const state: DispatchState = { frozen: true, tier, reason: text, at: now };
    await ctx.backbone.kv.put(DISPATCH_KEY, state);
    await ctx.backbone.events.append({ type: 'fleet.shutdown', subject: null, data: { tier, reason: text } });
    ctx.log.warn(`emergency shutdown (${tier}): ${text}`);
    if (tier === 'stop-dispatch') {
      this.deps.hub.broadcast({ type: 'emergencyShutdown', tier, reason: text });
      return;
    }
    const active = await ctx.backbone.tasks.list({ states: ['assigned', 'running'] });
    // Issued together: the store gathers them into one commit.
    await Promise.all(active.map((task) => this.cancelOne(task, `emergency shutdown: ${text}`)));
    ctx.log.warn(`emergency shutdown cancelled ${active.length} task(s)`);
    this.deps.hub.broadcast({ type: 'emergencyShutdown', tier, reason: text });
    if (tier === 'shutdown-nodes') {
      for (const nodeId of [...ctx.sessions.keys()]) this.deps.monitor.forget(nodeId);
      this.deps.onShutdownRequested(text);
    }
  }

  async resumeDispatch(): Promise<void> {
    const now = this.ctx.clock.now();
    await this.ctx.backbone.kv.put(DISPATCH_KEY, { frozen: false, tier: null, reason: null, at: now } satisfies DispatchState);
    await this.ctx.backbone.events.append({ type: 'fleet.shutdown', subject: null, data: { tier: null, resumed: true } });
    this.deps.dispatcher.resume();
  }

  /** Pending tasks are cancelled at once; running ones also get killed on their node. */
  async cancelTask(id: string, reason: string): Promise<Task> {
    const task = await this.ctx.backbone.tasks.get(id);
    if (!task) throw new NotFoundError('task', id);
    if (isTerminal(task.state)) return task;
    return this.cancelOne(task, reason);
  }

  async drain(node: FleetNode): Promise<FleetNode> {
    this.requireWorkerLike(node, 'drain');
    return this.ctx.roster.setStatus(node.id, 'draining', 'drained by operator', this.ctx.clock.now());
  }

  async undrain(node: FleetNode): Promise<FleetNode> {
    this.requireWorkerLike(node, 'undrain');
    if (node.status !== 'draining') return node;
    // Back to ready only if it is connected; otherwise it is down and comes back on reconnect.
    const status = this.ctx.sessions.has(node.id) ? 'ready' : 'down';
    const next = await this.ctx.roster.setStatus(node.id, status, 'undrained by operator', this.ctx.clock.now());
    this.ctx.scheduleDispatch();
    return next;
  }

  /** worker ↔ hybrid, live: the record changes and the agent is told. */
  async setRole(node: FleetNode, role: Exclude<NodeRole, 'master'>): Promise<FleetNode> {
    this.requireWorkerLike(node, 'change the role of');
    const next = await this.ctx.roster.setRole(node.id, role, this.ctx.clock.now());
    this.ctx.sendTo(node.id, { type: 'setRole', role });
    return next;
  }

  /** Closes its stream, requeues its tasks, forgets it (its credential stops working). */
  async remove(node: FleetNode): Promise<void> {
    const { ctx } = this;
    const session = ctx.sessions.get(node.id);
    if (session) {
      ctx.sessions.delete(node.id);
      session.state = 'closed';
      session.connection.send({ type: 'error', code: ErrorCode.Forbidden, message: 'this node was removed from the fleet', fatal: true });
      session.connection.close('node removed');
    }
    this.deps.monitor.forget(node.id);
    await markNodeDown(ctx, node.id, 'removed by operator');
    await ctx.roster.remove(node.id, ctx.clock.now());
    await this.deps.estimates.forget(node.id);
  }

  private async cancelOne(task: Task, reason: string): Promise<Task> {
    const { ctx } = this;
    const held = ctx.active.remove(task.id);
    const next = await ctx.backbone.tasks.cancel(task.id, reason, ctx.clock.now());
    const nodeId = held?.nodeId ?? task.nodeId;
    if (nodeId && (task.state === 'assigned' || task.state === 'running')) {
      ctx.sendTo(nodeId, { type: 'cancelTask', taskId: task.id, attempt: task.attempt, reason });
      ctx.scheduleDispatch();
    }
    return next;
  }

  private requireWorkerLike(node: FleetNode, what: string): void {
    if (node.role === 'master') {
      throw new BitacoraError(ErrorCode.InvalidTransition, `cannot ${what} the master node ${node.name}`, { details: { nodeId: node.id } });
    }
  }
}
