/**
 * CommunicationHub: owns the agents' streams. Enforces the protocol's order (hello first,
 * once), routes each message to membership, the heartbeat monitor or the result handler,
 * keeps one live stream per node, and turns bad input into an `error` frame plus a
 * 'protocol.violation' event — closing only the offending stream, never the coordinator.
 */
import { BitacoraError, ErrorCode, isBitacoraError, toBitacoraError } from '../core/index.js';
import { authorize, type AclPolicy, type Operation } from '../security/index.js';
import type { FrameError } from '../rpc/errors.js';
import type { AgentMessage, CoordinatorMessage, TaskRef, TaskRejectedReport, TaskReports } from '../rpc/messages.js';
import type { AgentConnection } from '../rpc/server/index.js';
import type { AuditWriter } from '../access/audit-writer.js';
import type { AgentStream } from './agent-streams.js';
import type { Failover } from './failover.js';
import type { FleetState } from './fleet-state.js';
import type { ProtocolGuard } from './protocol-guard.js';
import type { DispatchTrigger, Runtime } from './runtime.js';
import { ProtocolViolationError } from './errors.js';
import type { HeartbeatMonitor } from './heartbeat-monitor.js';
import type { Admission, Membership } from './membership.js';
import type { ResultHandler } from './results.js';

/** Each agent message as the ACL operation it performs on its sender's own node (`reports`: per item, below). */
const NODE_OPERATIONS: Record<Exclude<AgentMessage['type'], 'hello' | 'reports'>, Operation> = {
  heartbeat: 'ReportStatus',
  leaving: 'ReportStatus',
  renewCertificate: 'RenewCertificate',
};

/** Each item of a `reports` frame as the ACL operation it performs. */
const REPORT_OPERATIONS: Record<keyof TaskReports, Operation> = {
  started: 'ReportResult',
  output: 'ReportResult',
  finished: 'ReportResult',
  rejected: 'ReportResult',
};

/** Messages an agent may send while its hello is being checked; more is a violation. */
const MAX_BACKLOG = 64;

export interface HubDeps {
  runtime: Runtime;
  state: Pick<FleetState, 'roster' | 'active' | 'refusals' | 'streams' | 'leaseTerms'>;
  membership: Membership;
  monitor: HeartbeatMonitor;
  results: ResultHandler;
  failover: Failover;
  audit: AuditWriter;
  guard: ProtocolGuard;
  dispatch: DispatchTrigger;
  /** The ACL policy in force (read per message, so a live change applies at once). */
  policy(): AclPolicy;
  /** May the hub admit agents now? (false while stopping) */
  accepting(): boolean;
}

export class Hub {
  /** Streams not (yet) a node's live stream: awaiting or checking their hello, enrolling. */
  private readonly pending = new Set<AgentStream>();

  constructor(private readonly deps: HubDeps) {}

  /** A new stream from the agent endpoint. */
  accept(connection: AgentConnection): void {
    const session: AgentStream = {
      connection, state: 'awaiting-hello', nodeId: null, violations: 0, staleSeen: new Set(), backlog: [],
    };
    this.pending.add(session);
    const helloTimer = setTimeout(() => {
      if (session.state === 'awaiting-hello') this.refuse(session, new ProtocolViolationError(`no hello within ${this.deps.runtime.settings.helloTimeoutMs} ms`), true);
    }, this.deps.runtime.settings.helloTimeoutMs);
    helloTimer.unref();
    connection.start({
      onMessage: (message) => this.handle(session, message),
      onInvalid: (error) => this.invalidFrame(session, error),
      onClose: (reason) => {
        clearTimeout(helloTimer);
        this.closed(session, reason);
      },
    });
  }

  /** Closes every stream (coordinator stopping). */
  closeAll(reason: string): void {
    for (const session of [...this.pending, ...this.deps.state.streams.all()]) session.connection.close(reason);
  }

  private refuse(session: AgentStream, error: BitacoraError, fatal: boolean): void {
    this.deps.guard.refuse(session, error, fatal);
  }

  private reply(session: AgentStream, message: CoordinatorMessage): void {
    this.deps.guard.reply(session, message);
  }

  /**
   * Routes one message; its handling may continue asynchronously (store calls), but every
   * store call of a message is issued in arrival order, so a node's reports land in order.
   */
  private handle(session: AgentStream, message: AgentMessage): void {
    const failed = (err: unknown): void => {
      // A bug or store trouble while handling one message must not take the hub down.
      this.deps.runtime.log.error(`failed to handle ${message.type} from ${session.nodeId ?? session.connection.remoteAddress}: ${(err as Error).message}`, { err });
      this.reply(session, { type: 'error', code: toBitacoraError(err).code, message: `could not handle ${message.type}: ${(err as Error).message}`, fatal: false });
    };
    try {
      const handled = this.route(session, message);
      if (handled) handled.catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  private route(session: AgentStream, message: AgentMessage): Promise<void> | void {
    const { deps } = this;
    if (session.state === 'closed') return;
    if (session.state === 'admitting') {
      // The hello is being checked against the store: what follows waits for its answer.
      if (session.backlog.length >= MAX_BACKLOG) this.refuse(session, new ProtocolViolationError(`more than ${MAX_BACKLOG} messages before the welcome`), true);
      else session.backlog.push(message);
      return;
    }
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
      return this.hello(session, message);
    }
    const nodeId = session.nodeId!;
    // The ACL of a batch applies item by item (see reports()).
    if (message.type === 'reports') return this.reports(session, nodeId, message);
    if (message.type !== 'hello' && !this.allowed(session, nodeId, NODE_OPERATIONS[message.type])) return;
    // A report about the attempt another node holds right now is that node's to make: decided
    // (and, denied, audited) against that node. An older attempt is merely stale: fenced later.
    const foreign = message.type === 'leaving' ? this.foreignHolder(nodeId, message.stopped) : null;
    if (foreign !== null && !this.allowed(session, nodeId, 'ReportResult', foreign)) return;
    switch (message.type) {
      case 'hello':
        this.refuse(session, new ProtocolViolationError('hello sent twice on one stream'), true);
        return;
      case 'heartbeat': {
        deps.monitor.beat(nodeId);
        // Renews the agent's lease from the heartbeat's sending time (agent/master-lease.ts).
        session.connection.send({ type: 'heartbeatAck', at: message.at });
        this.deps.state.roster.heartbeat(nodeId, { at: this.deps.runtime.clock.now(), resources: message.resources, runningTasks: message.running.length });
        if (message.running.length > 0) return deps.results.claims(session, nodeId, message.running);
        return;
      }
      case 'leaving': {
        deps.monitor.beat(nodeId);
        // What it names but does not hold is answered like any stale or unknown report.
        return deps.failover.nodeLeaving(nodeId, message.reason, message.stopped).then((notHeld) => deps.results.notHeld(session, notHeld, 'leaving'));
      }
      case 'renewCertificate':
        void this.renew(session, nodeId, message.csrPem);
        return;
    }
  }

  /**
   * A `reports` frame, unpacked into the result handler's calls in the order the protocol
   * applies it: started, output, finished, rejected (every call's store work is issued in that
   * order, so a result lands after its start and output). The ACL applies to every item: the
   * item's operation on the sender's own node, and, for an item about the attempt another node
   * holds right now, on that node. A refused item is dropped, the others go on; each decision
   * (operation × target) is made once per frame, so a hostile frame is refused (and audited)
   * once per target, not once per item.
   */
  private reports(session: AgentStream, nodeId: string, message: TaskReports): Promise<void> {
    const { monitor, results } = this.deps;
    monitor.beat(nodeId);
    const decided = new Map<string, boolean>();
    const decide = (operation: Operation, target: string): boolean => {
      const key = `${operation} ${target}`;
      let allowed = decided.get(key);
      if (allowed === undefined) decided.set(key, (allowed = this.allowed(session, nodeId, operation, target)));
      return allowed;
    };
    const may = (list: keyof TaskReports, ref: TaskRef): boolean => {
      if (session.state !== 'active') return false; // refused often enough to be closed mid-frame
      const operation = REPORT_OPERATIONS[list];
      if (!decide(operation, nodeId)) return false;
      const foreign = this.foreignHolder(nodeId, [ref]);
      return foreign === null || decide(operation, foreign);
    };
    const handled: Array<Promise<void>> = [];
    for (const r of message.started) if (may('started', r)) handled.push(results.started(session, nodeId, r.taskId, r.attempt));
    const output = message.output.filter((chunk) => may('output', chunk));
    if (output.length > 0) handled.push(results.output(session, nodeId, output));
    for (const r of message.finished) if (may('finished', r)) handled.push(results.finished(session, nodeId, r.taskId, r.attempt, r.result));
    for (const r of message.rejected) if (may('rejected', r)) handled.push(this.rejected(session, nodeId, r));
    return Promise.all(handled).then(() => undefined);
  }

  private rejected(session: AgentStream, nodeId: string, report: TaskRejectedReport): Promise<void> {
    const { audit, results } = this.deps;
    // Audited only for an attempt the node holds, so a chatty node cannot flood the trail.
    if (report.reason.startsWith(ErrorCode.Forbidden) && this.deps.state.active.holder(report.taskId, report.attempt, nodeId)) {
      // The node's own allow-list (serve-only / serve-projects) refused the assignment: recorded
      // as its denial; the task is requeued like any rejection, so it is placed elsewhere or,
      // once its retries are spent, fails with this reason — it never counts as run.
      void audit.tryRecord(
        { actor: `node:${nodeId}`, action: 'task.refuse', target: report.taskId, outcome: 'denied', reason: report.reason.slice(0, 500), details: { attempt: report.attempt } },
        (m) => this.deps.runtime.log.error(m),
      );
    }
    return results.rejected(session, nodeId, report.taskId, report.attempt, report.reason);
  }

  private async hello(session: AgentStream, hello: Extract<AgentMessage, { type: 'hello' }>): Promise<void> {
    const { deps } = this;
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
    session.state = 'admitting';
    try {
      admission = membership.certs ? await membership.rejoinWithCertificate(hello, connection.remoteAddress, connection.peer) : await membership.admit(hello, connection.remoteAddress);
    } catch (err) {
      session.backlog.length = 0;
      if (session.state !== 'admitting') return; // the stream closed meanwhile
      const error = toBitacoraError(err);
      await this.audit(session, 'node.connect', hello.credential?.nodeId ?? null, 'denied', error);
      const isTokenRefusal = error.code.startsWith('BIT_ERR_TOKEN_');
      if (!isTokenRefusal && !isBitacoraError(err)) this.deps.runtime.log.error(`hello failed: ${error.message}`, { err });
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
    if (session.state !== 'admitting') {
      // The stream closed while the hello was checked: the node counts as disconnected (grace, then down).
      this.deps.monitor.disconnected(admission.node.id);
      return;
    }
    this.activate(session, hello, admission);
    // What the agent sent while its hello was checked, in order.
    for (const message of session.backlog.splice(0)) this.handle(session, message);
  }

  /** The admitted stream becomes the node's one live stream. */
  private activate(session: AgentStream, hello: Extract<AgentMessage, { type: 'hello' }>, admission: Admission): void {
    const { deps } = this;
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
    const previous = this.deps.state.streams.get(nodeId);
    if (previous && previous !== session) {
      // One live stream per node: the newer one wins (the old one is usually a dead TCP
      // connection the agent already gave up on).
      previous.state = 'closed';
      previous.connection.send({ type: 'error', code: ErrorCode.Conflict, message: 'replaced by a newer stream of the same node', fatal: true });
      previous.connection.close('replaced by a newer stream');
    }
    session.state = 'active';
    session.nodeId = nodeId;
    this.deps.state.streams.set(nodeId, session);
    // Its allow-list may have changed with the restart: let it be asked again.
    this.deps.state.refusals.forgetNode(nodeId);
    session.connection.send(admission.welcome);
    // The welcome carries the current agent config: from now on the node holds the current lease.
    this.deps.state.leaseTerms.welcomed(nodeId);
    if (admission.node.role !== 'master' && admission.node.role !== hello.node.role) {
      // The master's record is authoritative (a set-role may have happened while away).
      session.connection.send({ type: 'setRole', role: admission.node.role });
    }
    deps.monitor.beat(nodeId);
    this.deps.state.roster.heartbeat(nodeId, { at: this.deps.runtime.clock.now(), resources: hello.node.resources, runningTasks: hello.running.length });
    this.deps.dispatch.schedule();
  }

  /**
   * First join on a stream without a client certificate: token + CSR → certificate, then the
   * stream ends and the agent reconnects with mutual TLS. Audited either way; if the audit
   * entry cannot be written the join is undone and refused (fail-closed).
   */
  private enroll(session: AgentStream, hello: Extract<AgentMessage, { type: 'hello' }>): void {
    const { connection } = session;
    session.state = 'enrolling';
    this.deps.membership.enroll(hello, connection.remoteAddress).then(
      async (admission) => {
        const node = admission.node;
        try {
          await this.deps.audit.record({
            actor: `node:${node.id}`, action: 'node.join', target: node.id, outcome: 'succeeded',
            details: { name: node.name, role: node.role, address: connection.remoteAddress },
          });
        } catch (err) {
          await this.deps.state.roster.setStatus(node.id, 'left', 'join not audited', this.deps.runtime.clock.now());
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
        if (!isBitacoraError(err)) this.deps.runtime.log.error(`join failed: ${error.message}`, { err });
        this.deny(session, 'node.join', null, error, { nodeName: hello.node.name, role: hello.node.role });
      },
    );
  }

  /** Certificate rotation on a live mutual-TLS stream. Failures are answered, not fatal: the old certificate is still valid. */
  private async renew(session: AgentStream, nodeId: string, csrPem: string): Promise<void> {
    const { membership, audit } = this.deps;
    if (!membership.certs) {
      this.refuse(session, new ProtocolViolationError('this coordinator does not issue node certificates'), false);
      return;
    }
    try {
      const issued = await membership.renew(nodeId, csrPem);
      await audit.record({ actor: `node:${nodeId}`, action: 'node.certificate.renew', target: nodeId, outcome: 'succeeded', details: { serial: issued.serial, notAfter: issued.notAfter } });
      if (session.state === 'active') session.certificate = { ...(session.certificate ?? { role: this.deps.state.roster.get(nodeId)?.role ?? 'worker' }), serial: issued.serial, notAfter: issued.notAfter };
      this.reply(session, { type: 'certificate', certificatePem: issued.certPem, notAfter: issued.notAfter });
    } catch (err) {
      const error = toBitacoraError(err);
      await this.audit(session, 'node.certificate.renew', nodeId, 'denied', error);
      this.reply(session, { type: 'error', code: error.code, message: `certificate not renewed: ${error.message}`, fatal: false });
    }
  }

  /**
   * The ACL at the gRPC entry: what a node sends is an operation it performs on a target (for
   * now always itself). A denial is answered, audited and counted as a violation.
   */
  private allowed(session: AgentStream, nodeId: string, operation: Operation, targetNode = nodeId, fatal = false): boolean {
    const role = session.certificate?.role ?? this.deps.state.roster.get(nodeId)?.role ?? 'worker';
    const decision = authorize(operation, { kind: 'node', nodeId, role }, { kind: 'node', nodeId: targetNode }, this.deps.policy());
    if (decision.allowed) return true;
    const error = new BitacoraError(ErrorCode.Forbidden, decision.reason, { details: { operation } });
    const audited = this.audit(session, operation, targetNode, 'denied', error);
    // A stream that ends for it ends once the denial is on record.
    if (fatal) void audited.finally(() => this.refuse(session, error, true));
    else this.refuse(session, error, false);
    return false;
  }

  /** The other node holding the very attempt one of `refs` is about, if any. */
  private foreignHolder(nodeId: string, refs: readonly TaskRef[]): string | null {
    for (const ref of refs) {
      const entry = this.deps.state.active.get(ref.taskId);
      if (entry && entry.attempt === ref.attempt && entry.nodeId !== nodeId) return entry.nodeId;
    }
    return null;
  }

  /** Refuses and closes a stream for an authentication or authorization reason, audited. */
  private deny(session: AgentStream, action: string, target: string | null, error: BitacoraError, details?: Record<string, unknown>): void {
    // Nothing more is handled on this stream; it ends once the denial is on record.
    session.state = 'closed';
    void this.audit(session, action, target, 'denied', error, details).finally(() => this.refuse(session, error, true));
  }

  /** Best effort: a denial goes ahead even when its audit entry cannot be written (the refusal is the safe side). */
  private audit(session: AgentStream, action: string, target: string | null, outcome: 'denied' | 'failed', error: BitacoraError, extra?: Record<string, unknown>): Promise<void> {
    const { connection } = session;
    const actor = session.nodeId ? `node:${session.nodeId}` : connection.peer ? `peer:${connection.peer.serialNumber}` : `anonymous@${connection.remoteAddress}`;
    return this.deps.audit.tryRecord(
      { actor, action, target, outcome, reason: error.message.slice(0, 500), details: { code: error.code, address: connection.remoteAddress, ...(extra ?? {}), ...(error.details ?? {}) } },
      (m) => this.deps.runtime.log.error(m),
    );
  }

  private invalidFrame(session: AgentStream, error: FrameError): void {
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
  private entryAction(session: AgentStream): string {
    return session.connection.peer ? 'node.connect' : 'node.join';
  }

  private closed(session: AgentStream, reason: string): void {
    this.pending.delete(session);
    const wasActive = session.state === 'active';
    session.state = 'closed';
    const nodeId = session.nodeId;
    if (!wasActive || nodeId === null) return;
    // Only the node's current stream counts; a replaced one closing means nothing.
    if (this.deps.state.streams.get(nodeId) !== session) return;
    this.deps.state.streams.delete(nodeId);
    this.deps.monitor.disconnected(nodeId);
    this.deps.runtime.log.info(`stream of node ${this.deps.state.roster.get(nodeId)?.name ?? nodeId} closed: ${reason}`, { nodeId });
  }

}
