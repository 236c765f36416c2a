// ThreadWriter: group commit on a real worker thread and a real SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, StoreUnavailableError, type FleetEvent, type Task } from '../../../core/index.js';
import type { ItemOutcome, KvEntry, SubmitOutcome } from '../../backbone.js';
import type { WriteOp } from '../operations.js';
import { SqliteStore } from '../store.js';
import { ThreadWriter, type ThreadWriterOptions } from './thread-writer.js';

const submitOp = (n: number): WriteOp => ({ repository: 'tasks', method: 'submit', args: [{ command: ['echo', String(n)], labels: { n: String(n) } }, 1_000 + n] });
const putOp = (key: string, value: unknown, expectedRevision?: number): WriteOp => ({ repository: 'kv', method: 'put', args: [key, value, expectedRevision === undefined ? {} : { expectedRevision }] });

/** Resolves on the next turn of the event loop (after I/O callbacks). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ThreadWriter', () => {
  let dir: string;
  let file: string;
  let reader: SqliteStore;
  const writers: ThreadWriter[] = [];

  /** A writer on the test's file; `events` collects what it hands to `onCommitted`. */
  const open = (options: Partial<ThreadWriterOptions> = {}): { writer: ThreadWriter; events: FleetEvent[] } => {
    const events: FleetEvent[] = [];
    const writer = new ThreadWriter({ file, onCommitted: (committed) => events.push(...committed), ...options });
    writers.push(writer);
    return { writer, events };
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-thread-writer-'));
    file = join(dir, 'fleet.db');
    reader = new SqliteStore({ file }); // migrates, as the backbone's reader does before the writer starts
  });
  afterEach(async () => {
    for (const writer of writers.splice(0)) await writer.close();
    reader.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits with synchronous=FULL and WAL by default, and with the durability and busy timeout asked for', async () => {
    const byDefault = open().writer;
    await byDefault.ready;
    expect(byDefault.connection).toEqual({ synchronous: 2, journalMode: 'wal', busyTimeoutMs: 5000 });
    const relaxed = open({ durability: 'normal', busyTimeoutMs: 750 }).writer;
    await relaxed.ready;
    expect(relaxed.connection).toEqual({ synchronous: 1, journalMode: 'wal', busyTimeoutMs: 750 });
  });

  it('resolves each write with its own result, in submission order, once it is readable', async () => {
    const { writer } = open();
    await writer.ready;
    const settled: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        writer.submit(submitOp(n)).then((value) => {
          settled.push(n);
          return value as SubmitOutcome;
        }),
      ),
    );
    expect(settled).toEqual(Array.from({ length: 50 }, (_, n) => n));
    expect(results.map((r) => r.task.labels['n'])).toEqual(Array.from({ length: 50 }, (_, n) => String(n)));
    for (const { task } of results) expect(reader.tasks.get(task.id)).toEqual(task);
    expect(reader.tasks.list().map((t) => t.id)).toEqual(results.map((r) => r.task.id));
  });

  it('rejects a refused write with its typed error and commits the others of its group', async () => {
    const { writer } = open();
    const first = writer.submit(putOp('config', 1));
    const refused = writer.submit(putOp('config', 2, 99)); // wrong revision: refused
    const third = writer.submit(putOp('other', 3));
    await expect(first).resolves.toMatchObject({ key: 'config', value: 1 });
    const error = await refused.then(() => null, (err: unknown) => err);
    expect(error).toBeInstanceOf(ConflictError);
    await expect(third).resolves.toMatchObject({ key: 'other', value: 3 });
    expect(writer.stats).toEqual({ commits: 1, ops: 3 });
    expect(reader.kv.get('config')?.value).toBe(1);
    expect(reader.kv.get('other')?.value).toBe(3);
  });

  it('carries the typed errors inside a batch verb result across the thread', async () => {
    const { writer } = open();
    const { task } = (await writer.submit(submitOp(0))) as SubmitOutcome;
    const outcomes = (await writer.submit({
      repository: 'tasks',
      method: 'assignMany',
      args: [[{ taskId: task.id, nodeId: 'n1', expectedAttempt: 0 }, { taskId: 'no-such-task', nodeId: 'n1', expectedAttempt: 0 }], 2_000],
    })) as ItemOutcome[];
    expect(outcomes[0]).toMatchObject({ ok: true, task: { id: task.id, state: 'assigned' } });
    const refused = outcomes[1]!;
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error).toBeInstanceOf(NotFoundError);
  });

  it('gathers many concurrent writes into fewer commits than writes', async () => {
    const { writer } = open();
    await writer.ready;
    await Promise.all(Array.from({ length: 200 }, (_, n) => writer.submit(submitOp(n))));
    const { commits, ops } = writer.stats;
    expect(ops).toBe(200);
    expect(commits).toBeLessThan(ops);
    expect(reader.tasks.counts().pending).toBe(200);
  });

  it('gathers writes that arrive in separate turns while a commit waits into the next commit', async () => {
    const { writer } = open({ busyTimeoutMs: 60_000 });
    await writer.ready;
    // Another connection holds the write lock: the thread's first commit waits for it.
    const blocker = new Database(file);
    blocker.exec('BEGIN IMMEDIATE');
    const writes = [writer.submit(putOp('a', 1))];
    await nextTurn();
    writes.push(writer.submit(putOp('b', 2)));
    await nextTurn();
    writes.push(writer.submit(putOp('c', 3)));
    await nextTurn();
    blocker.exec('ROLLBACK');
    blocker.close();
    await Promise.all(writes);
    // Three messages, at most two commits: 'b' and 'c' (separate turns) shared one.
    expect(writer.stats.ops).toBe(3);
    expect(writer.stats.commits).toBeLessThanOrEqual(2);
  });

  it('keeps the event loop running while a write waits on its commit', async () => {
    const { writer } = open({ busyTimeoutMs: 60_000 });
    await writer.ready;
    const blocker = new Database(file);
    blocker.exec('BEGIN IMMEDIATE');
    let resolved = false;
    const write = writer.submit(putOp('k', 'v')).then((entry) => {
      resolved = true;
      return entry as KvEntry;
    });
    // This thread must run other work — a read, then releasing the lock — for the write to
    // finish at all: a commit on this thread would wait for the lock and never get here.
    const ranMeanwhile = await new Promise<{ resolvedBefore: boolean; readWhilePending: unknown }>((done) =>
      setImmediate(() => {
        const observed = { resolvedBefore: resolved, readWhilePending: reader.kv.get('k') };
        blocker.exec('ROLLBACK');
        blocker.close();
        done(observed);
      }),
    );
    expect(ranMeanwhile).toEqual({ resolvedBefore: false, readWhilePending: null });
    await expect(write).resolves.toMatchObject({ key: 'k', value: 'v' });
  });

  it('hands each commit\'s events to onCommitted before the writes of that commit resolve', async () => {
    const seen: number[] = [];
    const { writer } = open({ onCommitted: (committed) => seen.push(...committed.map((e) => e.seq)) });
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, n) =>
        writer.submit(submitOp(n)).then((value) => {
          // By the time a write resolves, its event has been published.
          expect(seen.length).toBeGreaterThanOrEqual(n + 1);
          return value as SubmitOutcome;
        }),
      ),
    );
    expect(seen).toEqual(reader.events.read(0).map((e) => e.seq));
    expect(reader.events.read(0).map((e) => e.subject)).toEqual(results.map((r) => r.task.id));
  });

  it('waits in close() for every submitted write, then refuses new ones; close is idempotent', async () => {
    const { writer } = open();
    const writes = Array.from({ length: 20 }, (_, n) => writer.submit(submitOp(n)));
    const closing = writer.close();
    const late = writer.submit(submitOp(99)).then(() => null, (err: unknown) => err);
    await closing;
    await expect(Promise.all(writes)).resolves.toHaveLength(20);
    expect(await late).toMatchObject({ message: 'the store is closed' });
    await writer.close();
    expect(writer.state).toBe('closed');
    expect(reader.tasks.counts().pending).toBe(20);
  });

  it('rejects pending and later writes with StoreUnavailableError when the thread cannot open the file', async () => {
    const { writer } = open({ file: join(file, 'x.db') }); // its parent directory is a file
    const pending = writer.submit(submitOp(0));
    await expect(writer.ready).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(pending).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(writer.submit(submitOp(1))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(writer.state).toBe('failed');
  });

  it('rejects the writes of a group whose thread dies before COMMIT and keeps what was acknowledged', async () => {
    process.env.BITACORA_WRITER_FAULT = 'exit@3';
    let writer: ThreadWriter;
    try {
      ({ writer } = open());
    } finally {
      delete process.env.BITACORA_WRITER_FAULT;
    }
    const acknowledged: Task[] = [];
    for (let n = 0; n < 3; n++) acknowledged.push(((await writer.submit(submitOp(n))) as SubmitOutcome).task);
    const doomed = [writer.submit(submitOp(3)), writer.submit(submitOp(4))];
    for (const write of doomed) await expect(write).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(writer.submit(submitOp(5))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(writer.state).toBe('failed');
    expect(reader.tasks.list().map((t) => t.labels['n'])).toEqual(['0', '1', '2']);
    for (const task of acknowledged) expect(reader.tasks.get(task.id)).toEqual(task);
  });

  it('refuses a write whose arguments cannot cross the thread boundary, alone', async () => {
    const { writer } = open();
    const ok = writer.submit(putOp('a', 1));
    const bad = writer.submit({ repository: 'kv', method: 'put', args: ['b', () => 1] });
    await expect(bad).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(ok).resolves.toMatchObject({ key: 'a' });
  });
});
