/**
 * What the coordinator's parts share: the store, the clock, the caches kept by the single
 * writer, and a few hooks between parts. Built once by the Coordinator facade; each part
 * receives it in its constructor (no module-level state).
 */
import type { Clock } from '../engine/ports.js';
import type { AgentConnection } from '../rpc/server/index.js';
import type { AgentConfig, CoordinatorMessage } from '../rpc/messages.js';
import type { Backbone } from '../store/backbone.js';
import type { ActiveIndex } from './active-index.js';
import type { HeldWork, LeaseTerms } from './held-work.js';
import type { RefusalBook } from './refusals.js';
import type { ResolvedSettings } from './options.js';
import type { Roster } from './roster.js';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** One agent stream as the coordinator tracks it. */
export interface AgentSession {
  readonly connection: AgentConnection;
  /**
   * awaiting-hello → admitting → active → closed; a refused hello goes straight to closed. A first join on
   * a stream without a client certificate: awaiting-hello → enrolling → closed (never active).
   */
  state: 'awaiting-hello' | 'admitting' | 'enrolling' | 'active' | 'closed';
  /** Messages that arrived while the hello was being admitted (state 'admitting'), replayed after. */
  readonly backlog: import('../rpc/messages.js').AgentMessage[];
  /** Set once the hello is accepted. */
  nodeId: string | null;
  /** Mutual TLS: the role and serial of the verified certificate the stream was admitted with. */
  certificate?: { role: import('../core/index.js').NodeRole; serial: string; notAfter: number };
  /** Refused frames so far (bounded by maxViolationsPerConnection). */
  violations: number;
  /** `taskId#attempt` already recorded as fenced on this stream, so a chatty agent is recorded once. */
  readonly fencedSeen: Set<string>;
}

export interface CoordinatorContext {
  readonly backbone: Backbone;
  readonly clock: Clock;
  readonly log: Logger;
  readonly settings: ResolvedSettings;
  /** Live agent configuration (heartbeat interval, self-fence); replaced on UpdateConfiguration. */
  agentConfig: AgentConfig;
  readonly roster: Roster;
  readonly active: ActiveIndex;
  /** Which nodes refused which tasks (serve allow-lists): the dispatcher offers those tasks elsewhere. */
  readonly refusals: RefusalBook;
  /** Live, accepted streams by node id: at most one per node. */
  readonly sessions: Map<string, AgentSession>;
  /** Work of lost nodes, waiting for their lease to end before it is requeued. */
  readonly heldWork: HeldWork;
  /** The agents' lease length to count with (selfFenceAfterMs, and a recently shortened one). */
  readonly leaseTerms: LeaseTerms;
  /** When the lease of `nodeId` ends as the master counts it: after this its agent has stopped its tasks. */
  leaseEnd(nodeId: string): number;
  /** Asks for a dispatch pass soon; coalesced, so call it freely. */
  scheduleDispatch(): void;
  /** Sends to a node's live stream, if any. */
  sendTo(nodeId: string, message: CoordinatorMessage): boolean;
}

/** `taskId#attempt`, the key of per-attempt bookkeeping. */
export const refKey = (taskId: string, attempt: number): string => `${taskId}#${attempt}`;
