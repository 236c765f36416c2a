/**
 * Numbered schema migrations, applied in order on open and recorded in `schema_migrations`.
 * Add a new file `NNN_name.ts` and list it below; never edit a released migration.
 */
import type Database from 'better-sqlite3';
import { BitacoraError, ErrorCode } from '../../../core/index.js';
import { migration001 } from './001_initial.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';

export const MIGRATIONS: readonly Migration[] = [migration001];

const TABLE = 'schema_migrations';

function appliedVersions(raw: Database.Database): Set<number> {
  const exists = raw.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(TABLE);
  if (!exists) return new Set();
  const rows = raw.prepare(`SELECT version FROM ${TABLE}`).all() as Array<{ version: number }>;
  return new Set(rows.map((r) => r.version));
}

/**
 * Applies the missing migrations, each in its own IMMEDIATE transaction (re-checked inside,
 * so two processes opening at once apply each migration once). Writes nothing when the
 * schema is current, so an up-to-date read-only file still opens. Returns the versions applied.
 */
export function migrate(raw: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const known = Math.max(0, ...migrations.map((m) => m.version));
  const before = appliedVersions(raw);
  const newest = Math.max(0, ...before);
  if (newest > known) {
    throw new BitacoraError(
      ErrorCode.Internal,
      `the database schema is at version ${newest}, newer than this Bitácora supports (${known}); upgrade Bitácora`,
      { details: { schemaVersion: newest, supported: known } },
    );
  }
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (before.has(migration.version)) continue;
    raw.transaction(() => {
      raw.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
      if (raw.prepare(`SELECT 1 FROM ${TABLE} WHERE version = ?`).get(migration.version)) return;
      raw.exec(migration.sql);
      raw.prepare(`INSERT INTO ${TABLE} (version, name, applied_at) VALUES (?, ?, ?)`).run(migration.version, migration.name, Date.now());
      applied.push(migration.version);
    }).immediate();
  }
  return applied;
}
