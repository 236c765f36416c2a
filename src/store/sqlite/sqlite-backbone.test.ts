// The embedded backbone: the shared conformance suite on real SQLite files, plus SQLite-specific behaviour.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BitacoraError, ErrorCode, StoreUnavailableError } from '../../core/index.js';
import { describeBackboneConformance } from '../conformance/backbone.conformance.js';
import { MIGRATIONS, openSqliteBackbone, type SqliteBackbone, type SqliteBackboneOptions } from './index.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'bitacora-store-'));
}

/** The writer configurations the embedded backbone offers: the local one, and the default (a worker thread owns the write connection). */
const WRITERS: Array<{ name: string; options: Pick<SqliteBackboneOptions, 'writer'> }> = [
  { name: 'sqlite, local writer', options: { writer: 'local' } },
  { name: 'sqlite, default writer', options: {} },
];

for (const { name, options } of WRITERS) {
  describeBackboneConformance(name, async () => {
    const dir = tempDir();
    const file = join(dir, 'fleet.db');
    const backbone = await openSqliteBackbone({ file, ...options });
    return {
      backbone,
      reopen: () => openSqliteBackbone({ file, ...options }),
      cleanup: async () => {
        try {
          await backbone.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  });
}

for (const { name, options: writer } of WRITERS) {
  describe(`SqliteBackbone (${name})`, () => {
    let dir: string;
    const opened: SqliteBackbone[] = [];
    const open = async (options: Partial<SqliteBackboneOptions> = {}): Promise<SqliteBackbone> => {
      const backbone = await openSqliteBackbone({ file: join(dir, 'fleet.db'), ...writer, ...options });
      opened.push(backbone);
      return backbone;
    };
    const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
      try {
        await promise;
      } catch (err) {
        return err;
      }
      throw new Error('expected the call to reject, but it resolved');
    };

    beforeEach(() => {
      dir = tempDir();
    });
    afterEach(async () => {
      try {
        await Promise.all(opened.splice(0).map((backbone) => backbone.close()));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('creates the parent directory of the database file', async () => {
      const file = join(dir, 'nested', 'data', 'fleet.db');
      await open({ file });
      expect(existsSync(file)).toBe(true);
    });

    it('sets WAL, synchronous=FULL, a busy timeout and foreign keys by default', async () => {
      const backbone = await open();
      expect(backbone.pragma('journal_mode')).toBe('wal');
      expect(backbone.pragma('synchronous')).toBe(2);
      expect(backbone.pragma('foreign_keys')).toBe(1);
      expect(backbone.pragma('busy_timeout')).toBe(5000);
    });

    it('offers synchronous=NORMAL when asked for benchmark durability', async () => {
      expect((await open({ durability: 'normal' })).pragma('synchronous')).toBe(1);
    });

    it('applies every migration once and keeps data across reopening', async () => {
      const first = await open();
      expect(first.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
      const { task } = await first.tasks.submit({ command: ['true'] }, 1);
      await first.close();
      const second = await open();
      expect(second.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await second.tasks.get(task.id)).toEqual(task);
      expect(await second.events.latestSeq()).toBe(1);
    });

    it('refuses a database whose schema is newer than this build', async () => {
      await (await open()).close();
      const raw = new Database(join(dir, 'fleet.db'));
      raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)').run('from the future');
      raw.close();
      const err = await rejection(open());
      expect(err).toBeInstanceOf(BitacoraError);
      expect((err as BitacoraError).message).toMatch(/version 999/);
    });

    it('maps a lock held by another process to StoreUnavailableError', async () => {
      const backbone = await open({ busyTimeoutMs: 50 });
      const other = new Database(join(dir, 'fleet.db'));
      other.prepare('BEGIN IMMEDIATE').run();
      try {
        const err = await rejection(backbone.kv.put('k', 1));
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect((err as StoreUnavailableError).code).toBe(ErrorCode.StoreUnavailable);
      } finally {
        other.prepare('ROLLBACK').run();
        other.close();
      }
      expect((await backbone.kv.put('k', 2)).value).toBe(2);
    });

    describe('on a read-only database file', () => {
      let file: string;
      let immutable = false;

      /** chmod is enough for a normal user; root ignores it, so also try the immutable attribute. */
      function makeReadOnly(path: string): boolean {
        chmodSync(path, 0o444);
        if (process.getuid?.() === 0) {
          try {
            execFileSync('chattr', ['+i', path], { stdio: 'ignore' });
            immutable = true;
          } catch {
            return false;
          }
        }
        try {
          closeSync(openSync(path, 'r+'));
          return false;
        } catch {
          return true;
        }
      }

      function release(path: string): void {
        if (immutable) execFileSync('chattr', ['-i', path], { stdio: 'ignore' });
        immutable = false;
        chmodSync(path, 0o644);
      }

      afterEach(() => {
        if (existsSync(file)) release(file);
      });

      it('refuses writes with StoreUnavailableError and leaves nothing half-written', async (ctx) => {
        file = join(dir, 'fleet.db');
        const seeded = await open({ file });
        await seeded.tasks.submit({ command: ['seed'] }, 1);
        await seeded.close();
        if (!makeReadOnly(file)) return ctx.skip();
        let readOnly: SqliteBackbone | null = null;
        let err: unknown;
        try {
          readOnly = await open({ file });
          await readOnly.tasks.submitMany([{ command: ['a'] }, { command: ['b'] }], 2);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect((err as StoreUnavailableError).retryable).toBe(true);
        await readOnly?.close();
        release(file);
        const reopened = await open({ file });
        expect((await reopened.tasks.list()).map((t) => t.command[0])).toEqual(['seed']);
        expect(await reopened.events.latestSeq()).toBe(1);
      });
    });

    it('keeps delivering to other watchers when a listener throws, and reports it', async () => {
      const reported: string[] = [];
      const backbone = await open({ onListenerError: (err, event) => reported.push(`${(err as Error).message} on #${event.seq}`) });
      const seen: number[] = [];
      const stopBad = backbone.events.watch(0, () => {
        throw new Error('listener bug');
      });
      const stopGood = backbone.events.watch(0, (e) => seen.push(e.seq));
      await backbone.kv.put('k', 1);
      expect((await backbone.kv.get('k'))?.value).toBe(1);
      expect(seen).toEqual([1]);
      expect(reported).toEqual(['listener bug on #1']);
      stopBad();
      stopGood();
    });
  });
}

describe('SqliteBackbone (local writer) on a full disk', () => {
  // max_page_count is a setting of one connection: with the local writer, the connection the
  // test reaches through pragma() is also the one that writes.
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('maps a full disk to StoreUnavailableError and writes nothing of the batch', async () => {
    const backbone = await openSqliteBackbone({ file: join(dir, 'fleet.db'), writer: 'local' });
    try {
      await backbone.tasks.submit({ command: ['before'] }, 1);
      backbone.pragma(`max_page_count = ${Number(backbone.pragma('page_count')) + 2}`);
      const big = Array.from({ length: 200 }, (_, i) => ({ command: ['echo', `${i}`.padEnd(2000, 'x')] }));
      const err = await backbone.tasks.submitMany(big, 2).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).retryable).toBe(true);
      expect((err as StoreUnavailableError).cause).toMatchObject({ code: 'SQLITE_FULL' });
      expect((await backbone.tasks.list()).map((t) => t.command[0])).toEqual(['before']);
      expect(await backbone.events.latestSeq()).toBe(1);
    } finally {
      await backbone.close();
    }
  });

  it('fails every write of a group the full disk rolled back, and commits none of them', async () => {
    const backbone = await openSqliteBackbone({ file: join(dir, 'fleet.db'), writer: 'local' });
    try {
      await backbone.tasks.submit({ command: ['before'] }, 1);
      backbone.pragma(`max_page_count = ${Number(backbone.pragma('page_count')) + 2}`);
      const big = Array.from({ length: 200 }, (_, i) => ({ command: ['echo', `${i}`.padEnd(2000, 'x')] }));
      // Issued together: one group commit, in which the middle write fills the disk.
      const results = await Promise.allSettled([
        backbone.tasks.submit({ command: ['small-1'] }, 2),
        backbone.tasks.submitMany(big, 2),
        backbone.tasks.submit({ command: ['small-2'] }, 2),
      ]);
      for (const result of results) {
        expect(result.status).toBe('rejected');
        expect(result.status === 'rejected' && result.reason).toBeInstanceOf(StoreUnavailableError);
      }
      expect((await backbone.tasks.list()).map((t) => t.command[0])).toEqual(['before']);
      expect(await backbone.events.latestSeq()).toBe(1);
    } finally {
      await backbone.close();
    }
  });
});
