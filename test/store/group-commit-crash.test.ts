// Group commit keeps "acknowledge after persist" across crashes: a resolved submission survives
// a SIGKILL of the process, and a crash in the middle of a group commit loses only that group,
// none of which was acknowledged. The child runs the built backbone with its writer thread.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/store.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, 'fixtures', 'group-commit-until-killed.mjs');
const COMPILED = join(here, '..', '..', 'dist', 'store', 'sqlite', 'writer', 'writer-thread.js');
/** A child that neither acknowledges enough nor dies by itself is stopped after this long. */
const GIVE_UP_MS = 45_000;

interface Run {
  /** Acknowledged submissions, in the order printed: [n, task id]. */
  acked: Array<[number, string]>;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs the fixture; when `killAfter` is set, SIGKILLs it as soon as that many submissions were
 * acknowledged (more may still be printed before it dies). Resolves once it died of a signal.
 */
async function runChild(file: string, options: { killAfter?: number; env?: Record<string, string> }): Promise<Run> {
  const child = spawn(process.execPath, [FIXTURE, file, '32'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let buffer = '';
  let stderr = '';
  const lines: string[] = [];
  const giveUp = setTimeout(() => child.kill('SIGTERM'), GIVE_UP_MS);
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? ''; // an incomplete last line was not fully acknowledged
    lines.push(...parts);
    if (options.killAfter !== undefined && lines.length > options.killAfter && child.exitCode === null && !child.killed) child.kill('SIGKILL');
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => (sig ? resolve(sig) : reject(new Error(`child exited by itself (code ${code}): ${stderr}`))));
  }).finally(() => clearTimeout(giveUp));
  expect(lines[0]).toBe('ready');
  const acked = lines.slice(1).map((line): [number, string] => {
    const [n, id] = line.split(' ');
    return [Number(n), id!];
  });
  return { acked, signal, stderr };
}

/** What the file holds after the crash: each task's submission number, by id, in seq order. */
function reopen(file: string): { integrity: unknown; numbers: number[]; byId: Map<string, number> } {
  const store = new SqliteStore({ file });
  try {
    const tasks = store.tasks.list();
    return {
      integrity: store.pragma('integrity_check'),
      numbers: tasks.map((t) => Number(t.labels['n'])),
      byId: new Map(tasks.map((t) => [t.id, Number(t.labels['n'])])),
    };
  } finally {
    store.close();
  }
}

const upTo = (count: number): number[] => Array.from({ length: count }, (_, n) => n);

describe('Group commit across a crash', () => {
  let dir: string;

  beforeEach(() => {
    if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: run \`npm run build\` first (npm test does it in pretest)`);
    dir = mkdtempSync(join(tmpdir(), 'bitacora-group-crash-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every submission whose promise resolved when the process is SIGKILLed in the next instant', async () => {
    const file = join(dir, 'fleet.db');
    const { acked, signal } = await runChild(file, { killAfter: 400 });
    expect(signal).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(400);
    expect(acked.map(([n]) => n)).toEqual(upTo(acked.length)); // acknowledged in submission order

    const after = reopen(file);
    expect(after.integrity).toBe('ok');
    expect(acked.filter(([n, id]) => after.byId.get(id) !== n)).toEqual([]);
    // Applied in submission order and whole: what the file holds is a prefix of the submissions.
    expect(after.numbers).toEqual(upTo(after.numbers.length));
  });

  it('loses only the unacknowledged group when the writer dies between gathering and COMMIT', async () => {
    const file = join(dir, 'fleet.db');
    const { acked, signal, stderr } = await runChild(file, { env: { BITACORA_WRITER_FAULT: 'kill@300' } });
    expect(signal).toBe('SIGKILL');
    const fault = /bitacora writer fault: kill before COMMIT of writes #(\d+)\.\.#(\d+)/.exec(stderr);
    expect(fault, `the writer thread did not report the fault: ${stderr}`).not.toBeNull();
    const [first, last] = [Number(fault![1]), Number(fault![2])];
    expect(first).toBeLessThanOrEqual(300);
    expect(last).toBeGreaterThanOrEqual(300);

    const after = reopen(file);
    expect(after.integrity).toBe('ok');
    // Every group before the killed one is there; nothing of that group, nor after it.
    expect(after.numbers).toEqual(upTo(first));
    // Every acknowledged submission is there, and none of the killed group was acknowledged.
    expect(acked.length).toBeGreaterThan(0);
    expect(acked.filter(([n, id]) => after.byId.get(id) !== n)).toEqual([]);
    expect(acked.filter(([n]) => n >= first)).toEqual([]);
  });
});
