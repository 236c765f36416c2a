// A process killed with SIGKILL mid-stream loses no acknowledged task: the embedded store's durability promise.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteBackbone } from '../../src/store/sqlite/index.js';

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

describe('Embedded store durability across a crash', () => {
  let dir: string;

  beforeEach(() => {
    if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: run \`npm run build\` first (npm test does it in pretest)`);
    dir = mkdtempSync(join(tmpdir(), 'bitacora-crash-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged task after the process is killed mid-stream', async () => {
    const file = join(dir, 'fleet.db');
    const { acked, signal } = await runUntilKilled([file, 'single'], 300);
    expect(signal).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(300);

    const backbone = openSqliteBackbone({ file });
    try {
      expect(backbone.pragma('integrity_check')).toBe('ok');
      const missing = acked.filter((id) => backbone.tasks.get(id) === null);
      expect(missing).toEqual([]);
      expect(backbone.tasks.list().every((t) => t.state === 'pending')).toBe(true);
    } finally {
      backbone.close();
    }
  });

  it('keeps each batch whole or not at all, with its events, after a kill', async () => {
    const file = join(dir, 'fleet.db');
    const { acked } = await runUntilKilled([file, 'batch', '25'], 40);
    const ackedIds = acked.flatMap((line) => line.split(' '));

    const backbone = openSqliteBackbone({ file });
    try {
      const tasks = backbone.tasks.list();
      expect(ackedIds.filter((id) => backbone.tasks.get(id) === null)).toEqual([]);
      const perBatch = new Map<string, number>();
      for (const t of tasks) perBatch.set(t.labels['batch'] ?? '?', (perBatch.get(t.labels['batch'] ?? '?') ?? 0) + 1);
      expect([...perBatch.values()].every((n) => n === 25)).toBe(true);
      expect(backbone.events.latestSeq()).toBe(tasks.length);
    } finally {
      backbone.close();
    }
  });
});
