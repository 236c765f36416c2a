/**
 * FleetService — what the master offers to its edges (REST/WebSocket API, the dashboard).
 * Implemented by the Coordinator; the api/ layer maps its typed errors to HTTP statuses.
 * All methods validate their input and throw BitacoraError subclasses with stable codes.
 */
import type {
  AgentConfig, CreatedJoinToken, EmergencyTier, FleetEvent, FleetNode, FleetStatus, JoinInfo, NewTaskSpec, NodeRole, Task, TaskLogChunk,
} from '../core/index.js';

export type { CreatedJoinToken, FleetStatus, JoinInfo } from '../core/index.js';
import type { CreatedApiToken, NewApiToken, NewUser, TokenView, UserView } from '../core/index.js';
import type { TaskCounts, TaskFilter } from '../store/backbone.js';
import type { AclPolicy, AuditRecord, AuditVerification, Operation, Requester, Target } from '../security/index.js';
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
  /** Verifies the audit chain, its MACs and checkpoints (plus `checkpoints` given, e.g. an agent's); names the first break. */
  verifyAudit?(checkpoints?: readonly unknown[]): AuditVerification;

  /** Persisted before it returns. `pinnedNode` may be a name; it is resolved to an id. */
  submitTask(spec: NewTaskSpec): { task: Task; created: boolean };
  submitTasks(specs: NewTaskSpec[]): { task: Task; created: boolean }[];
  listTasks(filter?: TaskFilter): Task[];
  getTask(id: string): Task;
  /** Why a pending task waits: the scheduler's latest reason for it (null: not pending, or not planned yet). */
  waitingReason?(task: Pick<Task, 'id' | 'state'>): string | null;
  /** Of `needs`, the capabilities no node of the fleet advertises (the submission is accepted all the same). */
  unadvertisedNeeds?(needs: readonly string[]): string[];
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

  /**
   * A view of this service whose privileged operations are recorded in the audit trail as
   * done by `requester` (`user:<name>`). Without it, the API's actor is recorded as the admin.
   */
  actingFor?(requester: Requester): FleetService;
}

/**
 * AccessService — who may use the API and dashboard, and what they may do: users, their API
 * tokens and one-time login tokens, the ACL policy, and `authorize`, the one check every
 * entry point (REST, WebSocket, gRPC) runs before acting. Implemented by the coordinator's
 * AccessControl; every change and every denial lands in the audit trail (fail-closed).
 */
export interface AccessService {
  /** The user an API token acts for; null when unknown, expired, revoked or its user was removed. Never throws. */
  authenticate(bearer: string): Requester | null;
  /**
   * Exchanges a token for the user it names, to open a dashboard session: a one-time login
   * token is consumed, an API token is accepted as is. TokenInvalid / TokenExpired / TokenUsed /
   * TokenRevoked otherwise. Audited either way.
   */
  login(token: string): Requester;
  /** Returns when `requester` may do `operation` on every target; otherwise appends a 'denied' audit entry and throws ForbiddenError (BIT_ERR_FORBIDDEN). */
  authorize(operation: Operation, requester: Requester, targets: readonly Target[]): void;

  listUsers(): UserView[];
  /** Conflict when the name is taken; ValidationError for a bad name, role or project. */
  addUser(user: NewUser, by: Requester): UserView;
  /** Also revokes the user's tokens. NotFound when unknown; Conflict when it is the last admin. */
  removeUser(name: string, by: Requester): void;

  /** NotFound when the user is unknown; Forbidden when `role` is above the user's own. */
  createApiToken(options: NewApiToken, by: Requester): CreatedApiToken;
  /** A one-time login token for the dashboard (`bitacora up` prints one for the admin on first start). */
  createLoginToken(user: string, by: Requester, ttlMs?: number): CreatedApiToken;
  /** Join, API and login tokens, newest first; never their secrets. */
  listTokens(): TokenView[];
  /** Revokes a join, API or login token by id; NotFound when unknown. Revoking twice returns it unchanged. */
  revokeToken(id: string, by: Requester): TokenView;

  /**
   * Appends one entry to the hash-chained audit trail, for operations performed outside the
   * coordinator (the API's logbook writes); throws AuditUnavailable when it cannot (fail-closed).
   */
  record(record: AuditRecord): void;

  aclPolicy(): AclPolicy;
  /** Validates (ValidationError naming every issue), persists to the policy file, applies at once, audits. */
  setAclPolicy(policy: unknown, by: Requester): AclPolicy;
}
