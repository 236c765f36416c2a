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
import { startRpcServer, type AgentConnection, type RpcServer, type RpcServerTls } from '../rpc/server/index.js';
import type { KeepaliveOptions } from '../rpc/transport.js';
import type { Backbone, TaskFilter } from '../store/backbone.js';
import { ActiveIndex } from './active-index.js';
import { Commands, CONFIG_KEY, DISPATCH_KEY, type DispatchState } from './commands.js';
import { silentLogger, type CoordinatorContext, type Logger } from './context.js';
import { Dispatcher } from './dispatcher.js';
import { CoordinatorUnavailableError } from './errors.js';
import { holdWorkOfLostNodes, markNodeDown, requeueHeldWork } from './failover.js';
import { HeldWork, leaseEndsAt, LeaseTerms } from './held-work.js';
import { HeartbeatMonitor } from './heartbeat-monitor.js';
import { Hub } from './hub.js';
import { Membership, type SecretPort } from './membership.js';
import { DEFAULT_SETTINGS, resolveSettings, type CoordinatorSettings, type ResolvedSettings } from './options.js';
import { RefusalBook } from './refusals.js';
import { EstimateBook, ResultHandler } from './results.js';
import { Roster } from './roster.js';
import { AuditWriter, type StoredAuditEntry } from './audit-writer.js';
import { AuditCheckpointer } from './audit-checkpoints.js';
import { NodeCertificates, type NodeCertOptions } from './node-certs.js';
import { SecurityOps } from './security-ops.js';
import type { AclPolicy, AuditTrust, AuditVerification, Requester } from '../security/index.js';
import { AccessControl, actorOf } from './access-control.js';
import type { CreatedJoinToken, FleetService, FleetStatus, JoinInfo } from './fleet-service.js';


/** How often heartbeats reach the store; liveness itself is judged in memory. */
const HEARTBEAT_FLUSH_MS = 1000;
/** How often held work of lost nodes is checked for an ended lease. */
const LEASE_CHECK_MS = 250;
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
  /** The gRPC endpoint for agents. Omitted: no listener (tests attach connections directly). */
  rpc?: { host: string; port: number; tls: RpcServerTls; keepalive?: KeepaliveOptions };
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
  /** Runs a function as one store transaction, if the backbone can (fewer fsyncs). Default: direct call. */
  batch?: <T>(fn: () => T) => T;
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
  private readonly ctx: CoordinatorContext;
  private readonly hub: Hub;
  private readonly monitor: HeartbeatMonitor;
  private readonly dispatcher: Dispatcher;
  private readonly results: ResultHandler;
  private readonly commands: Commands;
  private readonly estimates: EstimateBook;
  private readonly certs: NodeCertificates | null;
  private readonly security: SecurityOps;
  private readonly checkpoints: AuditCheckpointer | null;
  private readonly accessControl: AccessControl;
  /**
   * Users, API/login tokens, the live ACL policy and `authorize` (the API's one check): an
   * AccessService; typed as the class so the composition root can bootstrap (system actor,
   * token import) without a cast.
   */
  readonly access: AccessControl;
  private rpc: RpcServer | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private heartbeatFlushTimer: NodeJS.Timeout | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private grpcAddress: string;
  private httpUrl: string;

  constructor(private readonly options: CoordinatorOptions) {
    const settings: ResolvedSettings = resolveSettings({ ...DEFAULT_SETTINGS, ...options.settings });
    const hubRef: { hub?: Hub } = {};
    const dispatchRef: { dispatcher?: Dispatcher } = {};
    this.ctx = {
      backbone: options.backbone,
      clock: options.clock ?? systemClock,
      log: options.log ?? silentLogger,
      settings,
      agentConfig: { heartbeatIntervalMs: settings.heartbeatIntervalMs, selfFenceAfterMs: settings.selfFenceAfterMs },
      roster: new Roster(options.backbone.nodes),
      active: new ActiveIndex(),
      refusals: new RefusalBook(),
      sessions: new Map(),
      heldWork: new HeldWork(),
      leaseTerms: new LeaseTerms(settings.selfFenceAfterMs),
      leaseEnd: (nodeId) => {
        const now = ctx.clock.now();
        return leaseEndsAt(this.monitor.lastHeardAt(nodeId) ?? now, ctx.leaseTerms.for(nodeId, now));
      },
      batch: options.batch ?? ((fn) => fn()),
      scheduleDispatch: () => dispatchRef.dispatcher?.schedule(),
      sendTo: (nodeId, message) => hubRef.hub?.sendTo(nodeId, message) ?? false,
    };
    const ctx = this.ctx;
    this.grpcAddress = options.identity.grpcAddress ?? '';
    this.httpUrl = options.identity.httpUrl;
    this.hub = hubRef.hub = new Hub(ctx);
    this.estimates = new EstimateBook(options.backbone.kv);
    this.monitor = new HeartbeatMonitor({
      clock: ctx.clock,
      policy: () => ({
        heartbeatIntervalMs: ctx.agentConfig.heartbeatIntervalMs,
        missedHeartbeats: settings.missedHeartbeats,
        reconnectGraceMs: settings.reconnectGraceMs,
        startupGraceMs: settings.startupGraceMs,
      }),
      onDown: (nodeId, reason) => markNodeDown(ctx, nodeId, reason),
      onError: (nodeId, err) => ctx.log.warn(`cannot mark node ${nodeId} down yet (retrying): ${err instanceof Error ? err.message : String(err)}`),
    });
    this.dispatcher = dispatchRef.dispatcher = new Dispatcher(ctx, { scheduler: options.scheduler, estimates: this.estimates });
    this.results = new ResultHandler(ctx, this.estimates, (session, error) => this.hub.refuse(session, error, false));
    this.certs = options.nodeCa ? new NodeCertificates(options.backbone.kv, options.nodeCa) : null;
    const audit = new AuditWriter(options.backbone.events, () => ctx.clock.now(), options.audit?.trust ?? null);
    this.checkpoints = options.audit
      ? new AuditCheckpointer({ writer: audit, trust: options.audit.trust, sessions: ctx.sessions, now: () => ctx.clock.now(), log: ctx.log, ...(options.audit.checkpointIntervalMs ? { intervalMs: options.audit.checkpointIntervalMs } : {}) })
      : null;
    this.security = new SecurityOps(ctx, audit, this.certs);
    this.access = this.accessControl = new AccessControl({
      kv: options.backbone.kv,
      joinTokens: options.backbone.joinTokens,
      security: this.security,
      now: () => ctx.clock.now(),
      log: ctx.log,
      policyFile: options.aclPolicyFile ?? null,
      ...(options.aclPolicy ? { defaultPolicy: options.aclPolicy } : {}),
    });
    const access = this.accessControl;
    this.hub.wire({
      audit,
      // Read per message: a policy change (CLI, API or a hand edit of the file) applies at once.
      policy: () => access.aclPolicy(),
      membership: new Membership(ctx, options.secrets, this.certs),
      monitor: this.monitor,
      results: this.results,
      accepting: () => this.lifecycle === 'running',
    });
    this.commands = new Commands(ctx, {
      hub: this.hub,
      dispatcher: this.dispatcher,
      monitor: this.monitor,
      estimates: this.estimates,
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
    const { ctx } = this;
    const { backbone } = this.options;
    try {
      ctx.roster.load();
      this.certs?.load();
      this.accessControl.start();
      ctx.active.clear();
      for (const task of backbone.tasks.list({ states: [...ACTIVE_TASK_STATES] })) ctx.active.add(task, estimateKeyOf(task));
      this.estimates.load();
      const stored = backbone.kv.get<AgentConfig>(CONFIG_KEY);
      if (stored) ctx.agentConfig = { ...ctx.agentConfig, ...stored.value };
      ctx.leaseTerms.change(ctx.agentConfig.selfFenceAfterMs, ctx.clock.now(), ctx.roster.ids());
      if (backbone.kv.get<DispatchState>(DISPATCH_KEY)?.value.frozen) this.dispatcher.freeze();
      // Nodes recorded as up get a grace period to reconnect before their work is requeued.
      for (const node of ctx.roster.values()) {
        if (node.status === 'ready' || node.status === 'draining' || node.status === 'joining') this.monitor.awaitReconnect(node.id);
      }
      holdWorkOfLostNodes(ctx, (nodeId) => this.monitor.isTracked(nodeId));
      if (this.options.rpc) {
        const { host, port, tls, keepalive } = this.options.rpc;
        this.rpc = await startRpcServer({ host, port, tls, onConnection: (c) => this.attach(c), ...(keepalive ? { keepalive } : {}) });
        if (!this.options.identity.grpcAddress) this.grpcAddress = this.rpc.address;
      }
    } catch (err) {
      this.accessControl.close();
      this.lifecycle = 'closed';
      throw err;
    }
    this.monitor.start();
    this.dispatcher.start();
    this.checkpoints?.start();
    this.flushTimer = setInterval(() => this.flushEstimates(), ctx.settings.estimatesFlushMs);
    this.flushTimer.unref();
    this.heartbeatFlushTimer = setInterval(() => this.flushHeartbeats(), HEARTBEAT_FLUSH_MS);
    this.heartbeatFlushTimer.unref();
    this.leaseTimer = setInterval(() => requeueHeldWork(ctx), LEASE_CHECK_MS);
    this.leaseTimer.unref();
    this.lifecycle = 'running';
    ctx.log.info(`coordinator running; agents dial ${this.grpcAddress || '(no listener)'}`);
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
      this.checkpoints?.close();
      this.hub.closeAll('coordinator stopping');
      await this.rpc?.close();
      this.flushEstimates();
      this.lifecycle = 'closed';
    })();
    return this.closing;
  }

  // ───────────────────────── FleetService ─────────────────────────

  joinInfo(): JoinInfo {
    const { caCertPem, caHash } = this.options.identity;
    return { caCertPem, caHash, grpcAddress: this.grpcAddress, protocolVersion: PROTOCOL_VERSION };
  }

  status(): FleetStatus {
    const nodes = { total: 0, ready: 0, down: 0, draining: 0 };
    for (const n of this.ctx.roster.values()) {
      if (n.status === 'left') continue;
      nodes.total++;
      if (n.status === 'ready') nodes.ready++;
      else if (n.status === 'down') nodes.down++;
      else if (n.status === 'draining') nodes.draining++;
    }
    return {
      nodes,
      tasks: this.options.backbone.tasks.counts(),
      acceptingWork: this.lifecycle === 'running' && !this.dispatcher.isFrozen,
      config: { ...this.ctx.agentConfig },
    };
  }

  listNodes(): FleetNode[] {
    return this.ctx.roster.list();
  }

  getNode(idOrName: string): FleetNode {
    const node = this.ctx.roster.find(idOrName);
    if (!node) throw new NotFoundError('node', idOrName);
    return node;
  }

  drainNode(idOrName: string): FleetNode {
    const node = this.getNode(idOrName);
    return this.security.privileged('node.drain', node.id, () => this.commands.drain(node));
  }

  undrainNode(idOrName: string): FleetNode {
    const node = this.getNode(idOrName);
    return this.security.privileged('node.undrain', node.id, () => this.commands.undrain(node));
  }

  removeNode(idOrName: string): void {
    const node = this.getNode(idOrName);
    this.security.privileged('node.remove', node.id, () => this.commands.remove(node));
  }

  setNodeRole(idOrName: string, role: Exclude<NodeRole, 'master'>): FleetNode {
    const node = this.getNode(idOrName);
    const valid = parseOrThrow(z.enum(['worker', 'hybrid']), role, 'role');
    return this.security.privileged('node.set-role', node.id, () => this.commands.setRole(node, valid), { details: { role: valid } });
  }

  /** Closes the node's live stream at once, refuses its certificates from now on, requeues its tasks. */
  revokeNode(idOrName: string, reason?: string): FleetNode {
    return this.security.revoke(this.getNode(idOrName), reason);
  }

  /** The audit trail, oldest first (each entry with its event-log seq). */
  auditLog(options?: { afterIndex?: number; limit?: number }): StoredAuditEntry[] {
    return this.security.auditLog(options);
  }

  /** Re-checks chain, MACs and checkpoints (plus `checkpoints`, e.g. one an agent kept); names the first break. */
  verifyAudit(checkpoints?: readonly unknown[]): AuditVerification {
    return this.security.verifyAudit(checkpoints);
  }

  submitTask(spec: NewTaskSpec): { task: Task; created: boolean } {
    return this.submitTasks([spec])[0]!;
  }

  /** One transaction for the batch (one fsync); the dispatch pass is coalesced. */
  submitTasks(specs: NewTaskSpec[]): { task: Task; created: boolean }[] {
    this.requireRunning();
    const resolved = specs.map((s) => this.resolvePin(s));
    const projects = [...new Set(resolved.map((s) => s.project ?? null))].slice(0, 20);
    // Audited per call (a batch is one entry), in the submission's own transaction.
    const outcomes = this.security.privilegedInBatch(this.ctx.batch, 'task.submit', null, () => this.options.backbone.tasks.submitMany(resolved, this.ctx.clock.now()), {
      details: { count: resolved.length, projects },
    });
    this.dispatcher.schedule();
    return outcomes;
  }

  listTasks(filter?: TaskFilter): Task[] {
    return this.options.backbone.tasks.list(filter);
  }

  getTask(id: string): Task {
    const task = this.options.backbone.tasks.get(id);
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

  cancelTask(id: string, reason = 'cancelled by user'): Task {
    return this.security.privileged('task.cancel', id, () => this.commands.cancelTask(id, reason));
  }

  taskLogs(id: string, options?: { attempt?: number; afterSeq?: number }): TaskLogChunk[] {
    this.getTask(id);
    return this.options.backbone.taskLogs.read(id, options);
  }

  createJoinToken(options: { role?: 'worker' | 'hybrid'; ttlMs?: number; createdBy: string }): CreatedJoinToken {
    const valid = parseOrThrow(tokenOptionsSchema, options, 'join token options');
    return this.security.privileged('token.create', null, () => this.issueJoinToken(valid), { actor: this.security.actor ?? `system:${valid.createdBy}`, details: { role: valid.role } });
  }

  private issueJoinToken(valid: z.infer<typeof tokenOptionsSchema>): CreatedJoinToken {
    const now = this.ctx.clock.now();
    const token = this.options.secrets.generateSecret('bjt_');
    const record = this.options.backbone.joinTokens.create({
      id: newId('tok'),
      hash: this.options.secrets.hashSecret(token),
      role: valid.role,
      createdAt: now,
      expiresAt: now + (valid.ttlMs ?? this.ctx.settings.joinTokenTtlMs),
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

  updateConfiguration(patch: Partial<AgentConfig>): AgentConfig {
    return this.security.privileged('config.update', null, () => this.commands.updateConfiguration(patch), { details: { patch } });
  }

  emergencyShutdown(tier: EmergencyTier, reason: string): void {
    const valid = parseOrThrow(z.enum(['stop-dispatch', 'cancel-all', 'shutdown-nodes']), tier, 'emergency tier');
    this.security.privileged('fleet.emergency-shutdown', null, () => this.commands.emergencyShutdown(valid, reason), { details: { tier: valid, reason } });
  }

  /** Lifts a 'stop-dispatch' (or any tier's freeze): assignments resume. */
  resumeDispatch(): void {
    this.security.privileged('fleet.resume-dispatch', null, () => this.commands.resumeDispatch());
  }

  subscribe(afterSeq: number, listener: (event: FleetEvent) => void): () => void {
    return this.options.backbone.events.watch(afterSeq, listener);
  }

  subscribeLogs(listener: (chunk: TaskLogChunk) => void): () => void {
    return this.results.subscribeLogs(listener);
  }

  /**
   * A view of this coordinator whose privileged operations are audited as done by `requester`:
   * the same object underneath (one lifecycle, one state), only its SecurityOps records another
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
    const node = this.ctx.roster.find(spec.pinnedNode);
    if (!node) throw new NotFoundError('node', spec.pinnedNode, { details: { field: 'pinnedNode' } });
    return node.id === spec.pinnedNode ? spec : { ...spec, pinnedNode: node.id };
  }

  /** Every node's latest heartbeat in one store write (see Roster.heartbeat). */
  private flushHeartbeats(): void {
    try {
      this.ctx.batch(() => this.ctx.roster.flushHeartbeats());
    } catch (err) {
      this.ctx.log.warn(`cannot persist heartbeats (retrying): ${(err as Error).message}`);
    }
  }

  private flushEstimates(): void {
    try {
      this.estimates.flush();
    } catch (err) {
      this.ctx.log.warn(`cannot persist duration estimates: ${(err as Error).message}`);
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
