/**
 * The audit trail against tampering, end to end: a real `bitacora up --local-worker` writes a
 * MAC'd trail, signed checkpoints to its checkpoint file and to its local agent; the master is
 * stopped, a copy of its data directory is tampered with as someone holding `fleet.db` (but
 * not the keys) would — newest entries deleted, one deleted in the middle, two swapped, one
 * edited and the chain recomputed with the public algorithm — and restarted;
 * `bitacora audit verify` (on the master, with only the public key, with the agent's
 * checkpoint) must name each break.
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainEntry, type AuditEntry } from '../../src/security/audit.js';
import { BIN, bitacora, startBitacora } from '../helpers/cli-binary.js';

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill('SIGINT');
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Row { seq: number; data: string }

describe.skipIf(!existsSync(BIN))('bitacora audit verify (built binary, real master, tampered copies)', () => {
  let dir: string;
  let pristine: string;
  const running: ChildProcess[] = [];
  let head = 0;

  const up = async (dataDir: string, ...extra: string[]) => {
    const started = await startBitacora(['up', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--json', '--data-dir', dataDir, ...extra]);
    running.push(started.child);
    return started;
  };
  const verify = (dataDir: string, ...args: string[]) => bitacora(['--data-dir', dataDir, 'audit', 'verify', '--json', ...args]);
  const agentCheckpoint = (dataDir: string) => join(dataDir, 'local-agent', 'audit-checkpoint.json');

  /** A stopped copy of the pristine master, tampered with by `tamper`, then started again (no local worker). */
  async function tampered(name: string, tamper: (db: Database.Database, rows: Row[]) => void): Promise<string> {
    const copy = join(dir, name);
    cpSync(pristine, copy, { recursive: true });
    const db = new Database(join(copy, 'fleet.db'));
    const rows = db.prepare(`SELECT seq, data FROM events WHERE type = 'audit' ORDER BY seq`).all() as Row[];
    tamper(db, rows);
    db.close();
    await up(copy);
    return copy;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-audit-cli-'));
    pristine = join(dir, 'pristine');
    const master = await up(pristine, '--local-worker');
    for (const name of ['ana', 'bo', 'cy', 'di', 'ed', 'flo']) {
      expect((await bitacora(['--data-dir', pristine, 'user', 'add', name, '--role', 'viewer'])).code).toBe(0);
    }
    const log = JSON.parse((await bitacora(['--data-dir', pristine, 'audit', '--json', '--limit', '10000'])).stdout) as Array<{ entry: AuditEntry }>;
    head = log[log.length - 1]!.entry.index;
    // The local agent keeps the newest checkpoint it was sent; wait until it covers the head.
    await until(() => existsSync(agentCheckpoint(pristine)) && (JSON.parse(readFileSync(agentCheckpoint(pristine), 'utf8')) as { headIndex: number }).headIndex >= head, 'agent checkpoint at the head');
    await stop(master.child);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(running.map(stop));
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps its keys outside the database: a 0600 MAC key and signing key, a public key and a checkpoint file', () => {
    expect(statSync(join(pristine, 'secrets', 'audit-mac.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(pristine, 'secrets', 'audit-signing.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(pristine, 'audit-signing.pub'), 'utf8')).toContain('BEGIN PUBLIC KEY');
    const lines = readFileSync(join(pristine, 'audit-checkpoints.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(lines[lines.length - 1]!)).toMatchObject({ version: 1, headIndex: head });
    const db = new Database(join(pristine, 'fleet.db'), { readonly: true });
    const key = readFileSync(join(pristine, 'secrets', 'audit-mac.key'), 'utf8').trim();
    const everything = (db.prepare('SELECT group_concat(data) AS all_data FROM events').get() as { all_data: string }).all_data;
    expect(everything.includes(key)).toBe(false);
    db.close();
  });

  it('verifies an untouched trail: on the master, with only the public key, and against the agent\'s checkpoint', async () => {
    const copy = join(dir, 'untouched');
    cpSync(pristine, copy, { recursive: true });
    await up(copy);
    const onMaster = await verify(copy);
    expect(onMaster.code).toBe(0);
    expect(JSON.parse(onMaster.stdout)).toMatchObject({ ok: true, keyed: true, checkpoints: { latest: { headIndex: expect.any(Number) } } });
    const publicOnly = await verify(copy, '--public-key', join(copy, 'audit-signing.pub'), '--checkpoint', agentCheckpoint(copy));
    expect(publicOnly.code).toBe(0);
    expect(JSON.parse(publicOnly.stdout)).toMatchObject({ ok: true, keyed: false });
    const human = await bitacora(['--data-dir', copy, 'audit', 'verify', '--checkpoint', agentCheckpoint(copy)]);
    expect(human.stdout).toMatch(/^audit trail intact: \d+ entries verified \(hashes and MACs\), against \d+ signed checkpoint/);
  });

  it('names the newest entries removed, even when the master\'s own checkpoint file went with them (the agent\'s copy)', async () => {
    const copy = await tampered('truncated', (db, rows) => {
      for (const row of rows.slice(-3)) db.prepare('DELETE FROM events WHERE seq = ?').run(row.seq);
    });
    const result = await verify(copy);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).break).toMatchObject({ kind: 'truncated', index: head - 2 });

    const both = join(dir, 'truncated-and-file');
    cpSync(pristine, both, { recursive: true });
    const db = new Database(join(both, 'fleet.db'));
    const rows = db.prepare(`SELECT seq FROM events WHERE type = 'audit' ORDER BY seq`).all() as Row[];
    for (const row of rows.slice(-3)) db.prepare('DELETE FROM events WHERE seq = ?').run(row.seq);
    db.close();
    rmSync(join(both, 'audit-checkpoints.jsonl'));
    await up(both);
    expect((await verify(both)).code).toBe(0); // nothing inside the master's data directory remembers the removed entries…
    const withAgent = await verify(both, '--checkpoint', agentCheckpoint(pristine));
    expect(withAgent.code).toBe(1); // …but the agent does
    expect(JSON.parse(withAgent.stdout).break).toMatchObject({ kind: 'truncated', index: head - 2 });
  });

  it('names an entry deleted in the middle', async () => {
    let deletedIndex = 0;
    const copy = await tampered('middle', (db, rows) => {
      const victim = rows[Math.floor(rows.length / 2)]!;
      deletedIndex = (JSON.parse(victim.data) as AuditEntry).index;
      db.prepare('DELETE FROM events WHERE seq = ?').run(victim.seq);
    });
    const result = await verify(copy);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).break).toMatchObject({ kind: 'deleted', index: deletedIndex });
    const human = await bitacora(['--data-dir', copy, 'audit', 'verify']);
    expect(human.stdout).toContain(`#${deletedIndex} is missing`);
  });

  it('names reordered entries', async () => {
    let moved = 0;
    const copy = await tampered('reordered', (db, rows) => {
      const [a, b] = [rows[2]!, rows[3]!];
      moved = (JSON.parse(b.data) as AuditEntry).index;
      db.prepare('UPDATE events SET data = ? WHERE seq = ?').run(b.data, a.seq);
      db.prepare('UPDATE events SET data = ? WHERE seq = ?').run(a.data, b.seq);
    });
    const result = await verify(copy);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).break).toMatchObject({ kind: 'reordered', index: moved });
  });

  it('names a chain recomputed from an edited entry: by its MAC on the master, by the checkpoints with only the public key', async () => {
    let edited = 0;
    const copy = await tampered('recomputed', (db, rows) => {
      // The attacker's tools are the public algorithm (security/audit's chainEntry) without the key.
      let prev: AuditEntry | null = null;
      const from = Math.floor(rows.length / 2);
      rows.forEach((row, i) => {
        const entry = JSON.parse(row.data) as AuditEntry;
        if (i < from) return void (prev = entry);
        if (i === from) edited = entry.index;
        const record = { actor: i === from ? 'user:nobody' : entry.actor, action: entry.action, target: entry.target, outcome: entry.outcome, reason: entry.reason ?? undefined, details: entry.details } as const;
        const forged: AuditEntry = { ...chainEntry(prev, { ...record, ...(record.reason === undefined ? {} : { reason: record.reason }) }, entry.at), ...(entry.mac ? { mac: entry.mac } : {}) };
        db.prepare('UPDATE events SET data = ? WHERE seq = ?').run(JSON.stringify(forged), row.seq);
        prev = forged;
      });
    });
    const onMaster = await verify(copy);
    expect(onMaster.code).toBe(1);
    expect(JSON.parse(onMaster.stdout).break).toMatchObject({ kind: 'recomputed', index: edited });
    const publicOnly = await verify(copy, '--public-key', join(copy, 'audit-signing.pub'));
    expect(publicOnly.code).toBe(1);
    expect(JSON.parse(publicOnly.stdout).break).toMatchObject({ kind: 'recomputed' });
    expect(JSON.parse(publicOnly.stdout).break.index).toBeGreaterThanOrEqual(edited);
  });

  it('refuses a checkpoint file that is not one and a key that is not the audit key (exit 2)', async () => {
    const copy = join(dir, 'untouched');
    const bad = await verify(copy, '--public-key', join(copy, 'tls', 'ca.pem'));
    expect(bad.code).toBe(2);
    const notJson = await verify(copy, '--checkpoint', join(copy, 'audit-signing.pub'));
    expect(notJson.code).toBe(2);
  });
});
