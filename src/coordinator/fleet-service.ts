/**
 * FleetService — what the master offers to its edges (REST/WebSocket API, the dashboard).
 * Implemented by the Coordinator; the api/ layer maps its typed errors to HTTP statuses.
 * All methods validate their input and throw BitacoraError subclasses with stable codes.
 */
import type {
  AgentConfig, CreatedJoinToken, EmergencyTier, FleetEvent, FleetNode, FleetStatus, JoinInfo, NewTaskSpec, NodeRole, Task, TaskLogChunk,
} from '../core/index.js';

export type { CreatedJoinToken, FleetStatus, JoinInfo } from '../core/index.js';
import type { TaskCounts, TaskFilter } from '../store/backbone.js';
import type { AuditVerification } from '../security/index.js';
import type { StoredAuditEntry } from './audit-writer.js';

export interface FleetService {
  joinInfo(): JoinInfo;
  status(): FleetStatus;

  listNodes(): FleetNode[];
  /** By id or name. NotFoundError otherwise. */
  getNode(idOrName: string): FleetNode;
  drainNode(idOrName: string): FleetNode;
  undrainNode(idOrName: string): FleetNode;
  /** Closes its connection, requeues its tasks, forgets it. */
  removeNode(idOrName: string): void;
  /** worker ↔ hybrid without restart. */
  setNodeRole(idOrName: string, role: Exclude<NodeRole, 'master'>): FleetNode;
  /**
   * Revokes a node: its live stream is closed at once, its certificates are refused from then
   * on (persisted), its tasks are reassigned. Optional so older implementations and fakes
   * still satisfy the interface. AuditUnavailable when the audit trail cannot be written.
   */
  revokeNode?(idOrName: string, reason?: string): FleetNode;
  /** The hash-chained audit trail, oldest first. */
  auditLog?(options?: { afterIndex?: number; limit?: number }): StoredAuditEntry[];
  /** Verifies the audit chain; names the first broken entry. */
  verifyAudit?(): AuditVerification;

  /** Persisted before it returns. `pinnedNode` may be a name; it is resolved to an id. */
  submitTask(spec: NewTaskSpec): { task: Task; created: boolean };
  submitTasks(specs: NewTaskSpec[]): { task: Task; created: boolean }[];
  listTasks(filter?: TaskFilter): Task[];
  getTask(id: string): Task;
  /** Cancels anywhere: pending tasks at once, running ones on their node. */
  cancelTask(id: string, reason?: string): Task;
  taskLogs(id: string, options?: { attempt?: number; afterSeq?: number }): TaskLogChunk[];

  createJoinToken(options: { role?: 'worker' | 'hybrid'; ttlMs?: number; createdBy: string }): CreatedJoinToken;

  updateConfiguration(patch: Partial<AgentConfig>): AgentConfig;
  emergencyShutdown(tier: EmergencyTier, reason: string): void;
  /**
   * Lifts the dispatch freeze left by any EmergencyShutdown tier: pending work is assigned
   * again. Optional so that older implementations and test fakes still satisfy the interface.
   */
  resumeDispatch?(): void;

  /** Events after `afterSeq`, then live ones; returns unsubscribe. */
  subscribe(afterSeq: number, listener: (event: FleetEvent) => void): () => void;
  /** Live output chunks of tasks (already fenced and stored). Returns unsubscribe. */
  subscribeLogs(listener: (chunk: TaskLogChunk) => void): () => void;
}
