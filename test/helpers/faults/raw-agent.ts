/**
 * A hand-driven agent for protocol-level fault injection: it speaks the real protocol over
 * the real TLS stream (rpc/client `connectToCoordinator`), but the test decides what it
 * sends and when — duplicated frames (byte-identical, via `sendRaw`), reordered reports,
 * results of superseded attempts, stale claims after a reconnect. A TCP proxy cannot do
 * this: it cannot see inside TLS.
 */
import { enrollNode } from '../../../src/agent/index.js';
import type { ExecuteTaskCommand } from '../../../src/rpc/messages.js';
import { connectToCoordinator, type CoordinatorLink } from '../../../src/rpc/client/index.js';
import { encodeAgentMessage } from '../../../src/rpc/codec.js';
import {
  PROTOCOL_VERSION, type AgentMessage, type CoordinatorMessage, type ResultAck, type TaskRef, type TaskReports,
} from '../../../src/rpc/messages.js';
import { waitFor } from '../processes.js';

/**
 * What RawAgent needs of a master: a MasterProcess, or an in-process master (test/security)
 * adapted to this shape.
 */
export interface RawAgentMaster {
  info: { httpUrl: string; grpcAddress: string };
  createToken(role: 'worker' | 'hybrid'): Promise<{ token: string }>;
}

export interface RawIdentity {
  keyPem: string;
  certPem: string;
}

type Welcome = Extract<CoordinatorMessage, { type: 'welcome' }>;

/** A `reports` frame carrying just the given lists. */
export function reports(lists: Partial<TaskReports>): AgentMessage {
  return { type: 'reports', started: [], output: [], finished: [], rejected: [], ...lists };
}

export class RawAgent {
  readonly received: CoordinatorMessage[] = [];
  closedReason: string | null = null;
  private constructor(
    private readonly link: CoordinatorLink,
    readonly name: string,
    /** Key and node certificate: what a restarted agent reconnects with. */
    readonly identity: RawIdentity,
  ) {}

  /**
   * Joins with a fresh token (enrolment: a certless stream trading the token and a CSR for a
   * node certificate), or reuses `identity` (a restarted agent), then opens the mutual-TLS
   * stream and says hello reporting `running` as SyncState.
   */
  static async connect(
    master: RawAgentMaster,
    options: { name: string; capacity?: number; identity?: RawIdentity; running?: TaskRef[] },
  ): Promise<RawAgent> {
    const info = (await (await fetch(`${master.info.httpUrl}/v1/join-info`)).json()) as { caCertPem: string };
    const node = {
      name: options.name, role: 'worker' as const, capabilities: [], specializations: [], capacity: options.capacity ?? 4,
      resources: { cpus: 1, memoryBytes: 1 << 30, load: 0 }, agentVersion: 'raw-test',
    };
    const identity = options.identity ?? (await enrollNode({
      address: master.info.grpcAddress, caCertPem: info.caCertPem, token: (await master.createToken('worker')).token, node,
    }));
    const link = connectToCoordinator({ address: master.info.grpcAddress, caCertPem: info.caCertPem, clientKeyPem: identity.keyPem, clientCertPem: identity.certPem });
    const agent = new RawAgent(link, options.name, identity);
    link.start({
      onMessage: (m) => agent.received.push(m),
      onInvalid: () => {},
      onClose: (reason) => (agent.closedReason = reason),
    });
    agent.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, node, running: options.running ?? [] });
    const answer = await agent.until('welcome', (m) => m.type === 'welcome' || (m.type === 'error' && m.fatal));
    if (answer.type === 'error') {
      link.close();
      throw new Error(`raw agent ${options.name} refused: ${answer.code}: ${answer.message}`);
    }
    return agent;
  }

  get welcome(): Welcome {
    return this.received.find((m): m is Welcome => m.type === 'welcome')!;
  }

  get nodeId(): string {
    return this.welcome.nodeId;
  }

  send(message: AgentMessage): void {
    if (!this.link.send(message)) throw new Error(`raw agent ${this.name}: stream closed (${this.closedReason})`);
  }

  /** Arbitrary bytes as one frame (fuzzing): false when the stream is closed. */
  sendRaw(bytes: Buffer): boolean {
    return this.link.sendRaw(bytes);
  }

  get isClosed(): boolean {
    return this.link.isClosed;
  }

  /**
   * A stream that has said nothing yet: certless (what a first join opens) or with `identity`
   * (mutual TLS, before its hello). The test sends whatever it likes on it.
   */
  static async open(master: RawAgentMaster, name: string, identity?: RawIdentity): Promise<RawAgent> {
    const info = (await (await fetch(`${master.info.httpUrl}/v1/join-info`)).json()) as { caCertPem: string };
    const link = connectToCoordinator({
      address: master.info.grpcAddress, caCertPem: info.caCertPem,
      ...(identity ? { clientKeyPem: identity.keyPem, clientCertPem: identity.certPem } : {}),
    });
    const agent = new RawAgent(link, name, identity ?? { keyPem: '', certPem: '' });
    link.start({
      onMessage: (m) => agent.received.push(m),
      onInvalid: () => {},
      onClose: (reason) => (agent.closedReason = reason),
    });
    return agent;
  }

  /** The exact bytes of `message`, `times` times: a duplicated delivery. */
  sendDuplicated(message: AgentMessage, times: number): void {
    const bytes = encodeAgentMessage(message);
    for (let i = 0; i < times; i++) this.link.sendRaw(bytes);
  }

  finished(ref: TaskRef, exitCode = 0): AgentMessage {
    return reports({ finished: [{ taskId: ref.taskId, attempt: ref.attempt, result: { exitCode, error: null, durationMs: 3 } }] });
  }

  started(ref: TaskRef): AgentMessage {
    return reports({ started: [{ taskId: ref.taskId, attempt: ref.attempt, at: Date.now() }] });
  }

  rejected(ref: TaskRef, reason: string): AgentMessage {
    return reports({ rejected: [{ taskId: ref.taskId, attempt: ref.attempt, reason }] });
  }

  async until<T extends CoordinatorMessage>(what: string, match: (m: CoordinatorMessage) => boolean, timeoutMs = 20_000): Promise<T> {
    return (await waitFor(`${this.name}: ${what}`, () => this.received.find(match), timeoutMs, 20)) as T;
  }

  /** The assignment of `taskId#attempt`, from whichever executeTasks frame carries it. */
  async execute(taskId: string, attempt: number): Promise<ExecuteTaskCommand> {
    const isIt = (t: ExecuteTaskCommand) => t.taskId === taskId && t.attempt === attempt;
    const m = await this.until<Extract<CoordinatorMessage, { type: 'executeTasks' }>>(
      `executeTasks with ${taskId}#${attempt}`, (x) => x.type === 'executeTasks' && x.tasks.some(isIt), 30_000,
    );
    return m.tasks.find(isIt)!;
  }

  /** Every assignment received so far, in order, across executeTasks frames. */
  assignments(): ExecuteTaskCommand[] {
    return this.received.flatMap((m) => (m.type === 'executeTasks' ? m.tasks : []));
  }

  /** The acks of `ref` received so far, in order, across resultAcks frames. */
  acks(ref: TaskRef): ResultAck[] {
    return this.received.flatMap((m) => (m.type === 'resultAcks' ? m.acks.filter((a) => a.taskId === ref.taskId && a.attempt === ref.attempt) : []));
  }

  voided(ref: TaskRef): boolean {
    const inWelcome = this.received.some((m) => m.type === 'welcome' && m.voidTasks.some((v) => v.taskId === ref.taskId && v.attempt === ref.attempt));
    return inWelcome || this.received.some((m) => m.type === 'voidTasks' && m.tasks.some((v) => v.taskId === ref.taskId && v.attempt === ref.attempt));
  }

  close(): void {
    this.link.close('raw agent closing');
  }
}
