/**
 * The embedded backbone: every repository on one SQLite file (better-sqlite3, WAL,
 * synchronous=FULL by default), writes group-committed. Wired only by the composition roots
 * in `src/bin` (and by tests).
 */
import { SqliteBackbone } from './backbone.js';
import { SqliteStore, type SqliteStoreOptions } from './store.js';
import { LocalWriter } from './writer/local-writer.js';
import { ThreadWriter } from './writer/thread-writer.js';

export interface SqliteBackboneOptions extends SqliteStoreOptions {
  /**
   * 'thread' (default): a worker thread owns the write connection, so the event loop never
   * waits on fsync. 'local': commits run on this thread (tools, some tests).
   */
  writer?: 'thread' | 'local';
}

/**
 * Opens (creating and migrating when needed) the embedded backbone on `options.file`. With the
 * thread writer it resolves once the writer thread has its connection; it rejects with
 * StoreUnavailableError when that thread cannot open the file.
 */
export async function openSqliteBackbone(options: SqliteBackboneOptions): Promise<SqliteBackbone> {
  // The reader connection migrates the file first, so the writer thread finds it ready.
  const store = new SqliteStore(options);
  if (options.writer === 'local') return new SqliteBackbone(store, new LocalWriter(store));
  let backbone: SqliteBackbone | null = null;
  const writer = new ThreadWriter({
    file: store.file,
    durability: options.durability,
    busyTimeoutMs: options.busyTimeoutMs,
    // Commits arrive only after a submit, so the backbone exists by then.
    onCommitted: (events) => backbone?.publish(events),
  });
  backbone = new SqliteBackbone(store, writer);
  try {
    await writer.ready;
  } catch (err) {
    await backbone.close();
    throw err;
  }
  return backbone;
}

export type { SqliteBackbone } from './backbone.js';
export type { SqliteStoreOptions } from './store.js';
export { SqliteStore } from './store.js';
export { mapSqliteError } from './db.js';
export { MIGRATIONS, type Migration } from './migrations/index.js';
