/**
 * CommunicationHub: owns the agents' streams. Enforces the protocol's order (hello first,
 * once), routes each message to membership, the heartbeat monitor or the result handler,
 * keeps one live stream per node, and turns bad input into an `error` frame plus a
 * 'protocol.violation' event — closing only the offending stream, never the coordinator.
 */
import { ErrorCode, isBitacoraError, toBitacoraError, type BitacoraError } from '../core/index.js';
import type { FrameError } from '../rpc/errors.js';
import type { AgentMessage, CoordinatorMessage } from '../rpc/messages.js';
import type { AgentConnection } from '../rpc/server/index.js';
import type { AgentSession, CoordinatorContext } from './context.js';
import { ProtocolViolationError } from './errors.js';
import type { HeartbeatMonitor } from './heartbeat-monitor.js';
import type { Membership } from './membership.js';
import type { ResultHandler } from './results.js';

/** Heartbeats are written to the store at most this often per node; liveness itself is in memory. */
const HEARTBEAT_PERSIST_MS = 1000;

export interface HubDeps {
  membership: Membership;
  monitor: HeartbeatMonitor;
  results: ResultHandler;
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
      connection, state: 'awaiting-hello', nodeId: null, violations: 0, fencedSeen: new Set(), lastBeatPersistedAt: 0,
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
    if (session.state === 'awaiting-hello') {
      if (message.type !== 'hello') {
        this.refuse(session, new ProtocolViolationError(`${message.type} before hello: the first message must be hello`), true);
        return;
      }
      this.hello(session, message);
      return;
    }
    const nodeId = session.nodeId!;
    switch (message.type) {
      case 'hello':
        this.refuse(session, new ProtocolViolationError('hello sent twice on one stream'), true);
        return;
      case 'heartbeat': {
        deps.monitor.beat(nodeId);
        const now = this.ctx.clock.now();
        const persist = now - session.lastBeatPersistedAt >= HEARTBEAT_PERSIST_MS;
        if (persist) session.lastBeatPersistedAt = now;
        this.ctx.roster.heartbeat(nodeId, { at: now, resources: message.resources, runningTasks: message.running.length }, persist);
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
        deps.results.rejected(session, nodeId, message.taskId, message.attempt, message.reason);
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
    let admission;
    try {
      admission = deps.membership.admit(hello, session.connection.remoteAddress);
    } catch (err) {
      const error = toBitacoraError(err);
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
    const nodeId = admission.node.id;
    this.pending.delete(session);
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
    session.connection.send(admission.welcome);
    if (admission.node.role !== 'master' && admission.node.role !== hello.node.role) {
      // The master's record is authoritative (a set-role may have happened while away).
      session.connection.send({ type: 'setRole', role: admission.node.role });
    }
    deps.monitor.beat(nodeId);
    this.ctx.roster.heartbeat(nodeId, { at: this.ctx.clock.now(), resources: hello.node.resources, runningTasks: hello.running.length }, false);
    this.ctx.scheduleDispatch();
  }

  private invalidFrame(session: AgentSession, error: FrameError): void {
    // Before hello nothing is trusted: any bad frame ends the stream. After, one bad frame
    // is answered and the stream goes on (up to the violation limit).
    this.refuse(session, error, session.state !== 'active');
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
