/**
 * Agent — the worker runtime. Dials out to the master (works behind NAT), authenticates
 * (first join: join token + CSR on a stream without a client certificate, which yields the
 * node certificate; afterwards mutual TLS with that certificate, rotated before it expires
 * over the live stream; legacy: a stored `bnc_` credential), heartbeats, runs what it is
 * assigned through the Executor, reports through the Outbox (one `reports` frame per turn of the
 * event loop, ReportBatcher), reconnects with backoff, and
 * kills its own tasks when its lease runs out: `selfFenceAfterMs` after the sending time of the
 * last heartbeat the master acknowledged (master-lease.ts) — the master moves them only later.
 *
 * States: idle → connecting → connected ⇄ backoff → closed. `start()` resolves at the first
 * welcome and rejects when the master refuses the agent for good (wrong token, CA mismatch,
 * removed node, another protocol version); `closed` settles when the agent stops (rejects with
 * that refusal). A refusal is logged once and ends the connect loop: no retrying.
 */
import { ErrorCode, isBitacoraError, type BitacoraError, type NodeRole } from '../core/index.js';
import { systemClock, type Clock, type CommandRunner, type WorkspaceProvider } from '../engine/ports.js';
import { connectToCoordinator, type ConnectOptions, type CoordinatorLink } from '../rpc/client/index.js';
import { PROTOCOL_VERSION, type AgentConfig, type AgentMessage, type CoordinatorMessage, type TaskRef } from '../rpc/messages.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { AgentRefusedError, FATAL_CODES } from './errors.js';
import { Executor } from './executor.js';
import { resolveDialTarget } from './join-info.js';
import { deferred } from './deferred.js';
import { MasterLease } from './master-lease.js';
import { Outbox } from './outbox.js';
import { ReportBatcher } from './report-batcher.js';
import { advertisedCapabilities, SERVE_EVERYTHING, type ServePolicy } from './serve-policy.js';
import { machineResources } from './resources.js';
import { CertificateKeeper } from './certificate-keeper.js';
import { keepAuditCheckpoint } from './audit-checkpoint.js';
import { certificateFacts } from './node-identity.js';
import { loadAgentState, saveAgentState, type AgentState } from './state-file.js';

/** Heartbeats without an acknowledgement before a result is sent again on the live stream. */
const RESEND_AFTER_HEARTBEATS = 3;
/** How often the lease is checked; the master's LEASE_MARGIN_MS covers this delay. */
const SELF_FENCE_CHECK_MS = 250;
/** How long a clean stop waits for the master to take the handed-back tasks. */
const GRACEFUL_CLOSE_MS = 2000;

export type AgentLifecycle = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

export interface AgentLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface AgentOptions {
  masterUrl: string;
  dataDir: string;
  /** One-time join token; only used when no credential is stored. */
  token?: string;
  /** `sha256:…` of the fleet CA; without it (and without a stored CA) trust on first use. */
  caHash?: string;
  node: { name: string; role: Exclude<NodeRole, 'master'>; capabilities: string[]; specializations: string[]; capacity: number };
  /**
   * What this node agrees to run (capability and project allow-lists), enforced here whatever
   * the master sends; only the served capabilities are advertised. Default: everything.
   */
  serve?: ServePolicy;
  runner: CommandRunner;
  workspaces: WorkspaceProvider;
  agentVersion?: string;
  clock?: Clock;
  log?: AgentLogger;
  /** Until the first welcome says otherwise. Defaults: 1000 ms heartbeats, self-fence after 15 s. */
  initialConfig?: Partial<AgentConfig>;
  backoff?: Partial<BackoffPolicy>;
  /** How often the node certificate's age is checked for rotation. Default 60000 ms. */
  certificateCheckMs?: number;
  /** Rotate once this fraction of the certificate's lifetime has passed. Default 2/3. */
  renewAtFraction?: number;
  /** A hello must be answered within this. Default 10000 ms. */
  welcomeTimeoutMs?: number;
  /** Injected transport and HTTP (tests, fault injection). */
  connect?: (options: ConnectOptions) => CoordinatorLink;
  fetch?: typeof fetch;
}

type Welcome = Extract<CoordinatorMessage, { type: 'welcome' }>;

export class Agent {
  private lifecycle: AgentLifecycle = 'idle';
  private readonly clock: Clock;
  private readonly log: AgentLogger;
  private readonly outbox: Outbox;
  /** One turn's reports → one `reports` frame. */
  private readonly reports: ReportBatcher;
  private readonly executor: Executor;
  private config: AgentConfig;
  private role: Exclude<NodeRole, 'master'>;
  private state: AgentState | null = null;
  private link: CoordinatorLink | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private fenceTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  /** Renewed by the master's answers; once it runs out our tasks may run elsewhere: we kill them. */
  private readonly lease = new MasterLease();
  /**
   * Attempts the self-fence killed since the current hello: the master may still count them as
   * running here (SyncState kept what the hello reported, or the stream stayed up while the
   * master was slow), so they are handed back (a rejection report) once we are connected.
   */
  private fencedSinceHello: TaskRef[] = [];
  /** Set once `close` begins: the attempts to hand back to the master in `leaving`. */
  private handedBack: TaskRef[] | null = null;
  private readonly firstWelcome: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void };
  private readonly done: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void };
  private fatal: Error | null = null;
  private readonly certificates: CertificateKeeper;
  /** Just enrolled: reconnect at once with the new certificate. */
  private enrolled = false;

  constructor(private readonly options: AgentOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? { info() {}, warn() {}, error() {} };
    this.config = { heartbeatIntervalMs: 1000, selfFenceAfterMs: 15_000, ...options.initialConfig };
    this.role = options.node.role;
    this.outbox = new Outbox({ now: () => this.clock.now() });
    this.reports = new ReportBatcher({ send: (m) => this.send(m) });
    this.executor = new Executor({
      runner: options.runner,
      workspaces: options.workspaces,
      outbox: this.outbox,
      clock: this.clock,
      capacity: options.node.capacity,
      serve: options.serve ?? SERVE_EVERYTHING,
      reject: (ref, reason) => {
        if (reason.startsWith('BIT_ERR_FORBIDDEN')) this.log.warn(`refused task ${ref.taskId} (attempt ${ref.attempt}): ${reason}`);
        this.reject(ref, reason);
      },
      onError: (message) => this.log.error(message),
    });
    this.certificates = new CertificateKeeper({
      nodeName: options.node.name,
      clock: this.clock,
      log: this.log,
      ...(options.certificateCheckMs !== undefined ? { checkMs: options.certificateCheckMs } : {}),
      ...(options.renewAtFraction !== undefined ? { renewAtFraction: options.renewAtFraction } : {}),
      current: () => this.state,
      send: (m) => this.send(m),
    });
    this.firstWelcome = deferred();
    this.done = deferred();
    // Callers may await only one of them; never let the other become an unhandled rejection.
    this.firstWelcome.promise.catch(() => {});
    this.done.promise.catch(() => {});
  }

  get status(): AgentLifecycle {
    return this.lifecycle;
  }

  get closed(): Promise<void> {
    return this.done.promise;
  }

  nodeId(): string | null {
    return this.state?.nodeId ?? null;
  }

  /** Tasks in progress (attempts), for tests and status output. */
  running(): TaskRef[] {
    return this.executor.refs();
  }

  /** Loads stored identity and starts the connect loop. Resolves at the first welcome. */
  start(): Promise<void> {
    if (this.lifecycle !== 'idle') return this.firstWelcome.promise;
    try {
      this.state = loadAgentState(this.options.dataDir);
    } catch (err) {
      this.fail(err as Error);
      return this.firstWelcome.promise;
    }
    if (this.state?.role) this.role = this.state.role;
    // The certificate, not the config, says which role this node may claim.
    const facts = this.state?.certPem ? certificateFacts(this.state.certPem) : null;
    if (facts && facts.role !== 'master') this.role = facts.role;
    if (!this.state?.certPem && !this.state?.credentialSecret && !this.options.token) {
      this.fail(new AgentRefusedError('BIT_ERR_UNAUTHENTICATED', `no stored credential in ${this.options.dataDir} and no --token: nothing to join with`));
      return this.firstWelcome.promise;
    }
    this.armSelfFence();
    void this.loop();
    return this.firstWelcome.promise;
  }

  /** Stops tasks (their results are dropped: the master requeues them), closes the stream. Idempotent. */
  async close(reason = 'agent stopping'): Promise<void> {
    if (this.lifecycle === 'closed') return this.done.promise.catch(() => {});
    const wasConnected = this.lifecycle === 'connected';
    // This turn's reports (a result that just came in) go out before anything stops.
    if (wasConnected) this.reports.flush();
    this.setState('closed');
    this.executor.refuseNew();
    this.stopTimers();
    this.wake?.();
    this.handedBack = this.executor.refs();
    await this.executor.stopAll({ drop: true });
    this.outbox.detach();
    const link = this.link;
    if (link && wasConnected) {
      // Their processes are gone: hand them back (with work that arrived meanwhile), so the
      // master need not wait out our lease; it sends nothing more. Then a clean half-close.
      link.send({ type: 'leaving', reason, stopped: this.handedBack });
      await link.closeGracefully(reason, GRACEFUL_CLOSE_MS);
    }
    link?.close(reason);
    this.link = null;
    if (this.fatal) this.done.reject(this.fatal);
    else this.done.resolve();
    this.firstWelcome.reject(this.fatal ?? new Error(`agent closed before joining: ${reason}`));
  }

  // ───────────────────────── connect loop ─────────────────────────

  private async loop(): Promise<void> {
    let attempt = 0;
    while (this.lifecycle !== 'closed') {
      this.setState('connecting');
      let welcomed = false;
      try {
        const target = await resolveDialTarget(this.options.masterUrl, this.options.caHash, this.state, this.log, this.options.fetch);
        if (this.isClosed()) return;
        welcomed = await this.session(target.address, target.caCertPem, target.caHash);
      } catch (err) {
        if (this.isFatal(err)) {
          // A master refusal is logged where it arrives (handleError); a local one (CA mismatch) here.
          if (!(err instanceof AgentRefusedError)) this.log.error(`refusing the master: ${(err as BitacoraError).code}: ${(err as Error).message}`);
          return this.fail(err as Error);
        }
        this.log.warn(`cannot reach the master: ${(err as Error).message}`);
      }
      if (this.isClosed()) return;
      attempt = welcomed ? 0 : attempt + 1;
      if (this.enrolled) {
        this.enrolled = false;
        continue;
      }
      this.setState('backoff');
      await this.sleep(backoffDelay(attempt, { ...DEFAULT_BACKOFF, ...this.options.backoff }));
    }
  }

  /** One stream: hello → welcome → traffic until it closes. Resolves true if it got a welcome. */
  private async session(address: string, caCertPem: string, caHash: string): Promise<boolean> {
    const { state } = this;
    const mtls = state?.certPem && state.keyPem ? { clientKeyPem: state.keyPem, clientCertPem: state.certPem } : null;
    // First join: a fresh key whose CSR travels with the token; the key itself never leaves.
    const enrolling = mtls === null && !state?.credentialSecret;
    const csrPem = enrolling ? await this.certificates.prepareJoin() : null;
    if (this.isClosed()) return false;
    return new Promise<boolean>((resolve, reject) => {
      const link = (this.options.connect ?? connectToCoordinator)({ address, caCertPem, ...(mtls ?? {}) });
      this.link = link;
      let welcomed = false;
      let refusal: Error | null = null;
      const welcomeTimer = setTimeout(() => link.close('no welcome in time'), this.options.welcomeTimeoutMs ?? 10_000);
      welcomeTimer.unref();
      link.start({
        onMessage: (message) => {
          if (message.type === 'welcome' && message.protocolVersion !== PROTOCOL_VERSION) {
            // A master that did not refuse us itself (it should have): its frames would be misread.
            clearTimeout(welcomeTimer);
            refusal = this.versionMismatch(message.protocolVersion);
            link.close('protocol version mismatch');
            return;
          }
          if (message.type === 'welcome') {
            clearTimeout(welcomeTimer);
            welcomed = true;
            this.lease.renew(helloSentAt, this.clock.now());
            this.welcomed(message, address, caCertPem, caHash);
            return;
          }
          if (message.type === 'error') {
            refusal = this.handleError(message) ?? refusal;
            return;
          }
          if (welcomed) this.handle(message);
        },
        onInvalid: (error) => this.log.warn(`refused a frame from the master: ${error.message}`),
        onClose: (reason) => {
          clearTimeout(welcomeTimer);
          if (this.link === link) this.link = null;
          this.disconnected(reason);
          if (refusal) reject(refusal);
          else resolve(welcomed);
        },
      });
      const helloSentAt = this.clock.now();
      this.fencedSinceHello = [];
      const hello: AgentMessage = {
        type: 'hello',
        protocolVersion: PROTOCOL_VERSION,
        ...(mtls
          ? {}
          : this.state?.nodeId && this.state.credentialSecret
            ? { credential: { nodeId: this.state.nodeId, secret: this.state.credentialSecret } }
            : { joinToken: this.options.token ?? '', ...(csrPem ? { csrPem } : {}) }),
        node: {
          name: this.options.node.name,
          role: this.role,
          capabilities: advertisedCapabilities(this.options.node.capabilities, this.options.serve ?? SERVE_EVERYTHING),
          specializations: this.options.node.specializations,
          capacity: this.options.node.capacity,
          resources: machineResources(),
          agentVersion: this.options.agentVersion ?? '0.0.0',
        },
        // SyncState: what still runs plus finished attempts whose results are not acked.
        running: [...this.executor.refs(), ...this.outbox.unacknowledged()],
      };
      link.send(hello);
    });
  }

  private welcomed(welcome: Welcome, address: string, caCertPem: string, caHash: string): void {
    if (welcome.certificatePem !== undefined) {
      this.storeEnrollment(welcome, address, caCertPem, caHash);
      return;
    }
    const first = !this.state?.nodeId;
    this.state = {
      version: 1,
      masterUrl: this.options.masterUrl,
      grpcAddress: address,
      caCertPem,
      caHash,
      nodeId: welcome.nodeId,
      credentialSecret: welcome.credentialSecret ?? this.state?.credentialSecret ?? null,
      role: this.role,
      keyPem: this.state?.keyPem ?? null,
      certPem: this.state?.certPem ?? null,
    };
    saveAgentState(this.options.dataDir, this.state);
    this.config = { ...welcome.config };
    if (welcome.voidTasks.length > 0) this.executor.drop(welcome.voidTasks);
    // Connected first: `send` drops everything while not connected.
    this.setState('connected');
    this.outbox.attach(this.reports);
    this.outbox.resendAll();
    this.handBackFenced(welcome.voidTasks);
    this.armHeartbeat();
    this.certificates.arm();
    this.log.info(`${first ? 'joined' : 'reconnected to'} the fleet as ${this.options.node.name} (${welcome.nodeId})`);
    this.firstWelcome.resolve();
  }

  private handle(message: CoordinatorMessage): void {
    switch (message.type) {
      case 'executeTasks': {
        // Work that arrives after our lease ran out may already be the master's to move: never start it.
        const expired = this.lease.expired(this.clock.now(), this.config.selfFenceAfterMs);
        for (const task of message.tasks) {
          if (expired) this.reject({ taskId: task.taskId, attempt: task.attempt }, 'lease ran out (no answer from the master in time)');
          else this.executor.execute(task);
        }
        return;
      }
      case 'cancelTask':
        this.executor.cancel({ taskId: message.taskId, attempt: message.attempt });
        return;
      case 'voidTasks':
        this.executor.drop(message.tasks);
        return;
      case 'heartbeatAck':
        this.lease.renew(message.at, this.clock.now());
        return;
      case 'resultAcks':
        for (const ack of message.acks) this.outbox.ack(ack);
        return;
      case 'updateConfiguration':
        this.config = { ...this.config, ...message.config };
        this.armHeartbeat();
        this.log.info(`configuration updated: heartbeat ${this.config.heartbeatIntervalMs} ms, self-fence after ${this.config.selfFenceAfterMs} ms`);
        return;
      case 'setRole':
        if (this.state?.certPem) {
          // The role lives in the certificate: ask for one that states the new role.
          this.log.info(`role change to ${message.role} requested: renewing the node certificate`);
          void this.certificates.renewNow();
          return;
        }
        this.role = message.role;
        if (this.state) saveAgentState(this.options.dataDir, (this.state = { ...this.state, role: message.role }));
        this.log.info(`role is now ${message.role}`);
        return;
      case 'certificate':
        this.storeRenewal(message.certificatePem);
        return;
      case 'emergencyShutdown':
        this.emergency(message.tier, message.reason);
        return;
      case 'auditCheckpoint':
        try {
          keepAuditCheckpoint(this.options.dataDir, message.checkpoint);
        } catch (err) {
          this.log.warn(`cannot keep the master's audit checkpoint: ${(err as Error).message}`);
        }
        return;
      case 'welcome':
      case 'error':
        return; // handled by the session
    }
  }

  /** Returns the refusal to end the session with, for fatal codes. */
  private handleError(message: Extract<CoordinatorMessage, { type: 'error' }>): Error | null {
    if (!message.fatal) {
      this.log.warn(`master reports ${message.code}: ${message.message}`);
      return null;
    }
    if (message.code === 'BIT_ERR_UNAUTHENTICATED' && (this.state?.credentialSecret || this.state?.certPem) && this.options.token) {
      // Our identity is gone (node removed) but we were given a token: join afresh.
      this.log.warn('stored node identity refused; joining again with the given token');
      this.state = { ...this.state, nodeId: null, credentialSecret: null, keyPem: null, certPem: null };
      return null;
    }
    if (message.code === ErrorCode.ProtocolVersion) {
      this.log.error(`the master refused this agent (protocol ${PROTOCOL_VERSION}): ${message.message}; not retrying — upgrade the older side`);
      return new AgentRefusedError(message.code, message.message);
    }
    if (FATAL_CODES.has(message.code)) {
      this.log.error(`the master refused this agent: ${message.code}: ${message.message}`);
      return new AgentRefusedError(message.code, message.message);
    }
    this.log.warn(`master closed the stream: ${message.code}: ${message.message}`);
    return null;
  }

  /** The welcome came in another protocol version: a refusal of our own, logged like the master's. */
  private versionMismatch(theirs: number): AgentRefusedError {
    const message = `master speaks protocol ${theirs}, this agent speaks ${PROTOCOL_VERSION}: upgrade the older side`;
    this.log.error(`refusing the master: ${ErrorCode.ProtocolVersion}: ${message}; not retrying`);
    return new AgentRefusedError(ErrorCode.ProtocolVersion, message);
  }

  private emergency(tier: string, reason: string): void {
    this.log.warn(`emergency shutdown (${tier}): ${reason}`);
    if (tier === 'cancel-all') void this.executor.stopAll({ drop: false });
    if (tier === 'shutdown-nodes') void this.close(`emergency shutdown: ${reason}`);
  }

  private disconnected(reason: string): void {
    this.reports.clear();
    this.outbox.detach();
    this.certificates.reset();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (this.lifecycle === 'closed') return;
    // The master ends the enrollment stream once it has issued our certificate: the normal first step.
    if (this.enrolled) this.log.info('enrolled: reconnecting with the node certificate');
    else if (this.lifecycle === 'connected') this.log.warn(`stream to the master closed: ${reason}; reconnecting`);
    else this.log.warn(`cannot reach the master (retrying with backoff): ${reason}`);
  }

  // ───────────────────────── timers ─────────────────────────

  private armHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      this.send({ type: 'heartbeat', at: this.clock.now(), resources: machineResources(), running: this.executor.refs() });
      // Results the master has not acknowledged for a few heartbeats (it could not store
      // them) go again on the live stream instead of waiting for a reconnect.
      this.outbox.resendStale(RESEND_AFTER_HEARTBEATS * this.config.heartbeatIntervalMs);
    }, this.config.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  /**
   * Lease run out → kill our tasks at once (no polite SIGTERM grace: the master is about to
   * start them elsewhere), so two copies of an attempt never run at the same time.
   */
  private armSelfFence(): void {
    this.fenceTimer = setInterval(() => {
      // Live attempts only: those already dropped are being killed.
      const refs = this.executor.refs();
      if (refs.length === 0) return;
      const now = this.clock.now();
      if (!this.lease.expired(now, this.config.selfFenceAfterMs)) return;
      const silence = this.lease.silenceAt(now);
      this.log.warn(
        `no answer from the master for ${silence === null ? 'ever' : `${silence} ms`} (lease ${this.config.selfFenceAfterMs} ms): killing ${refs.length} task(s) (self-fence)`,
      );
      // Dropped, not reported: the master requeues them when our lease has ended on its side too.
      // If the stream is (still, or again) up, the master may be merely slow and still count on
      // them: once they are dead they are handed back; a hello in flight hands them back at its welcome.
      this.fencedSinceHello.push(...refs);
      void this.executor.stopAll({ drop: true, atOnce: true }).then(() => {
        if (this.lifecycle === 'connected') this.handBackFenced([]);
      });
    }, SELF_FENCE_CHECK_MS);
    this.fenceTimer.unref();
  }

  /** Hands back what the self-fence killed since the hello, but for what the master voided itself. */
  private handBackFenced(voided: readonly TaskRef[]): void {
    const key = (r: TaskRef): string => `${r.taskId}#${r.attempt}`;
    const skip = new Set(voided.map(key));
    for (const ref of this.fencedSinceHello) if (!skip.has(key(ref))) this.reject(ref, 'self-fenced (lease ran out)');
    this.fencedSinceHello = [];
  }

  /**
   * Gives an attempt back to the master, which requeues it: while stopping, in the `leaving`
   * message; otherwise as a rejection in the turn's `reports` (dropped when not connected:
   * SyncState requeues it).
   */
  private reject(ref: TaskRef, reason: string): void {
    if (this.handedBack !== null) this.handedBack.push(ref);
    else if (this.lifecycle === 'connected') this.reports.rejected({ taskId: ref.taskId, attempt: ref.attempt, reason });
  }

  private stopTimers(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.fenceTimer) clearInterval(this.fenceTimer);
    this.certificates.disarm();
    this.heartbeatTimer = this.fenceTimer = null;
  }

  // ───────────────────────── node certificate ─────────────────────────

  /** First join answered: keep key + certificate (0600), then reconnect with mutual TLS. */
  private storeEnrollment(welcome: Welcome, address: string, caCertPem: string, caHash: string): void {
    const adopted = this.certificates.acceptJoin(welcome.nodeId, welcome.certificatePem!);
    if (!adopted) return;
    this.role = adopted.role;
    this.state = {
      version: 1, masterUrl: this.options.masterUrl, grpcAddress: address, caCertPem, caHash,
      nodeId: welcome.nodeId, credentialSecret: null, role: adopted.role, keyPem: adopted.keyPem, certPem: adopted.certPem,
    };
    saveAgentState(this.options.dataDir, this.state);
    this.enrolled = true;
    this.log.info(`enrolled as ${welcome.nodeId} (${adopted.role}); certificate valid until ${new Date(adopted.notAfter).toISOString()}`);
  }

  /** The rotated certificate replaces the old one (used from the next connection on: TLS is already up). */
  private storeRenewal(certPem: string): void {
    const adopted = this.certificates.acceptRenewal(certPem);
    if (!adopted || !this.state) return;
    this.role = adopted.role;
    this.state = { ...this.state, role: adopted.role, keyPem: adopted.keyPem, certPem: adopted.certPem };
    saveAgentState(this.options.dataDir, this.state);
    this.log.info(`node certificate rotated (${adopted.role}), valid until ${new Date(adopted.notAfter).toISOString()}`);
  }

  // ───────────────────────── helpers ─────────────────────────

  private send(message: AgentMessage): boolean {
    const link = this.link;
    if (!link || this.lifecycle !== 'connected') return false;
    try {
      return link.send(message);
    } catch (err) {
      this.log.error(`cannot send ${message.type}: ${(err as Error).message}`);
      return false;
    }
  }

  private isFatal(err: unknown): boolean {
    return isBitacoraError(err) && (err instanceof AgentRefusedError || err.code === 'BIT_ERR_CA_MISMATCH');
  }

  private fail(err: Error): void {
    this.fatal = err;
    this.firstWelcome.reject(err);
    void this.close(err.message);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  // A method, not a field read, so TypeScript does not narrow the state across awaits.
  private isClosed(): boolean {
    return this.lifecycle === 'closed';
  }

  private setState(next: AgentLifecycle): void {
    if (this.lifecycle === 'closed') return;
    this.lifecycle = next;
  }
}
