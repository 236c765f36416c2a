// The disk's durable-commit cost on this machine: SQLite (WAL, synchronous=FULL) commits of
// one small row, the unit our store pays per write transaction. Reported with the machine,
// so a rate bounded by commits can be read as "commits per second ÷ commits per task".
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { now, tempDir } from './proc.mjs';
import { summarize } from './stats.mjs';

export function diskProbe(n = 300) {
  const db = new Database(join(tempDir('bitacora-bench-disk-'), 'probe.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const commit = db.transaction((v) => insert.run(v));
    const samples = [];
    for (let i = 0; i < n; i++) {
      const t = now();
      commit('x'.repeat(200));
      samples.push(now() - t);
    }
    const s = summarize(samples);
    return { sqliteFullCommitMs: s, commitsPerSecAtP50: s.p50 ? Math.round(1000 / s.p50) : null };
  } finally {
    db.close();
  }
}
