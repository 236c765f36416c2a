/**
 * FleetState — the single writer's in-memory view of the fleet, built once by the
 * Coordinator facade and handed to each part that reads or keeps it. The store stays the
 * authority; these caches answer the hot paths (dispatch, fencing, heartbeats) without a read.
 */
import type { AgentConfig } from '../rpc/messages.js';
import type { ActiveIndex } from './active-index.js';
import type { AgentStreams } from './agent-streams.js';
import type { HeldWork, LeaseTerms } from './held-work.js';
import type { RefusalBook } from './refusals.js';
import type { Roster } from './roster.js';

export interface FleetState {
  /** Nodes (cache of the NodeRepository; every change goes through it). */
  readonly roster: Roster;
  /** Who holds which attempt. */
  readonly active: ActiveIndex;
  /** Which nodes refused which tasks (serve allow-lists): the dispatcher offers those tasks elsewhere. */
  readonly refusals: RefusalBook;
  /** Live, accepted agent streams: at most one per node. */
  readonly streams: AgentStreams;
  /** Work of lost nodes, waiting for their lease to end before it is requeued. */
  readonly heldWork: HeldWork;
  /** The agents' lease length to count with (selfFenceAfterMs, and a recently shortened one). */
  readonly leaseTerms: LeaseTerms;
  /** When a message from each node last arrived: where the master starts counting its lease. */
  readonly lastHeard: Map<string, number>;
  /** Live agent configuration (heartbeat interval, self-fence); replaced on UpdateConfiguration. */
  agentConfig: AgentConfig;
}
