/**
 * Backbone — every piece of shared state goes through these role-sized repositories.
 * Two implementations: embedded SQLite (`store/sqlite`, the default) and, later, NATS
 * JetStream. Both must pass `store/conformance`.
 *
 * Concurrency: methods are synchronous and atomic in the embedded implementation; callers
 * must not assume cross-method transactions. `close()` is idempotent.
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
  readonly kind: 'sqlite' | 'nats';
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
  /**
   * Runs `fn`, whose repository calls land as one atomic unit where the implementation can
   * (one SQLite transaction = one fsync for a whole dispatch pass); events are published
   * after it commits. A throw inside `fn` undoes every write `fn` made. Calls inside `fn`
   * that catch their own errors keep the rest (nested calls are savepoints). Synchronous only.
   */
  batch<T>(fn: () => T): T;
  close(): void;
}

export type { EventLog } from './events.js';
export type { KeyValueStore, KvEntry } from './kv.js';
export type * from './logbook.js';
export type * from './nodes.js';
export type * from './task-logs.js';
export type * from './tasks.js';
export type * from './tokens.js';
