// A process killed with SIGKILL mid-stream loses no acknowledged task — one by one, concurrent (group commits) or in batches, with either writer: the embedded store's durability promise.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteBackbone, type SqliteBackboneOptions } from '../../src/store/sqlite/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, 'fixtures', 'submit-until-killed.mjs');
const COMPILED = join(here, '..', '..', 'dist', 'store', 'sqlite', 'index.js');

/**
 * Runs the fixture until it has acknowledged `killAfter` lines, SIGKILLs it, and returns
 * every complete line it printed (acknowledgements may still arrive after the kill is sent).
 */
async function runUntilKilled(args: string[], killAfter: number): Promise<{ acked: string[]; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, [FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let buffer = '';
  let stderr = '';
  const lines: string[] = [];
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? ''; // an incomplete last line was not fully acknowledged
    lines.push(...parts);
    if (lines.length > killAfter && child.exitCode === null && !child.killed) child.kill('SIGKILL');
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => (sig ? resolve(sig) : reject(new Error(`child exited by itself (code ${code}): ${stderr}`))));
  });
  expect(lines[0]).toBe('ready');
  return { acked: lines.slice(1), signal };
}

/** The writer configurations of the embedded store: the default (a worker thread) and the local one. */
const WRITERS = ['default', 'local'] as const;

for (const writer of WRITERS) {
  describe(`Embedded store durability across a crash (${writer} writer)`, () => {
    let dir: string;
    const options = (file: string): SqliteBackboneOptions => (writer === 'default' ? { file } : { file, writer });

    beforeEach(() => {
      if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: run \`npm run build\` first (npm test does it in pretest)`);
      dir = mkdtempSync(join(tmpdir(), 'bitacora-crash-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps every acknowledged task after the process is killed mid-stream', async () => {
      const file = join(dir, 'fleet.db');
      const { acked, signal } = await runUntilKilled([file, 'single', '1', writer], 300);
      expect(signal).toBe('SIGKILL');
      expect(acked.length).toBeGreaterThanOrEqual(300);

      const backbone = await openSqliteBackbone(options(file));
      try {
        expect(backbone.pragma('integrity_check')).toBe('ok');
        const missing: string[] = [];
        for (const id of acked) if ((await backbone.tasks.get(id)) === null) missing.push(id);
        expect(missing).toEqual([]);
        expect((await backbone.tasks.list()).every((t) => t.state === 'pending')).toBe(true);
      } finally {
        await backbone.close();
      }
    });

    it('keeps every acknowledged task of concurrent submissions (group commits) after a kill', async () => {
      const file = join(dir, 'fleet.db');
      const { acked, signal } = await runUntilKilled([file, 'concurrent', '32', writer], 600);
      expect(signal).toBe('SIGKILL');

      const backbone = await openSqliteBackbone(options(file));
      try {
        expect(backbone.pragma('integrity_check')).toBe('ok');
        const stored = new Set((await backbone.tasks.list()).map((t) => t.id));
        expect(acked.filter((id) => !stored.has(id))).toEqual([]);
        expect(new Set(acked).size).toBe(acked.length);
        expect(await backbone.events.latestSeq()).toBe(stored.size);
      } finally {
        await backbone.close();
      }
    });

    it('keeps each batch whole or not at all, with its events, after a kill', async () => {
      const file = join(dir, 'fleet.db');
      const { acked } = await runUntilKilled([file, 'batch', '25', writer], 40);
      const ackedIds = acked.flatMap((line) => line.split(' '));

      const backbone = await openSqliteBackbone(options(file));
      try {
        const tasks = await backbone.tasks.list();
        const stored = new Set(tasks.map((t) => t.id));
        expect(ackedIds.filter((id) => !stored.has(id))).toEqual([]);
        const perBatch = new Map<string, number>();
        for (const t of tasks) perBatch.set(t.labels['batch'] ?? '?', (perBatch.get(t.labels['batch'] ?? '?') ?? 0) + 1);
        expect([...perBatch.values()].every((n) => n === 25)).toBe(true);
        expect(await backbone.events.latestSeq()).toBe(tasks.length);
      } finally {
        await backbone.close();
      }
    });
  });
}
