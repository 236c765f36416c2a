/**
 * Cluster commands issued from the API: UpdateConfiguration (live, persisted), the tiers of
 * EmergencyShutdown, node drain/undrain/remove/set-role and task cancellation. Each command
 * changes the store first, then tells the agents concerned.
 */
import { BitacoraError, ErrorCode, isTerminal, NotFoundError, type FleetNode, type NodeRole, type Task } from '../core/index.js';
import type { AgentConfig, EmergencyTier } from '../rpc/messages.js';
import type { EventLog, KeyValueStore, TaskQueue } from '../store/backbone.js';
import type { NodeCertificates } from '../access/node-certs.js';
import type { Failover } from './failover.js';
import type { FleetState } from './fleet-state.js';
import type { Runtime } from './runtime.js';
import type { Dispatcher } from './dispatcher.js';
import type { HeartbeatMonitor } from './heartbeat-monitor.js';
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
  runtime: Runtime;
  state: Pick<FleetState, 'roster' | 'active' | 'streams' | 'leaseTerms' | 'agentConfig'>;
  kv: KeyValueStore;
  events: EventLog;
  tasks: TaskQueue;
  dispatcher: Dispatcher;
  monitor: HeartbeatMonitor;
  estimates: EstimateBook;
  failover: Failover;
  /** Node certificates (revocation list); null without mutual TLS (tests). */
  certs: NodeCertificates | null;
  /** Called after a 'shutdown-nodes' emergency: the master stops too. */
  onShutdownRequested(reason: string): void;
}

export class Commands {
  constructor(private readonly deps: CommandDeps) {}

  /** Validates, persists (KV `fleet/config`), applies to the monitor at once and to every agent. */
  async updateConfiguration(patch: Partial<AgentConfig>): Promise<AgentConfig> {
    const next = applyConfigPatch(this.deps.state.agentConfig, patch, this.deps.runtime.settings.missedHeartbeats);
    await this.deps.kv.put(CONFIG_KEY, next);
    await this.deps.events.append({ type: 'config.updated', subject: null, data: { ...next } });
    this.deps.state.agentConfig = next;
    this.deps.state.leaseTerms.change(next.selfFenceAfterMs, this.deps.runtime.clock.now(), this.deps.state.roster.ids());
    this.deps.state.streams.broadcast({ type: 'updateConfiguration', config: next });
    this.deps.runtime.log.info('configuration updated', { ...next });
    return next;
  }

  /**
   * 'stop-dispatch': no new assignments (persisted, survives a restart, undone by resumeDispatch).
   * 'cancel-all': also cancels every assigned/running task and kills it on its node.
   * 'shutdown-nodes': also tells every agent to stop its processes and exit; then the master stops.
   */
  async emergencyShutdown(tier: EmergencyTier, reason: string): Promise<void> {
    const ctx = this.deps;
    const now = ctx.runtime.clock.now();
    const text = reason.trim() || 'no reason given';
    this.deps.dispatcher.freeze();
    const state: DispatchState = { frozen: true, tier, reason: text, at: now };
    await ctx.kv.put(DISPATCH_KEY, state);
    await ctx.events.append({ type: 'fleet.shutdown', subject: null, data: { tier, reason: text } });
    ctx.runtime.log.warn(`emergency shutdown (${tier}): ${text}`);
    if (tier === 'stop-dispatch') {
      this.deps.state.streams.broadcast({ type: 'emergencyShutdown', tier, reason: text });
      return;
    }
    const active = await ctx.tasks.list({ states: ['assigned', 'running'] });
    // Issued together: the store gathers them into one commit.
    await Promise.all(active.map((task) => this.cancelOne(task, `emergency shutdown: ${text}`)));
    ctx.runtime.log.warn(`emergency shutdown cancelled ${active.length} task(s)`);
    this.deps.state.streams.broadcast({ type: 'emergencyShutdown', tier, reason: text });
    if (tier === 'shutdown-nodes') {
      for (const nodeId of ctx.state.streams.nodeIds()) this.deps.monitor.forget(nodeId);
      this.deps.onShutdownRequested(text);
    }
  }

  async resumeDispatch(): Promise<void> {
    const now = this.deps.runtime.clock.now();
    await this.deps.kv.put(DISPATCH_KEY, { frozen: false, tier: null, reason: null, at: now } satisfies DispatchState);
    await this.deps.events.append({ type: 'fleet.shutdown', subject: null, data: { tier: null, resumed: true } });
    this.deps.dispatcher.resume();
  }

  /** Pending tasks are cancelled at once; running ones also get killed on their node. */
  async cancelTask(id: string, reason: string): Promise<Task> {
    const task = await this.deps.tasks.get(id);
    if (!task) throw new NotFoundError('task', id);
    if (isTerminal(task.state)) return task;
    return this.cancelOne(task, reason);
  }

  async drain(node: FleetNode): Promise<FleetNode> {
    this.requireWorkerLike(node, 'drain');
    return this.deps.state.roster.setStatus(node.id, 'draining', 'drained by operator', this.deps.runtime.clock.now());
  }

  async undrain(node: FleetNode): Promise<FleetNode> {
    this.requireWorkerLike(node, 'undrain');
    if (node.status !== 'draining') return node;
    // Back to ready only if it is connected; otherwise it is down and comes back on reconnect.
    const status = this.deps.state.streams.has(node.id) ? 'ready' : 'down';
    const next = await this.deps.state.roster.setStatus(node.id, status, 'undrained by operator', this.deps.runtime.clock.now());
    this.deps.dispatcher.schedule();
    return next;
  }

  /** worker ↔ hybrid, live: the record changes and the agent is told. */
  async setRole(node: FleetNode, role: Exclude<NodeRole, 'master'>): Promise<FleetNode> {
    this.requireWorkerLike(node, 'change the role of');
    const next = await this.deps.state.roster.setRole(node.id, role, this.deps.runtime.clock.now());
    this.deps.state.streams.send(node.id, { type: 'setRole', role });
    return next;
  }

  /** Closes its stream, requeues its tasks, forgets it (its credential stops working). */
  async remove(node: FleetNode): Promise<void> {
    const ctx = this.deps;
    ctx.state.streams.expel(node.id, { code: ErrorCode.Forbidden, message: 'this node was removed from the fleet' }, 'node removed');
    this.deps.monitor.forget(node.id);
    await this.deps.failover.markNodeDown(node.id, 'removed by operator');
    await ctx.state.roster.remove(node.id, ctx.runtime.clock.now());
    await this.deps.estimates.forget(node.id);
  }

  /**
   * Revokes `node`: its certificates (node id and every serial issued) are refused from now on
   * — persisted first —, its live stream gets a fatal CertificateRevoked error and is closed
   * at once, it is marked down and its tasks are requeued, and it leaves the fleet.
   */
  async revoke(node: FleetNode, reason: string): Promise<FleetNode> {
    const { state, runtime } = this.deps;
    const now = runtime.clock.now();
    const serials = (await this.deps.certs?.revoke(node.id, reason, now)) ?? [];
    state.streams.expel(node.id, { code: ErrorCode.CertificateRevoked, message: `this node was revoked: ${reason}` }, 'node revoked');
    await this.deps.failover.markNodeDown(node.id, `revoked: ${reason}`);
    const current = state.roster.get(node.id);
    const gone = current?.status === 'left' ? current : await state.roster.setStatus(node.id, 'left', `revoked: ${reason}`, now);
    runtime.log.warn(`node ${node.name} revoked (${serials.length} certificate serial(s) refused from now on)`, { nodeId: node.id });
    return gone;
  }

  private async cancelOne(task: Task, reason: string): Promise<Task> {
    const ctx = this.deps;
    const held = ctx.state.active.remove(task.id);
    const next = await ctx.tasks.cancel(task.id, reason, ctx.runtime.clock.now());
    const nodeId = held?.nodeId ?? task.nodeId;
    if (nodeId && (task.state === 'assigned' || task.state === 'running')) {
      ctx.state.streams.send(nodeId, { type: 'cancelTask', taskId: task.id, attempt: task.attempt, reason });
      ctx.dispatcher.schedule();
    }
    return next;
  }

  private requireWorkerLike(node: FleetNode, what: string): void {
    if (node.role === 'master') {
      throw new BitacoraError(ErrorCode.InvalidTransition, `cannot ${what} the master node ${node.name}`, { details: { nodeId: node.id } });
    }
  }
}
