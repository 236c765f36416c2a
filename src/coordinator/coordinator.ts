/**
 * Coordinator — the master's fleet manager and the FleetService the API talks to. A facade:
 * it builds the parts (roster, hub, membership, heartbeat monitor, dispatcher, results,
 * commands) around one shared context, owns their lifecycle, and implements FleetService by
 * delegating. Everything comes in through the constructor; nothing is global.
 */
import { z } from 'zod';
import {
  ACTIVE_TASK_STATES, newId, NotFoundError, parseOrThrow,
  type FleetEvent, type FleetNode, type NewTaskSpec, type NodeRole, type Task, type TaskLogChunk,
} from '../core/index.js';
import { systemClock, type Clock } from '../engine/ports.js';
import { estimateKeyOf, type Scheduler } from '../scheduler/index.js';
import { PROTOCOL_VERSION, type AgentConfig, type EmergencyTier } from '../rpc/messages.js';
import type { AgentConnection } from '../rpc/server/index.js';
import type { Backbone, TaskFilter } from '../store/backbone.js';
import { ActiveIndex } from './active-index.js';
import { Commands, CONFIG_KEY, DISPATCH_KEY, type DispatchState } from './commands.js';
import { AgentStreams } from './agent-streams.js';
import type { FleetState } from './fleet-state.js';
import { ProtocolGuard } from './protocol-guard.js';
import { silentLogger, type DispatchTrigger, type Logger, type Runtime } from './runtime.js';
import { Dispatcher } from './dispatcher.js';
import { CoordinatorUnavailableError } from './errors.js';
import { Failover } from './failover.js';
import { PendingQueue } from './pending-queue.js';
import { HeldWork, LeaseTerms } from './held-work.js';
import { HeartbeatMonitor } from './heartbeat-monitor.js';
import { Hub } from './hub.js';
import { Membership, type SecretPort } from './membership.js';
import { DEFAULT_SETTINGS, resolveSettings, type CoordinatorSettings, type ResolvedSettings } from './options.js';
import { RefusalBook } from './refusals.js';
import { EstimateBook, ResultHandler } from './results.js';
import { Roster } from './roster.js';
import { AuditWriter, type StoredAuditEntry } from '../access/audit-writer.js';
import { AuditCheckpointer } from './audit-checkpoints.js';
import { NodeCertificates, type NodeCertOptions } from '../access/node-certs.js';
import { AuditedOperations } from '../access/audited-operations.js';
import type { AclPolicy, AuditTrust, AuditVerification, Requester } from '../security/index.js';
import { AccessControl, actorOf } from '../access/access-control.js';
import type { CreatedJoinToken, FleetService, FleetStatus, JoinInfo } from './fleet-service.js';


/** How often heartbeats reach the store; liveness itself is judged in memory. */
const HEARTBEAT_FLUSH_MS = 1000;
/** How often held work of lost nodes is checked for an ended lease. */
const LEASE_CHECK_MS = 250;
/** The agents' way in, as the coordinator uses it (src/bin adapts the gRPC server to it). */
export interface AgentEndpoint {
  /** Starts accepting streams, each handed to `onConnection`; resolves with the `host:port` bound. */
  listen(onConnection: (connection: AgentConnection) => void): Promise<string>;
  /** Ends every stream and stops listening. Idempotent. */
  close(): Promise<void>;
}

export type CoordinatorState = 'created' | 'starting' | 'running' | 'stopping' | 'closed';

export interface CoordinatorOptions {
  backbone: Backbone;
  scheduler: Scheduler;
  /** Secret generation and hashing (security/ in production). */
  secrets: SecretPort;
  /** Default: the system clock. */
  clock?: Clock;
  /** Missing fields take DEFAULT_SETTINGS. */
  settings?: Partial<CoordinatorSettings>;
  /**
   * Where agents connect (the gRPC endpoint, wired by src/bin). The coordinator starts it once
   * it is ready to admit agents and closes it when it stops. Omitted: no listener (tests attach
   * connections directly).
   */
  agentEndpoint?: AgentEndpoint;
  /** What joining agents are told. `grpcAddress` defaults to the bound RPC address. */
  identity: { caCertPem: string; caHash: string; httpUrl: string; grpcAddress?: string };
  /**
   * Node certificates (mutual TLS): the fleet CA that signs them and their lifetime. Set it
   * together with `rpc.tls.clientCaPem`. Omitted: legacy `bnc_` credentials (tests only).
   */
  nodeCa?: NodeCertOptions;
  /** The ACL policy when there is no policy file (security/acl). Default: DEFAULT_ACL_POLICY. */
  aclPolicy?: AclPolicy;
  /**
   * The ACL policy file: loaded at start when present (invalid → start fails with its
   * ValidationError), written by `access.setAclPolicy`, watched for hand edits. Omitted: the
   * policy lives in memory only (tests).
   */
  aclPolicyFile?: string;
  log?: Logger;
  /** An emergency 'shutdown-nodes' asks the master to stop; the composition root decides how. */
  onShutdownRequested?: (reason: string) => void;
  /** The audit MAC key and signed checkpoints (audit-checkpoints.ts). Omitted: an unkeyed chain (tests). */
  audit?: { trust: AuditTrust; checkpointIntervalMs?: number };
}

const tokenOptionsSchema = z
  .object({
    role: z.enum(['worker', 'hybrid']).default('worker'),
    ttlMs: z.number().int().min(1000, 'at least 1 s').max(30 * 86_400_000, 'at most 30 days').optional(),
    createdBy: z.string().min(1).max(200),
  })
  .strict();

export class Coordinator implements FleetService {
  private lifecycle: CoordinatorState = 'created';
  private readonly runtime: Runtime;
  private readonly fleet: FleetState;
  private readonly hub: Hub;
  private readonly failover: Failover;
  private readonly tasks: PendingQueue;
  private readonly monitor: HeartbeatMonitor;
  private readonly dispatcher: Dispatcher;
  private readonly results: ResultHandler;
  private readonly commands: Commands;
  private readonly estimates: EstimateBook;
  private readonly certs: NodeCertificates | null;
  private readonly security: AuditedOperations;
  private readonly checkpoints: AuditCheckpointer | null;
  private readonly accessControl: AccessControl;
  /**
   * Users, API/login tokens, the live ACL policy and `authorize` (the API's one check): an
   * AccessService; typed as the class so the composition root can bootstrap (system actor,
   * token import) without a cast.
   */
  readonly access: AccessControl;
  private flushTimer: NodeJS.Timeout | null = null;
  private heartbeatFlushTimer: NodeJS.Timeout | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private grpcAddress: string;
  private httpUrl: string;

  constructor(private readonly options: CoordinatorOptions) {
    const { backbone } = options;
    const settings: ResolvedSettings = resolveSettings({ ...DEFAULT_SETTINGS, ...options.settings });
    // Built in dependency order: each part gets the ports it uses, none reaches back for a later one.
    const runtime: Runtime = { clock: options.clock ?? systemClock, log: options.log ?? silentLogger, settings };
    const state: FleetState = {
      roster: new Roster(backbone.nodes),
      active: new ActiveIndex(),
      refusals: new RefusalBook(),
      streams: new AgentStreams(),
      heldWork: new HeldWork(),
      leaseTerms: new LeaseTerms(settings.selfFenceAfterMs),
      lastHeard: new Map(),
      agentConfig: { heartbeatIntervalMs: settings.heartbeatIntervalMs, selfFenceAfterMs: settings.selfFenceAfterMs },
    };
    this.runtime = runtime;
    this.fleet = state;
    this.grpcAddress = options.identity.grpcAddress ?? '';
    this.httpUrl = options.identity.httpUrl;
    this.estimates = new EstimateBook(backbone.kv);
    // Every task write of the coordinator goes through the pending copy, so dispatch reads none.
    const tasks = (this.tasks = new PendingQueue(backbone.tasks));
    this.dispatcher = new Dispatcher({ runtime, state, tasks, projects: backbone.projects, scheduler: options.scheduler, estimates: this.estimates });
    const dispatch: DispatchTrigger = this.dispatcher;
    this.failover = new Failover({ runtime, state, tasks, dispatch });
    this.monitor = new HeartbeatMonitor({
      clock: runtime.clock,
      lastHeard: state.lastHeard,
      policy: () => ({
        heartbeatIntervalMs: state.agentConfig.heartbeatIntervalMs,
        missedHeartbeats: settings.missedHeartbeats,
        reconnectGraceMs: settings.reconnectGraceMs,
        startupGraceMs: settings.startupGraceMs,
      }),
      onDown: (nodeId, reason) => this.failover.markNodeDown(nodeId, reason),
      onError: (nodeId, err) => runtime.log.warn(`cannot mark node ${nodeId} down yet (retrying): ${err instanceof Error ? err.message : String(err)}`),
    });
    const guard = new ProtocolGuard({ runtime, events: backbone.events });
    this.results = new ResultHandler({ runtime, state, tasks, taskLogs: backbone.taskLogs, estimates: this.estimates, dispatch, guard });
    this.certs = options.nodeCa ? new NodeCertificates(backbone.kv, options.nodeCa) : null;
    const audit = new AuditWriter(backbone.events, () => runtime.clock.now(), options.audit?.trust ?? null);
    this.checkpoints = options.audit
      ? new AuditCheckpointer({ writer: audit, trust: options.audit.trust, streams: state.streams, now: () => runtime.clock.now(), log: runtime.log, ...(options.audit.checkpointIntervalMs ? { intervalMs: options.audit.checkpointIntervalMs } : {}) })
      : null;
    this.security = new AuditedOperations({ audit, log: runtime.log });
    this.access = this.accessControl = new AccessControl({
      kv: backbone.kv,
      joinTokens: backbone.joinTokens,
      security: this.security,
      now: () => runtime.clock.now(),
      log: runtime.log,
      policyFile: options.aclPolicyFile ?? null,
      ...(options.aclPolicy ? { defaultPolicy: options.aclPolicy } : {}),
    });
    const access = this.accessControl;
    const membership = new Membership({
      runtime, state, tasks, joinTokens: backbone.joinTokens, events: backbone.events, dispatch, secrets: options.secrets, certs: this.certs,
    });
    this.hub = new Hub({
      runtime, state, membership, monitor: this.monitor, results: this.results, failover: this.failover, audit, guard, dispatch,
      // Read per message: a policy change (CLI, API or a hand edit of the file) applies at once.
      policy: () => access.aclPolicy(),
      accepting: () => this.lifecycle === 'running',
    });
    this.commands = new Commands({
      runtime, state, kv: backbone.kv, events: backbone.events, tasks,
      dispatcher: this.dispatcher, monitor: this.monitor, estimates: this.estimates, failover: this.failover, certs: this.certs,
      onShutdownRequested: (reason) => {
        // Give the emergencyShutdown frames a moment to reach the agents before we stop.
        setTimeout(() => options.onShutdownRequested?.(reason), 300).unref();
      },
    });
  }

  get state(): CoordinatorState {
    return this.lifecycle;
  }

  /** host:port agents dial (advertised or bound). */
  get agentAddress(): string {
    return this.grpcAddress;
  }

  get dispatchStats(): Readonly<Dispatcher['stats']> {
    return this.dispatcher.stats;
  }

  /** Loads state from the store, starts listening and the background loops. */
  async start(): Promise<void> {
    this.transition('created', 'starting');
    const { fleet, runtime } = this;
    const { backbone } = this.options;
    try {
      await fleet.roster.load();
      await this.certs?.load();
      await this.accessControl.start();
      fleet.active.clear();
      for (const task of await backbone.tasks.list({ states: [...ACTIVE_TASK_STATES] })) fleet.active.add(task, estimateKeyOf(task));
      await this.tasks.load();
      await this.estimates.load();
      const stored = await backbone.kv.get<AgentConfig>(CONFIG_KEY);
      if (stored) fleet.agentConfig = { ...fleet.agentConfig, ...stored.value };
      fleet.leaseTerms.change(fleet.agentConfig.selfFenceAfterMs, runtime.clock.now(), fleet.roster.ids());
      if ((await backbone.kv.get<DispatchState>(DISPATCH_KEY))?.value.frozen) this.dispatcher.freeze();
      // Nodes recorded as up get a grace period to reconnect before their work is requeued.
      for (const node of fleet.roster.values()) {
        if (node.status === 'ready' || node.status === 'draining' || node.status === 'joining') this.monitor.awaitReconnect(node.id);
      }
      this.failover.holdWorkOfLostNodes((nodeId) => this.monitor.isTracked(nodeId));
      if (this.options.agentEndpoint) {
        const bound = await this.options.agentEndpoint.listen((connection) => this.attach(connection));
        if (!this.options.identity.grpcAddress) this.grpcAddress = bound;
      }
    } catch (err) {
      this.accessControl.close();
      this.lifecycle = 'closed';
      throw err;
    }
    this.monitor.start();
    this.dispatcher.start();
    await this.checkpoints?.start();
    this.flushTimer = setInterval(() => void this.flushEstimates(), runtime.settings.estimatesFlushMs);
    this.flushTimer.unref();
    this.heartbeatFlushTimer = setInterval(() => void this.flushHeartbeats(), HEARTBEAT_FLUSH_MS);
    this.heartbeatFlushTimer.unref();
    this.leaseTimer = setInterval(() => void this.failover.requeueHeldWork(), LEASE_CHECK_MS);
    this.leaseTimer.unref();
    this.lifecycle = 'running';
    runtime.log.info(`coordinator running; agents dial ${this.grpcAddress || '(no listener)'}`);
  }

  /** The API's URL, once it listens: used in the join commands handed out. */
  setHttpUrl(url: string): void {
    this.httpUrl = url.replace(/\/+$/, '');
  }

  /** Hands an agent stream to the hub (the RPC server does this; tests may too). */
  attach(connection: AgentConnection): void {
    this.hub.accept(connection);
  }

  /** Stops loops and streams; leaves the backbone open (its owner closes it). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.lifecycle = 'stopping';
      this.dispatcher.stop();
      this.monitor.stop();
      this.accessControl.close();
      if (this.flushTimer) clearInterval(this.flushTimer);
      if (this.heartbeatFlushTimer) clearInterval(this.heartbeatFlushTimer);
      if (this.leaseTimer) clearInterval(this.leaseTimer);
      await this.checkpoints?.close();
      this.hub.closeAll('coordinator stopping');
      await this.options.agentEndpoint?.close();
      await this.flushEstimates();
      this.lifecycle = 'closed';
    })();
    return this.closing;
  }

  // ───────────────────────── FleetService ─────────────────────────

  joinInfo(): JoinInfo {
    const { caCertPem, caHash } = this.options.identity;
    return { caCertPem, caHash, grpcAddress: this.grpcAddress, protocolVersion: PROTOCOL_VERSION };
  }

  async status(): Promise<FleetStatus> {
    const nodes = { total: 0, ready: 0, down: 0, draining: 0 };
    for (const n of this.fleet.roster.values()) {
      if (n.status === 'left') continue;
      nodes.total++;
      if (n.status === 'ready') nodes.ready++;
      else if (n.status === 'down') nodes.down++;
      else if (n.status === 'draining') nodes.draining++;
    }
    return {
      nodes,
      tasks: await this.options.backbone.tasks.counts(),
      acceptingWork: this.lifecycle === 'running' && !this.dispatcher.isFrozen,
      config: { ...this.fleet.agentConfig },
    };
  }

  listNodes(): FleetNode[] {
    return this.fleet.roster.list();
  }

  getNode(idOrName: string): FleetNode {
    const node = this.fleet.roster.find(idOrName);
    if (!node) throw new NotFoundError('node', idOrName);
    return node;
  }

  async drainNode(idOrName: string): Promise<FleetNode> {
    const node = this.getNode(idOrName);
    return this.security.privileged('node.drain', node.id, () => this.commands.drain(node));
  }

  async undrainNode(idOrName: string): Promise<FleetNode> {
    const node = this.getNode(idOrName);
    return this.security.privileged('node.undrain', node.id, () => this.commands.undrain(node));
  }

  async removeNode(idOrName: string): Promise<void> {
    const node = this.getNode(idOrName);
    await this.security.privileged('node.remove', node.id, () => this.commands.remove(node));
  }

  async setNodeRole(idOrName: string, role: Exclude<NodeRole, 'master'>): Promise<FleetNode> {
    const node = this.getNode(idOrName);
    const valid = parseOrThrow(z.enum(['worker', 'hybrid']), role, 'role');
    return this.security.privileged('node.set-role', node.id, () => this.commands.setRole(node, valid), { details: { role: valid } });
  }

  /** Closes the node's live stream at once, refuses its certificates from now on, requeues its tasks. */
  async revokeNode(idOrName: string, reason?: string): Promise<FleetNode> {
    const node = this.getNode(idOrName);
    const why = reason ?? 'revoked by the administrator';
    return this.security.privileged('node.revoke', node.id, () => this.commands.revoke(node, why), { details: { name: node.name, reason: why } });
  }

  /** The audit trail, oldest first (each entry with its event-log seq). */
  async auditLog(options?: { afterIndex?: number; limit?: number }): Promise<StoredAuditEntry[]> {
    return this.security.auditLog(options);
  }

  /** Re-checks chain, MACs and checkpoints (plus `checkpoints`, e.g. one an agent kept); names the first break. */
  async verifyAudit(checkpoints?: readonly unknown[]): Promise<AuditVerification> {
    return this.security.verifyAudit(checkpoints);
  }

  async submitTask(spec: NewTaskSpec): Promise<{ task: Task; created: boolean }> {
    return (await this.submitTasks([spec]))[0]!;
  }

  /**
   * One store call for the batch (one group commit), after its audit entry is durable
   * (fail-closed: no entry, no submission); the dispatch pass is coalesced.
   */
  async submitTasks(specs: NewTaskSpec[]): Promise<{ task: Task; created: boolean }[]> {
    this.requireRunning();
    const resolved = specs.map((s) => this.resolvePin(s));
    const projects = [...new Set(resolved.map((s) => s.project ?? null))].slice(0, 20);
    // Audited per call (a batch is one entry), stored with the submission: one commit for both.
    const outcomes = await this.security.privilegedWrite('task.submit', null, (record) => this.tasks.submitMany(resolved, this.runtime.clock.now(), { record }), {
      details: { count: resolved.length, projects },
    });
    this.dispatcher.schedule();
    return outcomes;
  }

  async listTasks(filter?: TaskFilter): Promise<Task[]> {
    return this.options.backbone.tasks.list(filter);
  }

  async getTask(id: string): Promise<Task> {
    const task = await this.options.backbone.tasks.get(id);
    if (!task) throw new NotFoundError('task', id);
    return task;
  }

  /** Why a pending task waits (the scheduler's latest reason; waiting-reasons.ts), else null. */
  waitingReason(task: Pick<Task, 'id' | 'state'>): string | null {
    return this.dispatcher.waiting.reasonFor(task, this.dispatcher.isFrozen);
  }

  /** Of `needs`, the capabilities no node of the fleet advertises. */
  unadvertisedNeeds(needs: readonly string[]): string[] {
    return this.dispatcher.waiting.unadvertised(needs);
  }

  async cancelTask(id: string, reason = 'cancelled by user'): Promise<Task> {
    return this.security.privileged('task.cancel', id, () => this.commands.cancelTask(id, reason));
  }

  async taskLogs(id: string, options?: { attempt?: number; afterSeq?: number }): Promise<TaskLogChunk[]> {
    await this.getTask(id);
    return this.options.backbone.taskLogs.read(id, options);
  }

  async createJoinToken(options: { role?: 'worker' | 'hybrid'; ttlMs?: number; createdBy: string }): Promise<CreatedJoinToken> {
    const valid = parseOrThrow(tokenOptionsSchema, options, 'join token options');
    return this.security.privileged('token.create', null, () => this.issueJoinToken(valid), { actor: this.security.actor ?? `system:${valid.createdBy}`, details: { role: valid.role } });
  }

  private async issueJoinToken(valid: z.infer<typeof tokenOptionsSchema>): Promise<CreatedJoinToken> {
    const now = this.runtime.clock.now();
    const token = this.options.secrets.generateSecret('bjt_');
    const record = await this.options.backbone.joinTokens.create({
      id: newId('tok'),
      hash: this.options.secrets.hashSecret(token),
      role: valid.role,
      createdAt: now,
      expiresAt: now + (valid.ttlMs ?? this.runtime.settings.joinTokenTtlMs),
      createdBy: valid.createdBy,
    });
    const { caHash } = this.options.identity;
    const httpUrl = this.httpUrl;
    return {
      id: record.id,
      token,
      role: record.role,
      expiresAt: record.expiresAt,
      caHash,
      join: `bitacora join ${httpUrl} --token ${token} --ca-hash ${caHash}`,
    };
  }

  async updateConfiguration(patch: Partial<AgentConfig>): Promise<AgentConfig> {
    return this.security.privileged('config.update', null, () => this.commands.updateConfiguration(patch), { details: { patch } });
  }

  async emergencyShutdown(tier: EmergencyTier, reason: string): Promise<void> {
    const valid = parseOrThrow(z.enum(['stop-dispatch', 'cancel-all', 'shutdown-nodes']), tier, 'emergency tier');
    await this.security.privileged('fleet.emergency-shutdown', null, () => this.commands.emergencyShutdown(valid, reason), { details: { tier: valid, reason } });
  }

  /** Lifts a 'stop-dispatch' (or any tier's freeze): assignments resume. */
  async resumeDispatch(): Promise<void> {
    await this.security.privileged('fleet.resume-dispatch', null, () => this.commands.resumeDispatch());
  }

  subscribe(afterSeq: number, listener: (event: FleetEvent) => void): () => void {
    return this.options.backbone.events.watch(afterSeq, listener);
  }

  subscribeLogs(listener: (chunk: TaskLogChunk) => void): () => void {
    return this.results.subscribeLogs(listener);
  }

  /**
   * A view of this coordinator whose privileged operations are audited as done by `requester`:
   * the same object underneath (one lifecycle, one state), only its AuditedOperations records another
   * actor. Cheap enough to make per request. Not for lifecycle calls (start/close): it is typed
   * as a FleetService for that reason.
   */
  actingFor(requester: Requester): FleetService {
    const view = Object.create(this) as Coordinator;
    Object.defineProperty(view, 'security', { value: this.security.as(actorOf(requester)), enumerable: false });
    return view;
  }

  // ───────────────────────── internals ─────────────────────────

  private resolvePin(spec: NewTaskSpec): NewTaskSpec {
    if (spec.pinnedNode === undefined || spec.pinnedNode === null) return spec;
    const node = this.fleet.roster.find(spec.pinnedNode);
    if (!node) throw new NotFoundError('node', spec.pinnedNode, { details: { field: 'pinnedNode' } });
    return node.id === spec.pinnedNode ? spec : { ...spec, pinnedNode: node.id };
  }

  /** Every node's latest heartbeat in one store write (see Roster.heartbeat). */
  private async flushHeartbeats(): Promise<void> {
    try {
      await this.fleet.roster.flushHeartbeats();
    } catch (err) {
      this.runtime.log.warn(`cannot persist heartbeats (retrying): ${(err as Error).message}`);
    }
  }

  private async flushEstimates(): Promise<void> {
    try {
      await this.estimates.flush();
    } catch (err) {
      this.runtime.log.warn(`cannot persist duration estimates: ${(err as Error).message}`);
    }
  }

  private requireRunning(): void {
    if (this.lifecycle !== 'running') throw new CoordinatorUnavailableError(`the coordinator is ${this.lifecycle}`);
  }

  private transition(from: CoordinatorState, to: CoordinatorState): void {
    if (this.lifecycle !== from) throw new CoordinatorUnavailableError(`coordinator cannot go from ${this.lifecycle} to ${to}`);
    this.lifecycle = to;
  }
}
