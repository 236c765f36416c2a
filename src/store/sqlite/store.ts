/**
 * SqliteStore — every repository of the embedded backbone on one SQLite connection,
 * synchronous (better-sqlite3). It is what runs inside the writer (one transaction per group
 * of writes) and what answers reads; the asynchronous `SqliteBackbone` is built around it.
 */
import type { FleetEvent } from '../../core/index.js';
import { SqliteActionRepository } from './actions.js';
import { SqliteApprovalRepository } from './approvals.js';
import { mapSqliteError, SqliteDb } from './db.js';
import { SqliteEventLog } from './events.js';
import { SqliteKeyValueStore } from './kv.js';
import { migrate } from './migrations/index.js';
import { SqliteNodeRepository } from './nodes.js';
import { SqliteProjectRepository } from './projects.js';
import { SqliteSessionRepository } from './sessions.js';
import { SqliteSparkRepository } from './sparks.js';
import { SqliteTaskLogStore } from './task-logs.js';
import { SqliteTaskQueue } from './tasks.js';
import { SqliteJoinTokenRepository } from './tokens.js';
import { SqliteTopicRepository } from './topics.js';

export interface SqliteStoreOptions {
  /** Path of the database file; its parent directory is created when missing. */
  file: string;
  /**
   * 'full' (default): an acknowledged write survives a process crash and a power loss.
   * 'normal': survives a process crash only; may lose the last commits on an OS crash or
   * power loss. Offered for benchmarks, not for a fleet that promises "never lost".
   */
  durability?: 'full' | 'normal';
  /** How long a write waits for another process's lock before StoreUnavailableError. Default 5000 ms. */
  busyTimeoutMs?: number;
  /**
   * Called when an `events.watch` listener throws (listeners must not; the write has
   * committed and the other listeners still run). Default: a process warning.
   */
  onListenerError?: (error: unknown, event: FleetEvent) => void;
}

export class SqliteStore {
  readonly events: SqliteEventLog;
  readonly kv: SqliteKeyValueStore;
  readonly nodes: SqliteNodeRepository;
  readonly tasks: SqliteTaskQueue;
  readonly taskLogs: SqliteTaskLogStore;
  readonly joinTokens: SqliteJoinTokenRepository;
  readonly sessions: SqliteSessionRepository;
  readonly projects: SqliteProjectRepository;
  readonly topics: SqliteTopicRepository;
  readonly approvals: SqliteApprovalRepository;
  readonly actions: SqliteActionRepository;
  readonly sparks: SqliteSparkRepository;
  /** The database file. */
  readonly file: string;
  readonly db: SqliteDb;

  constructor(options: SqliteStoreOptions) {
    this.file = options.file;
    this.db = new SqliteDb(options);
    try {
      migrate(this.db.raw);
    } catch (err) {
      this.db.close();
      throw mapSqliteError(err, `schema of ${options.file}`);
    }
    this.events = new SqliteEventLog(this.db, options.onListenerError);
    this.kv = new SqliteKeyValueStore(this.db);
    this.nodes = new SqliteNodeRepository(this.db);
    this.tasks = new SqliteTaskQueue(this.db);
    this.taskLogs = new SqliteTaskLogStore(this.db);
    this.joinTokens = new SqliteJoinTokenRepository(this.db);
    this.sessions = new SqliteSessionRepository(this.db);
    this.projects = new SqliteProjectRepository(this.db);
    this.topics = new SqliteTopicRepository(this.db);
    this.approvals = new SqliteApprovalRepository(this.db);
    this.actions = new SqliteActionRepository(this.db);
    this.sparks = new SqliteSparkRepository(this.db);
  }

  /** Reads (or, with `name = value`, sets) a pragma of this connection. For diagnostics and tests. */
  pragma(source: string): unknown {
    return this.db.read(() => this.db.raw.pragma(source, { simple: true }));
  }

  /** Applied schema versions, ascending. */
  schemaVersions(): number[] {
    return this.db.read(() => (this.db.raw.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>).map((r) => r.version));
  }

  /** Runs `fn` as one write transaction (nested repository writes are savepoints). */
  transaction<T>(entity: string, fn: () => T): T {
    return this.db.write(entity, fn);
  }

  close(): void {
    this.db.close();
  }
}

export { mapSqliteError } from './db.js';
