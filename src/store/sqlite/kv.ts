/** KeyValueStore on SQLite: JSON values, a global monotonic revision, compare-and-set in one transaction. */
import { z } from 'zod';
import { ConflictError, parseOrThrow, ValidationError } from '../../core/index.js';
import type { KeyValueStore, KvEntry } from '../kv.js';
import { fromJson, nonNegativeInt, toJson } from './codec.js';
import type { SqliteDb } from './db.js';
import { recordEvent } from './events.js';
import type { Synchronous } from './synchronous.js';

const keySchema = z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters');

interface KvRow {
  key: string;
  value: string;
  revision: number;
  updated_at: number;
}

function toEntry<T>(row: KvRow): KvEntry<T> {
  return { key: row.key, value: fromJson<T>(row.value), revision: row.revision, updatedAt: row.updated_at };
}

export class SqliteKeyValueStore implements Synchronous<KeyValueStore> {
  constructor(private readonly db: SqliteDb) {}

  get<T = unknown>(key: string): KvEntry<T> | null {
    const row = this.db.read(() => this.row(key));
    return row ? toEntry<T>(row) : null;
  }

  put<T>(key: string, value: T, options: { expectedRevision?: number; quiet?: boolean } = {}): KvEntry<T> {
    parseOrThrow(keySchema, key, 'kv key');
    const text = value === undefined ? undefined : toJson(value);
    if (text === undefined) throw new ValidationError(`invalid kv value for '${key}': must be JSON-serializable`, [{ path: 'value', message: 'must be JSON-serializable' }]);
    if (options.expectedRevision !== undefined) nonNegativeInt(options.expectedRevision, 'expectedRevision');
    const now = Date.now();
    return this.db.write(`kv key '${key}'`, () => {
      this.checkRevision(key, this.row(key), options.expectedRevision);
      const revision = this.nextRevision();
      this.db.stmt(
        'INSERT INTO kv (key, value, revision, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision, updated_at = excluded.updated_at',
      ).run(key, text, revision, now);
      if (!options.quiet) recordEvent(this.db, 'kv.updated', key, { key, revision }, now);
      return { key, value: fromJson<T>(text), revision, updatedAt: now };
    });
  }

  delete(key: string, options: { expectedRevision?: number } = {}): boolean {
    if (options.expectedRevision !== undefined) nonNegativeInt(options.expectedRevision, 'expectedRevision');
    const now = Date.now();
    return this.db.write(`kv key '${key}'`, () => {
      const row = this.row(key);
      this.checkRevision(key, row, options.expectedRevision);
      if (!row) return false;
      this.db.stmt('DELETE FROM kv WHERE key = ?').run(key);
      recordEvent(this.db, 'kv.updated', key, { key, deleted: true, revision: row.revision }, now);
      return true;
    });
  }

  list<T = unknown>(prefix: string): KvEntry<T>[] {
    return this.db.read(() =>
      (this.db.stmt('SELECT key, value, revision, updated_at FROM kv WHERE key >= ? AND substr(key, 1, ?) = ? ORDER BY key')
        .all(prefix, [...prefix].length, prefix) as KvRow[]).map((row) => toEntry<T>(row)),
    );
  }

  private row(key: string): KvRow | undefined {
    return this.db.stmt('SELECT key, value, revision, updated_at FROM kv WHERE key = ?').get(key) as KvRow | undefined;
  }

  private checkRevision(key: string, row: KvRow | undefined, expected: number | undefined): void {
    if (expected === undefined) return;
    const current = row?.revision ?? 0;
    if (current !== expected) {
      throw new ConflictError(
        expected === 0 ? `kv key '${key}' already exists (revision ${current})` : `kv key '${key}' is at revision ${current}, not ${expected}; re-read and retry`,
        { details: { key, expectedRevision: expected, revision: current } },
      );
    }
  }

  private nextRevision(): number {
    const row = this.db.stmt(
      "INSERT INTO counters (name, value) VALUES ('kv.revision', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
    ).get() as { value: number };
    return row.value;
  }
}
