/**
 * AgentStreams — the agents' live gRPC streams, at most one per node, and the one way every
 * part of the coordinator sends to a node. The hub registers and replaces streams; everyone
 * else only sends, so no part needs the hub to reach an agent.
 */
import type { NodeRole } from '../core/index.js';
import type { AgentMessage, CoordinatorMessage } from '../rpc/messages.js';
import type { AgentConnection } from '../rpc/server/index.js';

/** One agent's stream as the coordinator tracks it (not a logbook session, not a dashboard login). */
export interface AgentStream {
  readonly connection: AgentConnection;
  /**
   * awaiting-hello → admitting → active → closed; a refused hello goes straight to closed. A
   * first join on a stream without a client certificate: awaiting-hello → enrolling → closed.
   */
  state: 'awaiting-hello' | 'admitting' | 'enrolling' | 'active' | 'closed';
  /** Messages that arrived while the hello was being admitted (state 'admitting'), replayed after. */
  readonly backlog: AgentMessage[];
  /** Set once the hello is accepted. */
  nodeId: string | null;
  /** Mutual TLS: the role and serial of the verified certificate the stream was admitted with. */
  certificate?: { role: NodeRole; serial: string; notAfter: number };
  /** Refused frames so far (bounded by maxViolationsPerConnection). */
  violations: number;
  /** `taskId#attempt` already recorded as a stale report on this stream, so a chatty agent is recorded once. */
  readonly staleSeen: Set<string>;
}

export class AgentStreams {
  private readonly byNode = new Map<string, AgentStream>();

  get(nodeId: string): AgentStream | undefined {
    return this.byNode.get(nodeId);
  }

  has(nodeId: string): boolean {
    return this.byNode.has(nodeId);
  }

  /** The node's one live stream from now on (the caller closed the one it replaces). */
  set(nodeId: string, stream: AgentStream): void {
    this.byNode.set(nodeId, stream);
  }

  delete(nodeId: string): boolean {
    return this.byNode.delete(nodeId);
  }

  nodeIds(): string[] {
    return [...this.byNode.keys()];
  }

  entries(): IterableIterator<[string, AgentStream]> {
    return this.byNode.entries();
  }

  all(): IterableIterator<AgentStream> {
    return this.byNode.values();
  }

  /** Sends to the node's live stream; false when it has none (the message is dropped). */
  send(nodeId: string, message: CoordinatorMessage): boolean {
    const stream = this.byNode.get(nodeId);
    return stream ? stream.connection.send(message) : false;
  }

  broadcast(message: CoordinatorMessage): number {
    let n = 0;
    for (const stream of this.byNode.values()) if (stream.connection.send(message)) n++;
    return n;
  }

  /**
   * Takes the node's stream away with a last fatal error frame and closes it (node down,
   * removed, revoked): the agent must reconnect, and go through SyncState, to be heard again.
   */
  expel(nodeId: string, error: { code: string; message: string }, closeReason: string): void {
    const stream = this.byNode.get(nodeId);
    if (!stream) return;
    this.byNode.delete(nodeId);
    stream.state = 'closed';
    stream.connection.send({ type: 'error', code: error.code, message: error.message, fatal: true });
    stream.connection.close(closeReason);
  }
}
