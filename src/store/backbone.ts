/**
 * Backbone — every piece of shared state goes through these role-sized repositories, each
 * speaking domain verbs. Two implementations: embedded SQLite (`store/sqlite`, the default)
 * and PostgreSQL (scale-out). Both must pass `store/conformance`, which knows neither.
 *
 * Contract for every repository method:
 * - It returns a Promise; a write resolves only once it is durable (acknowledge after
 *   persist), a read sees every write whose promise has resolved.
 * - Each call is atomic on its own. Calls issued concurrently are applied in the order they
 *   were issued; an implementation may gather them into one commit (group commit), but a
 *   refused call never undoes another. There are no cross-call transactions: an operation
 *   that must be atomic over many items is one batch verb (`tasks.assignMany`, …).
 * - Errors are the domain's typed errors (core/errors): ConflictError, NotFoundError,
 *   StaleAttemptError, ValidationError are terminal for that call; StoreUnavailableError is
 *   retryable (disk full, lock held, connection lost) and means the change did not happen.
 * - `close()` is idempotent; calls after it reject with BIT_ERR_UNAVAILABLE.
 */
import type { EventLog } from './events.js';
import type { KeyValueStore } from './kv.js';
import type {
  ActionRepository, ApprovalRepository, ProjectRepository, SessionRepository, SparkRepository, TopicRepository,
} from './logbook.js';
import type { NodeRepository } from './nodes.js';
import type { TaskLogStore } from './task-logs.js';
import type { TaskQueue } from './tasks.js';
import type { JoinTokenRepository } from './tokens.js';

export interface Backbone {
  readonly events: EventLog;
  readonly kv: KeyValueStore;
  readonly nodes: NodeRepository;
  readonly tasks: TaskQueue;
  readonly taskLogs: TaskLogStore;
  readonly joinTokens: JoinTokenRepository;
  readonly sessions: SessionRepository;
  readonly projects: ProjectRepository;
  readonly topics: TopicRepository;
  readonly approvals: ApprovalRepository;
  readonly actions: ActionRepository;
  readonly sparks: SparkRepository;
  close(): Promise<void>;
}

export type { EventLog } from './events.js';
export type { KeyValueStore, KvEntry } from './kv.js';
export type * from './logbook.js';
export type * from './nodes.js';
export type * from './task-logs.js';
export type * from './tasks.js';
export type * from './tokens.js';
