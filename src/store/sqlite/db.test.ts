// The SQLite connection helper: nested transactions publish their events once, after the outermost commit; errors map to domain errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BitacoraError, ConflictError, ErrorCode, NotFoundError, StoreUnavailableError, type FleetEvent } from '../../core/index.js';
import { mapSqliteError, refusalAfterCommit, SqliteDb } from './db.js';
import { recordEvent } from './events.js';
import { migrate } from './migrations/index.js';

describe('SqliteDb', () => {
  let dir: string;
  let db: SqliteDb;
  let published: FleetEvent[][];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-db-'));
    db = new SqliteDb({ file: join(dir, 'fleet.db') });
    migrate(db.raw);
    published = [];
    db.setCommitListener((events) => published.push(events));
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const event = (subject: string) => recordEvent(db, 'config.updated', subject, {}, 1);
  const count = () => (db.raw.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;

  it('publishes the events of nested writes once, after the outermost commit, in order', () => {
    db.write('outer', () => {
      event('a');
      db.write('inner', () => event('b'));
      expect(published).toEqual([]);
      event('c');
    });
    expect(published.map((batch) => batch.map((e) => e.subject))).toEqual([['a', 'b', 'c']]);
  });

  it('drops the events of a nested write that failed, keeping the rest of the outer one', () => {
    db.write('outer', () => {
      event('kept');
      expect(() =>
        db.write('inner', () => {
          event('dropped');
          throw new NotFoundError('thing', 'x');
        }),
      ).toThrow(NotFoundError);
    });
    expect(published.flat().map((e) => e.subject)).toEqual(['kept']);
    expect(count()).toBe(1);
  });

  it('publishes nothing and keeps nothing when the outer write fails', () => {
    expect(() =>
      db.write('outer', () => {
        event('lost');
        throw new Error('boom');
      }),
    ).toThrow(BitacoraError);
    expect(published).toEqual([]);
    expect(count()).toBe(0);
  });

  it('commits the change made before a refusal marked refusalAfterCommit, then throws it', () => {
    const refusal = new BitacoraError(ErrorCode.ApprovalExpired, 'too late');
    expect(() =>
      db.write('outer', () => {
        event('before');
        db.write('inner', () => {
          event('recorded');
          throw refusalAfterCommit(refusal);
        });
        event('never reached');
      }),
    ).toThrow(refusal);
    expect(published.flat().map((e) => e.subject)).toEqual(['before', 'recorded']);
    expect(count()).toBe(2);
    expect(() => db.write('alone', () => {
      event('alone');
      throw refusalAfterCommit(new NotFoundError('thing', 'y'));
    })).toThrow(NotFoundError);
    expect(count()).toBe(3);
  });

  it('fails the whole transaction, and every later nested write, when SQLite rolls it back under a savepoint', () => {
    const big = 'x'.repeat(64 * 1024);
    db.raw.pragma(`max_page_count = ${Number(db.raw.pragma('page_count', { simple: true })) + 4}`);
    let inner: unknown;
    let later: unknown;
    let outer: unknown;
    try {
      db.write('group', () => {
        db.write('first', () => event('first'));
        try {
          db.write('too big', () => recordEvent(db, 'config.updated', 'big', { big: big.repeat(8) }, 1));
        } catch (err) {
          inner = err;
        }
        try {
          db.write('after', () => event('after'));
        } catch (err) {
          later = err;
        }
      });
    } catch (err) {
      outer = err;
    }
    expect(inner).toBeInstanceOf(StoreUnavailableError);
    expect((inner as StoreUnavailableError).cause).toMatchObject({ code: 'SQLITE_FULL' });
    expect(later).toBe(inner);
    expect(outer).toBe(inner);
    expect(published).toEqual([]);
    expect(count()).toBe(0);
    db.write('next', () => event('next'));
    expect(count()).toBe(1);
  });

  it('refuses to record an event outside a transaction', () => {
    expect(() => event('loose')).toThrow(/outside a transaction/);
  });

  it('refuses use after close, and closes idempotently', () => {
    db.close();
    db.close();
    expect(() => db.write('x', () => 1)).toThrow(/closed/);
    expect(() => db.read(() => 1)).toThrow(/closed/);
  });
});

describe('mapSqliteError', () => {
  const sqliteError = (code: string) => Object.assign(new Error(`sqlite said ${code}`), { code });

  it('turns constraint violations into a ConflictError naming the entity', () => {
    const err = mapSqliteError(sqliteError('SQLITE_CONSTRAINT_UNIQUE'), "project 'alpha'");
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.message).toContain("project 'alpha'");
  });

  it.each(['SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_IOERR_FSYNC', 'SQLITE_CANTOPEN', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'EROFS'])(
    'turns %s into a retryable StoreUnavailableError keeping the cause',
    (code) => {
      const cause = sqliteError(code);
      const err = mapSqliteError(cause, 'task');
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(err.retryable).toBe(true);
      expect(err.cause).toBe(cause);
    },
  );

  it('passes domain errors through and wraps anything else as internal', () => {
    const domain = new NotFoundError('task', 'tsk_1');
    expect(mapSqliteError(domain, 'task')).toBe(domain);
    expect(mapSqliteError(sqliteError('SQLITE_CORRUPT'), 'task').code).toBe(ErrorCode.Internal);
  });
});
