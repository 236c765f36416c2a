/**
 * CommunicationHub: owns the agents' streams. Enforces the protocol's order (hello first,
 * once), routes each message to membership, the heartbeat monitor or the result handler,
 * keeps one live stream per node, and turns bad input into an `error` frame plus a
 * 'protocol.violation' event — closing only the offending stream, never the coordinator.
 */
import { BitacoraError, ErrorCode, isBitacoraError, toBitacoraError } from '../core/index.js';
import { authorize, type AclPolicy, type Operation } from '../security/index.js';
import type { FrameError } from '../rpc/errors.js';
import type { AgentMessage, CoordinatorMessage, TaskRef } from '../rpc/messages.js';
import type { AgentConnection } from '../rpc/server/index.js';
import type { AuditWriter } from './audit-writer.js';
import type { AgentSession, CoordinatorContext } from './context.js';
import { ProtocolViolationError } from './errors.js';
import type { HeartbeatMonitor } from './heartbeat-monitor.js';
import type { Admission, Membership } from './membership.js';
import type { ResultHandler } from './results.js';

/** Each agent message as the ACL operation it performs on its sender's own node. */
const NODE_OPERATIONS: Record<Exclude<AgentMessage['type'], 'hello'>, Operation> = {
  heartbeat: 'ReportStatus',
  taskStarted: 'ReportResult',
  taskOutput: 'ReportResult',
  taskFinished: 'ReportResult',
  taskRejected: 'ReportResult',
  leaving: 'ReportStatus',
  renewCertificate: 'RenewCertificate',
};

export interface HubDeps {
  membership: Membership;
  monitor: HeartbeatMonitor;
  results: ResultHandler;
  audit: AuditWriter;
  /** The ACL policy in force (read per message, so a live change applies at once). */
  policy(): AclPolicy;
  /** May the hub admit agents now? (false while stopping) */
  accepting(): boolean;
}

export class Hub {
  private readonly pending = new Set<AgentSession>();
  private deps: HubDeps | null = null;

  constructor(private readonly ctx: CoordinatorContext) {}

  /** Wired after construction because the result handler reports violations back here. */
  wire(deps: HubDeps): void {
    this.deps = deps;
  }

  /** A new stream from the RPC server. */
  accept(connection: AgentConnection): void {
    const session: AgentSession = {
      connection, state: 'awaiting-hello', nodeId: null, violations: 0, fencedSeen: new Set(),
    };
    this.pending.add(session);
    const helloTimer = setTimeout(() => {
      if (session.state === 'awaiting-hello') this.refuse(session, new ProtocolViolationError(`no hello within ${this.ctx.settings.helloTimeoutMs} ms`), true);
    }, this.ctx.settings.helloTimeoutMs);
    helloTimer.unref();
    connection.start({
      onMessage: (message) => {
        try {
          this.route(session, message);
        } catch (err) {
          // A bug or store trouble while handling one message must not take the hub down.
          this.ctx.log.error(`failed to handle ${message.type} from ${session.nodeId ?? connection.remoteAddress}: ${(err as Error).message}`, { err });
          this.reply(session, { type: 'error', code: toBitacoraError(err).code, message: `could not handle ${message.type}: ${(err as Error).message}`, fatal: false });
        }
      },
      onInvalid: (error) => this.invalidFrame(session, error),
      onClose: (reason) => {
        clearTimeout(helloTimer);
        this.closed(session, reason);
      },
    });
  }

  /** Sends to a node's live stream. */
  sendTo(nodeId: string, message: CoordinatorMessage): boolean {
    const session = this.ctx.sessions.get(nodeId);
    return session ? session.connection.send(message) : false;
  }

  broadcast(message: CoordinatorMessage): number {
    let n = 0;
    for (const session of this.ctx.sessions.values()) if (session.connection.send(message)) n++;
    return n;
  }

  /** Closes every stream (coordinator stopping). */
  closeAll(reason: string): void {
    for (const session of [...this.pending, ...this.ctx.sessions.values()]) session.connection.close(reason);
  }

  /** Records a refused frame/message; closes the stream when `fatal` or too many. Public for ResultHandler. */
  refuse(session: AgentSession, error: BitacoraError, fatal: boolean): void {
    session.violations++;
    const tooMany = session.violations >= this.ctx.settings.maxViolationsPerConnection;
    const close = fatal || tooMany;
    const address = session.connection.remoteAddress;
    if (session.violations <= this.ctx.settings.maxViolationsPerConnection) {
      try {
        this.ctx.backbone.events.append({
          type: 'protocol.violation',
          subject: session.nodeId,
          data: { code: error.code, message: error.message.slice(0, 500), address, connection: session.connection.id, closed: close },
        });
      } catch (err) {
        this.ctx.log.warn(`cannot record protocol violation: ${(err as Error).message}`);
      }
    }
    this.ctx.log.warn(`refused input from ${session.nodeId ?? address}: ${error.message}`, { code: error.code });
    const message = tooMany && !fatal ? `${error.message} (too many refused frames: closing)` : error.message;
    this.reply(session, { type: 'error', code: error.code, message: message.slice(0, 4000), fatal: close });
    if (close) session.connection.close(`protocol violation: ${error.code}`);
  }

  private route(session: AgentSession, message: AgentMessage): void {
    const deps = this.deps!;
    if (session.state === 'closed') return;
    if (session.state === 'enrolling') {
      // A stream without a client certificate carries the join hello and nothing else.
      this.deny(session, 'node.join', null, new ProtocolViolationError(`${message.type} on a join stream: a stream without a node certificate may only carry the join hello`));
      return;
    }
    if (session.state === 'awaiting-hello') {
      if (message.type !== 'hello') {
        const error = new ProtocolViolationError(`${message.type} before hello: the first message must be hello`);
        // With node certificates this is someone acting before authenticating: a denial, audited.
        if (deps.membership.certs) this.deny(session, this.entryAction(session), null, error);
        else this.refuse(session, error, true);
        return;
      }
      this.hello(session, message);
      return;
    }
    const nodeId = session.nodeId!;
    if (message.type !== 'hello' && !this.allowed(session, nodeId, NODE_OPERATIONS[message.type])) return;
    // A report about the attempt another node holds right now is that node's to make: decided
    // (and, denied, audited) against that node. An older attempt is merely stale: fenced below.
    const foreign = this.foreignHolder(nodeId, message);
    if (foreign !== null && !this.allowed(session, nodeId, 'ReportResult', foreign)) return;
    switch (message.type) {
      case 'hello':
        this.refuse(session, new ProtocolViolationError('hello sent twice on one stream'), true);
        return;
      case 'heartbeat': {
        deps.monitor.beat(nodeId);
        // Renews the agent's lease from the heartbeat's sending time (agent/master-lease.ts).
        session.connection.send({ type: 'heartbeatAck', at: message.at });
        this.ctx.roster.heartbeat(nodeId, { at: this.ctx.clock.now(), resources: message.resources, runningTasks: message.running.length });
        if (message.running.length > 0) deps.results.claims(session, nodeId, message.running);
        return;
      }
      case 'taskStarted':
        deps.monitor.beat(nodeId);
        deps.results.started(session, nodeId, message.taskId, message.attempt);
        return;
      case 'taskOutput':
        deps.monitor.beat(nodeId);
        deps.results.output(session, nodeId, message.chunks);
        return;
      case 'taskFinished':
        deps.monitor.beat(nodeId);
        deps.results.finished(session, nodeId, message.taskId, message.attempt, message.result);
        return;
      case 'taskRejected':
        deps.monitor.beat(nodeId);
        // Audited only for an attempt the node holds, so a chatty node cannot flood the trail.
        if (message.reason.startsWith(ErrorCode.Forbidden) && this.ctx.active.holder(message.taskId, message.attempt, nodeId)) {
          // The node's own allow-list (serve-only / serve-projects) refused the assignment: recorded
          // as its denial; the task is requeued like any rejection, so it is placed elsewhere or,
          // once its retries are spent, fails with this reason — it never counts as run.
          deps.audit.tryRecord(
            { actor: `node:${nodeId}`, action: 'task.refuse', target: message.taskId, outcome: 'denied', reason: message.reason.slice(0, 500), details: { attempt: message.attempt } },
            (m) => this.ctx.log.error(m),
          );
        }
        deps.results.rejected(session, nodeId, message.taskId, message.attempt, message.reason);
        return;
      case 'leaving':
        deps.monitor.beat(nodeId);
        this.leaving(session, nodeId, message.reason, message.stopped);
        return;
      case 'renewCertificate':
        void this.renew(session, nodeId, message.csrPem);
        return;
    }
  }

  private hello(session: AgentSession, hello: Extract<AgentMessage, { type: 'hello' }>): void {
    const deps = this.deps!;
    if (!deps.accepting()) {
      this.reply(session, { type: 'error', code: ErrorCode.Unavailable, message: 'coordinator is shutting down; retry later', fatal: true });
      session.connection.close('coordinator not accepting');
      return;
    }
    const { membership } = deps;
    const { connection } = session;
    if (membership.certs && connection.peer === null) {
      this.enroll(session, hello);
      return;
    }
    let admission: Admission;
    try {
      admission = membership.certs ? membership.rejoinWithCertificate(hello, connection.remoteAddress, connection.peer) : membership.admit(hello, connection.remoteAddress);
    } catch (err) {
      const error = toBitacoraError(err);
      this.audit(session, 'node.connect', hello.credential?.nodeId ?? null, 'denied', error);
      const isTokenRefusal = error.code.startsWith('BIT_ERR_TOKEN_');
      if (!isTokenRefusal && !isBitacoraError(err)) this.ctx.log.error(`hello failed: ${error.message}`, { err });
      if (isTokenRefusal) {
        // Already recorded as 'token.refused' by membership; just answer and close.
        this.reply(session, { type: 'error', code: error.code, message: error.message, fatal: true });
        session.connection.close(`join refused: ${error.code}`);
      } else {
        this.refuse(session, error, true);
      }
      session.state = 'closed';
      return;
    }
    this.activate(session, hello, admission);
  }

  /** The admitted stream becomes the node's one live stream. */
  private activate(session: AgentSession, hello: Extract<AgentMessage, { type: 'hello' }>, admission: Admission): void {
    const deps = this.deps!;
    const nodeId = admission.node.id;
    if (admission.identity) session.certificate = { role: admission.identity.role, serial: admission.identity.serial, notAfter: admission.identity.notAfter };
    this.pending.delete(session);
    // The hello's running list is the node's SyncState: refused, the node is not admitted.
    if (hello.running.length > 0) {
      session.nodeId = nodeId;
      if (!this.allowed(session, nodeId, 'SyncState', nodeId, true)) {
        session.state = 'closed';
        return;
      }
    }
    const previous = this.ctx.sessions.get(nodeId);
    if (previous && previous !== session) {
      // One live stream per node: the newer one wins (the old one is usually a dead TCP
      // connection the agent already gave up on).
      previous.state = 'closed';
      previous.connection.send({ type: 'error', code: ErrorCode.Conflict, message: 'replaced by a newer stream of the same node', fatal: true });
      previous.connection.close('replaced by a newer stream');
    }
    session.state = 'active';
    session.nodeId = nodeId;
    this.ctx.sessions.set(nodeId, session);
    // Its allow-list may have changed with the restart: let it be asked again.
    this.ctx.refusals.forgetNode(nodeId);
    session.connection.send(admission.welcome);
    // The welcome carries the current agent config: from now on the node holds the current lease.
    this.ctx.leaseTerms.welcomed(nodeId);
    if (admission.node.role !== 'master' && admission.node.role !== hello.node.role) {
      // The master's record is authoritative (a set-role may have happened while away).
      session.connection.send({ type: 'setRole', role: admission.node.role });
    }
    deps.monitor.beat(nodeId);
    this.ctx.roster.heartbeat(nodeId, { at: this.ctx.clock.now(), resources: hello.node.resources, runningTasks: hello.running.length });
    this.ctx.scheduleDispatch();
  }

  /**
   * First join on a stream without a client certificate: token + CSR → certificate, then the
   * stream ends and the agent reconnects with mutual TLS. Audited either way; if the audit
   * entry cannot be written the join is undone and refused (fail-closed).
   */
  private enroll(session: AgentSession, hello: Extract<AgentMessage, { type: 'hello' }>): void {
    const { connection } = session;
    session.state = 'enrolling';
    this.deps!.membership.enroll(hello, connection.remoteAddress).then(
      (admission) => {
        const node = admission.node;
        try {
          this.deps!.audit.record({
            actor: `node:${node.id}`, action: 'node.join', target: node.id, outcome: 'succeeded',
            details: { name: node.name, role: node.role, address: connection.remoteAddress },
          });
        } catch (err) {
          this.ctx.roster.setStatus(node.id, 'left', 'join not audited', this.ctx.clock.now());
          this.reply(session, { type: 'error', code: toBitacoraError(err).code, message: (err as Error).message, fatal: true });
          connection.close('join refused: audit unavailable');
          session.state = 'closed';
          return;
        }
        this.reply(session, admission.welcome);
        session.state = 'closed';
        connection.close('enrolled: reconnect with the node certificate');
      },
      (err: unknown) => {
        const error = toBitacoraError(err);
        if (!isBitacoraError(err)) this.ctx.log.error(`join failed: ${error.message}`, { err });
        this.deny(session, 'node.join', null, error, { nodeName: hello.node.name, role: hello.node.role });
      },
    );
  }

  /** Certificate rotation on a live mutual-TLS stream. Failures are answered, not fatal: the old certificate is still valid. */
  private async renew(session: AgentSession, nodeId: string, csrPem: string): Promise<void> {
    const { membership, audit } = this.deps!;
    if (!membership.certs) {
      this.refuse(session, new ProtocolViolationError('this coordinator does not issue node certificates'), false);
      return;
    }
    try {
      const issued = await membership.renew(nodeId, csrPem);
      audit.record({ actor: `node:${nodeId}`, action: 'node.certificate.renew', target: nodeId, outcome: 'succeeded', details: { serial: issued.serial, notAfter: issued.notAfter } });
      if (session.state === 'active') session.certificate = { ...(session.certificate ?? { role: this.ctx.roster.get(nodeId)?.role ?? 'worker' }), serial: issued.serial, notAfter: issued.notAfter };
      this.reply(session, { type: 'certificate', certificatePem: issued.certPem, notAfter: issued.notAfter });
    } catch (err) {
      const error = toBitacoraError(err);
      this.audit(session, 'node.certificate.renew', nodeId, 'denied', error);
      this.reply(session, { type: 'error', code: error.code, message: `certificate not renewed: ${error.message}`, fatal: false });
    }
  }

  /**
   * The ACL at the gRPC entry: what a node sends is an operation it performs on a target (for
   * now always itself). A denial is answered, audited and counted as a violation.
   */
  private allowed(session: AgentSession, nodeId: string, operation: Operation, targetNode = nodeId, fatal = false): boolean {
    const role = session.certificate?.role ?? this.ctx.roster.get(nodeId)?.role ?? 'worker';
    const decision = authorize(operation, { kind: 'node', nodeId, role }, { kind: 'node', nodeId: targetNode }, this.deps!.policy());
    if (decision.allowed) return true;
    const error = new BitacoraError(ErrorCode.Forbidden, decision.reason, { details: { operation } });
    this.audit(session, operation, targetNode, 'denied', error);
    this.refuse(session, error, fatal);
    return false;
  }

  /**
   * A clean stop: no more work goes to the node ('left': it said goodbye, unlike a lost node,
   * which is 'down'; it may come back with its certificate), and the attempts it stopped are
   * requeued now rather than at the end of its lease — their processes are dead, the agent
   * says, and only it can know.
   */
  private leaving(session: AgentSession, nodeId: string, reason: string, stopped: readonly TaskRef[]): void {
    const { ctx } = this;
    const node = ctx.roster.get(nodeId);
    if (node && node.status !== 'left') ctx.roster.setStatus(nodeId, 'left', `agent stopping: ${reason}`, ctx.clock.now());
    for (const ref of stopped) this.deps!.results.rejected(session, nodeId, ref.taskId, ref.attempt, `agent stopping: ${reason}`);
    ctx.log.info(`node ${node?.name ?? nodeId} is leaving (${reason}); ${stopped.length} stopped task(s) handed back`, { nodeId });
  }

  /** The other node holding the very attempt `message` reports about, if any. */
  private foreignHolder(nodeId: string, message: AgentMessage): string | null {
    const refs =
      message.type === 'taskStarted' || message.type === 'taskFinished' || message.type === 'taskRejected' ? [message]
      : message.type === 'taskOutput' ? message.chunks
      : message.type === 'leaving' ? message.stopped
      : [];
    for (const ref of refs) {
      const entry = this.ctx.active.get(ref.taskId);
      if (entry && entry.attempt === ref.attempt && entry.nodeId !== nodeId) return entry.nodeId;
    }
    return null;
  }

  /** Refuses and closes a stream for an authentication or authorization reason, audited. */
  private deny(session: AgentSession, action: string, target: string | null, error: BitacoraError, details?: Record<string, unknown>): void {
    this.audit(session, action, target, 'denied', error, details);
    this.refuse(session, error, true);
    session.state = 'closed';
  }

  /** Best effort: a denial goes ahead even when its audit entry cannot be written (the refusal is the safe side). */
  private audit(session: AgentSession, action: string, target: string | null, outcome: 'denied' | 'failed', error: BitacoraError, extra?: Record<string, unknown>): void {
    const { connection } = session;
    const actor = session.nodeId ? `node:${session.nodeId}` : connection.peer ? `peer:${connection.peer.serialNumber}` : `anonymous@${connection.remoteAddress}`;
    this.deps!.audit.tryRecord(
      { actor, action, target, outcome, reason: error.message.slice(0, 500), details: { code: error.code, address: connection.remoteAddress, ...(extra ?? {}), ...(error.details ?? {}) } },
      (m) => this.ctx.log.error(m),
    );
  }

  private invalidFrame(session: AgentSession, error: FrameError): void {
    // Before hello nothing is trusted: any bad frame ends the stream. After, one bad frame
    // is answered and the stream goes on (up to the violation limit). With node certificates a
    // bad first frame (e.g. a hello claiming the role 'master', which no agent may hold) is an
    // authentication attempt that failed: audited as a denial (once: the stream then closes).
    if (session.state === 'awaiting-hello' && this.deps?.membership.certs) {
      this.deny(session, this.entryAction(session), null, error);
      return;
    }
    this.refuse(session, error, session.state !== 'active');
  }

  /**
   * How an unauthenticated stream's denial is recorded: 'node.join' without a verified client
   * certificate, 'node.connect' with one.
   *
   * What can be audited of a TLS-level refusal: the RPC server asks for a client certificate but
   * does not require one (a first join has none), so a stream without a certificate, or with one
   * the fleet CA did not sign (treated as none: grpc-js exposes only verified certificates), does
   * reach this hub with `peer === null` and its first message is audited here — any hello that is
   * not a join, any other message, a bad frame (actor `anonymous@<address>`), one entry per stream
   * since the stream then closes; a stream that sends nothing only times out (a protocol.violation
   * event). What cannot be audited here: a client that fails the TLS handshake itself (speaks no
   * TLS, distrusts our server certificate) never becomes a stream, and grpc-js gives the
   * application no hook for it; a wrong CA pin is caught by the agent before it dials (it logs
   * BIT_ERR_CA_MISMATCH and stops). A foreign certificate cannot be told apart from no
   * certificate (no unverified peer data reaches us).
   */
  private entryAction(session: AgentSession): string {
    return session.connection.peer ? 'node.connect' : 'node.join';
  }

  private closed(session: AgentSession, reason: string): void {
    this.pending.delete(session);
    const wasActive = session.state === 'active';
    session.state = 'closed';
    const nodeId = session.nodeId;
    if (!wasActive || nodeId === null) return;
    // Only the node's current stream counts; a replaced one closing means nothing.
    if (this.ctx.sessions.get(nodeId) !== session) return;
    this.ctx.sessions.delete(nodeId);
    this.deps!.monitor.disconnected(nodeId);
    this.ctx.log.info(`stream of node ${this.ctx.roster.get(nodeId)?.name ?? nodeId} closed: ${reason}`, { nodeId });
  }

  private reply(session: AgentSession, message: CoordinatorMessage): void {
    try {
      session.connection.send(message);
    } catch (err) {
      this.ctx.log.warn(`cannot send ${message.type}: ${(err as Error).message}`);
    }
  }
}
