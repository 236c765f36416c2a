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

describeBackboneConformance('sqlite', () => {
  const dir = tempDir();
  const backbone = openSqliteBackbone({ file: join(dir, 'fleet.db') });
  return {
    backbone,
    cleanup: () => {
      backbone.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteBackbone', () => {
  let dir: string;
  const opened: SqliteBackbone[] = [];
  const open = (options: Partial<SqliteBackboneOptions> = {}) => {
    const backbone = openSqliteBackbone({ file: join(dir, 'fleet.db'), ...options });
    opened.push(backbone);
    return backbone;
  };

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => {
    for (const backbone of opened.splice(0)) backbone.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the parent directory of the database file', () => {
    const file = join(dir, 'nested', 'data', 'fleet.db');
    open({ file });
    expect(existsSync(file)).toBe(true);
  });

  it('sets WAL, synchronous=FULL, a busy timeout and foreign keys by default', () => {
    const backbone = open();
    expect(backbone.kind).toBe('sqlite');
    expect(backbone.pragma('journal_mode')).toBe('wal');
    expect(backbone.pragma('synchronous')).toBe(2);
    expect(backbone.pragma('foreign_keys')).toBe(1);
    expect(backbone.pragma('busy_timeout')).toBe(5000);
  });

  it('offers synchronous=NORMAL when asked for benchmark durability', () => {
    expect(open({ durability: 'normal' }).pragma('synchronous')).toBe(1);
  });

  it('applies every migration once and keeps data across reopening', () => {
    const first = open();
    expect(first.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
    const { task } = first.tasks.submit({ command: ['true'] }, 1);
    first.close();
    const second = open();
    expect(second.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(second.tasks.get(task.id)).toEqual(task);
    expect(second.events.latestSeq()).toBe(1);
  });

  it('refuses a database whose schema is newer than this build', () => {
    open().close();
    const raw = new Database(join(dir, 'fleet.db'));
    raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)').run('from the future');
    raw.close();
    const err = (() => {
      try {
        open();
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(BitacoraError);
    expect((err as BitacoraError).message).toMatch(/version 999/);
  });

  it('closes idempotently and refuses use after close', () => {
    const backbone = open();
    backbone.close();
    backbone.close();
    expect(() => backbone.tasks.submit({ command: ['true'] }, 1)).toThrow(/closed/);
  });

  it('maps a full disk to StoreUnavailableError and writes nothing of the batch', () => {
    const backbone = open();
    backbone.tasks.submit({ command: ['before'] }, 1);
    backbone.pragma(`max_page_count = ${Number(backbone.pragma('page_count')) + 2}`);
    const big = Array.from({ length: 200 }, (_, i) => ({ command: ['echo', `${i}`.padEnd(2000, 'x')] }));
    let err: unknown;
    try {
      backbone.tasks.submitMany(big, 2);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).retryable).toBe(true);
    expect((err as StoreUnavailableError).cause).toMatchObject({ code: 'SQLITE_FULL' });
    expect(backbone.tasks.list().map((t) => t.command[0])).toEqual(['before']);
    expect(backbone.events.latestSeq()).toBe(1);
  });

  it('maps a lock held by another process to StoreUnavailableError', () => {
    const backbone = open({ busyTimeoutMs: 50 });
    const other = new Database(join(dir, 'fleet.db'));
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      let err: unknown;
      try {
        backbone.kv.put('k', 1);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).code).toBe(ErrorCode.StoreUnavailable);
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    expect(backbone.kv.put('k', 2).value).toBe(2);
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

    it('refuses writes with StoreUnavailableError and leaves nothing half-written', (ctx) => {
      file = join(dir, 'fleet.db');
      const seeded = open({ file });
      seeded.tasks.submit({ command: ['seed'] }, 1);
      seeded.close();
      if (!makeReadOnly(file)) ctx.skip();
      let readOnly: SqliteBackbone | null = null;
      let err: unknown;
      try {
        readOnly = open({ file });
        readOnly.tasks.submitMany([{ command: ['a'] }, { command: ['b'] }], 2);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).retryable).toBe(true);
      readOnly?.close();
      release(file);
      const reopened = open({ file });
      expect(reopened.tasks.list().map((t) => t.command[0])).toEqual(['seed']);
      expect(reopened.events.latestSeq()).toBe(1);
    });
  });

  it('keeps delivering to other watchers when a listener throws, and reports it', () => {
    const reported: string[] = [];
    const backbone = open({ onListenerError: (err, event) => reported.push(`${(err as Error).message} on #${event.seq}`) });
    const seen: number[] = [];
    const stopBad = backbone.events.watch(0, () => {
      throw new Error('listener bug');
    });
    const stopGood = backbone.events.watch(0, (e) => seen.push(e.seq));
    backbone.kv.put('k', 1);
    expect(backbone.kv.get('k')?.value).toBe(1);
    expect(seen).toEqual([1]);
    expect(reported).toEqual(['listener bug on #1']);
    stopBad();
    stopGood();
  });
});
