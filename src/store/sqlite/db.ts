/**
 * The SQLite connection of the embedded backbone: opening with deliberate pragmas, one
 * transaction helper that also collects the events to publish after commit, a prepared
 * statement cache, and the mapping of SQLite failures to the domain's typed errors.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  BitacoraError, ConflictError, ErrorCode, StoreUnavailableError, type FleetEvent,
} from '../../core/index.js';

export interface SqliteDbOptions {
  file: string;
  /** Default 'full'. See `applyPragmas` for what each level survives. */
  durability?: 'full' | 'normal';
  /** How long a write waits for another connection's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
}

type Statement = Database.Statement<unknown[], unknown>;

/** SQLite result codes meaning "cannot write now" (disk full, read-only, I/O, locked): retryable. */
const UNAVAILABLE_CODES = ['SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_PROTOCOL'];
/** File-system errors raised while creating the data directory. */
const UNAVAILABLE_FS_CODES = ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EIO', 'ENOTDIR'];

/**
 * Turns anything thrown by better-sqlite3 or the file system into a domain error, keeping
 * the original as `cause`. Domain errors pass through unchanged. `entity` names what was
 * being written, for constraint violations ("node conflicts with …").
 */
export function mapSqliteError(err: unknown, entity: string): BitacoraError {
  if (err instanceof BitacoraError) return err;
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
  const message = err instanceof Error ? err.message : String(err);
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return new ConflictError(`${entity} conflicts with an existing record (${message})`, { cause: err, details: { entity, sqliteCode: code } });
  }
  if (UNAVAILABLE_CODES.some((c) => code === c || code.startsWith(`${c}_`)) || UNAVAILABLE_FS_CODES.includes(code)) {
    return new StoreUnavailableError(`the store cannot be used right now (${code}: ${message})`, { cause: err, details: { entity, sqliteCode: code } });
  }
  if (err instanceof TypeError && /database connection is not open/i.test(message)) return closedError(err);
  return new BitacoraError(ErrorCode.Internal, `store failure on ${entity}: ${message}`, { cause: err, details: { entity, sqliteCode: code || null } });
}

function closedError(cause?: unknown): BitacoraError {
  return new BitacoraError(ErrorCode.Unavailable, 'the store is closed', { cause });
}

/**
 * Durability, chosen deliberately:
 * - WAL lets readers (API, dashboard) proceed while the single writer commits.
 * - `synchronous=FULL` (the default): every commit fsyncs the WAL before returning, so a
 *   write acknowledged to a caller survives a crash of the process AND a power loss / OS
 *   crash. With WAL, `NORMAL` only fsyncs at checkpoints: it survives a process crash but
 *   may lose the last transactions on an OS crash or power loss — not acceptable for "a task
 *   is never lost once acknowledged". `durability: 'normal'` exists for benchmarks only.
 * - `busy_timeout`: another process holding the write lock makes us wait, then fail retryably.
 * - `foreign_keys=ON`: SQLite leaves references unchecked unless asked, per connection.
 */
function applyPragmas(raw: Database.Database, options: SqliteDbOptions): void {
  raw.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
  if (String(raw.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') raw.pragma('journal_mode = WAL');
  raw.pragma(`synchronous = ${options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
  raw.pragma('foreign_keys = ON');
}

const committedRefusals = new WeakSet<object>();

/**
 * Marks `error` as a refusal that keeps the change made before it: the `SqliteDb.write` it is
 * thrown from commits (or releases its savepoint), then rethrows it. For a domain rule that
 * records a fact and refuses at once (an approval decided too late is stored 'expired', and
 * the decision is refused). Returns the error, to be thrown.
 */
export function refusalAfterCommit<E extends Error>(error: E): E {
  committedRefusals.add(error);
  return error;
}

/** A connection plus the bookkeeping every repository shares. Synchronous, single-threaded. */
export class SqliteDb {
  readonly raw: Database.Database;
  private readonly statements = new Map<string, Statement>();
  /** Events appended by the transaction in progress, published after the outermost commit. */
  private pending: FleetEvent[] = [];
  private readonly runInTransaction: Database.Transaction<(fn: () => unknown) => unknown>;
  private onCommit: (events: FleetEvent[]) => void = () => {};
  private closed = false;
  /** How many `write` calls are running (1 = the outermost transaction). */
  private depth = 0;
  /** The failure for which SQLite rolled back the transaction in progress, if it did. */
  private lost: BitacoraError | null = null;

  constructor(options: SqliteDbOptions) {
    try {
      mkdirSync(dirname(options.file), { recursive: true });
      this.raw = new Database(options.file);
    } catch (err) {
      throw mapSqliteError(err, `database file ${options.file}`);
    }
    try {
      applyPragmas(this.raw, options);
    } catch (err) {
      this.raw.close();
      throw mapSqliteError(err, `database file ${options.file}`);
    }
    this.runInTransaction = this.raw.transaction((fn: () => unknown) => fn());
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Receives the events of each committed outermost transaction, in seq order. */
  setCommitListener(listener: (events: FleetEvent[]) => void): void {
    this.onCommit = listener;
  }

  /** A cached prepared statement. */
  stmt(sql: string): Statement {
    if (this.closed) throw closedError();
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.raw.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs a read; SQLite failures become domain errors. */
  read<T>(fn: () => T): T {
    if (this.closed) throw closedError();
    try {
      return fn();
    } catch (err) {
      throw mapSqliteError(err, 'a read');
    }
  }

  /**
   * Runs `fn` in one write transaction (BEGIN IMMEDIATE; a SAVEPOINT when nested). Either
   * everything `fn` wrote — its change and its events — commits, or nothing does. Events
   * are handed to the commit listener after the outermost commit only.
   *
   * An error marked by `refusalAfterCommit` is the exception: the change `fn` made stands
   * (its savepoint is released, not rolled back), then the error reaches the caller.
   *
   * SQLite rolls the whole transaction back by itself on some failures (SQLITE_FULL, IOERR,
   * NOMEM) even inside a savepoint. From then on every nested write of that transaction is
   * refused with the same error, and the outermost write throws it instead of committing:
   * nothing of the transaction is durable, and no later write may slip into autocommit.
   */
  write<T>(entity: string, fn: () => T): T {
    if (this.closed) throw closedError();
    const outermost = this.depth === 0;
    if (!outermost && this.lost) throw this.lost;
    const mark = this.pending.length;
    let refusal: { error: unknown } | null = null;
    let result: T;
    this.depth++;
    try {
      result = this.runInTransaction.immediate(() => {
        try {
          return fn();
        } catch (err) {
          if (!committedRefusals.has(err as object)) throw err;
          refusal = { error: err };
          return undefined;
        }
      }) as T;
    } catch (err) {
      this.pending.length = mark;
      const mapped = mapSqliteError(err, entity);
      if (!outermost && !this.raw.inTransaction) this.lost ??= mapped;
      if (outermost && this.lost) {
        const lost = this.lost;
        this.lost = null;
        this.pending = [];
        throw lost;
      }
      throw mapped;
    } finally {
      this.depth--;
    }
    if (outermost && this.pending.length > 0) {
      const committed = this.pending;
      this.pending = [];
      this.onCommit(committed);
    }
    if (refusal) throw (refusal as { error: unknown }).error;
    return result;
  }

  /** Called by the event outbox inside a write: the event is published if the write commits. */
  emitted(event: FleetEvent): void {
    if (!this.raw.inTransaction) throw new BitacoraError(ErrorCode.Internal, `event ${event.type} appended outside a transaction`);
    this.pending.push(event);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.pending = [];
    try {
      this.raw.pragma('optimize');
    } catch {
      // best effort: a read-only or full database still closes
    }
    this.raw.close();
  }
}
