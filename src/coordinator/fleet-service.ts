/**
 * FleetService — what the master offers to its edges (REST/WebSocket API, the dashboard).
 * Implemented by the Coordinator; the api/ layer maps its typed errors to HTTP statuses.
 * All methods validate their input and reject with BitacoraError subclasses with stable
 * codes. Every method that reads or writes the store returns a Promise (the store may be
 * across a network); what the coordinator answers from memory (nodes, join info) and the
 * live subscriptions stay synchronous.
 */
import type {
  AgentConfig, CreatedJoinToken, EmergencyTier, FleetEvent, FleetNode, FleetStatus, JoinInfo, NewTaskSpec, NodeRole, Task, TaskLogChunk,
} from '../core/index.js';

export type { CreatedJoinToken, FleetStatus, JoinInfo } from '../core/index.js';
import type { CreatedApiToken, NewApiToken, NewUser, TokenView, UserView } from '../core/index.js';
import type { TaskCounts, TaskFilter } from '../store/backbone.js';
import type { AclPolicy, AuditRecord, AuditVerification, Operation, Requester, Target } from '../security/index.js';
import type { StoredAuditEntry } from '../access/audit-writer.js';

export interface FleetService {
  joinInfo(): JoinInfo;
  status(): Promise<FleetStatus>;

  listNodes(): FleetNode[];
  /** By id or name. NotFoundError otherwise. */
  getNode(idOrName: string): FleetNode;
  drainNode(idOrName: string): Promise<FleetNode>;
  undrainNode(idOrName: string): Promise<FleetNode>;
  /** Closes its connection, requeues its tasks, forgets it. */
  removeNode(idOrName: string): Promise<void>;
  /** worker ↔ hybrid without restart. */
  setNodeRole(idOrName: string, role: Exclude<NodeRole, 'master'>): Promise<FleetNode>;
  /**
   * Revokes a node: its live stream is closed at once, its certificates are refused from then
   * on (persisted), its tasks are reassigned. Optional so older implementations and fakes
   * still satisfy the interface. AuditUnavailable when the audit trail cannot be written.
   */
  revokeNode?(idOrName: string, reason?: string): Promise<FleetNode>;
  /** The hash-chained audit trail, oldest first. */
  auditLog?(options?: { afterIndex?: number; limit?: number }): Promise<StoredAuditEntry[]>;
  /** Verifies the audit chain, its MACs and checkpoints (plus `checkpoints` given, e.g. an agent's); names the first break. */
  verifyAudit?(checkpoints?: readonly unknown[]): Promise<AuditVerification>;

  /** Persisted before it returns. `pinnedNode` may be a name; it is resolved to an id. */
  submitTask(spec: NewTaskSpec): Promise<{ task: Task; created: boolean }>;
  submitTasks(specs: NewTaskSpec[]): Promise<{ task: Task; created: boolean }[]>;
  listTasks(filter?: TaskFilter): Promise<Task[]>;
  getTask(id: string): Promise<Task>;
  /** Why a pending task waits: the scheduler's latest reason for it (null: not pending, or not planned yet). */
  waitingReason?(task: Pick<Task, 'id' | 'state'>): string | null;
  /** Of `needs`, the capabilities no node of the fleet advertises (the submission is accepted all the same). */
  unadvertisedNeeds?(needs: readonly string[]): string[];
  /** Cancels anywhere: pending tasks at once, running ones on their node. */
  cancelTask(id: string, reason?: string): Promise<Task>;
  taskLogs(id: string, options?: { attempt?: number; afterSeq?: number }): Promise<TaskLogChunk[]>;

  createJoinToken(options: { role?: 'worker' | 'hybrid'; ttlMs?: number; createdBy: string }): Promise<CreatedJoinToken>;

  updateConfiguration(patch: Partial<AgentConfig>): Promise<AgentConfig>;
  emergencyShutdown(tier: EmergencyTier, reason: string): Promise<void>;
  /**
   * Lifts the dispatch freeze left by any EmergencyShutdown tier: pending work is assigned
   * again. Optional so that older implementations and test fakes still satisfy the interface.
   */
  resumeDispatch?(): Promise<void>;

  /** Events after `afterSeq`, then live ones; returns unsubscribe. */
  subscribe(afterSeq: number, listener: (event: FleetEvent) => void): () => void;
  /** Live output chunks of tasks (already fenced and stored). Returns unsubscribe. */
  subscribeLogs(listener: (chunk: TaskLogChunk) => void): () => void;

  /**
   * A view of this service whose privileged operations are recorded in the audit trail as
   * done by `requester` (`user:<name>`). Without it, the API's actor is recorded as the admin.
   */
  actingFor?(requester: Requester): FleetService;
}

export type { AccessService } from '../access/access-service.js';
