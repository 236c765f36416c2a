/**
 * End to end through the built executable (`dist/bin/bitacora.js`, made by `npm run build`,
 * which `npm test` runs first): real processes for the run and for the approving "terminal".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempData, type TempData } from './harness.js';

const BIN = join(process.cwd(), 'dist', 'bin', 'bitacora.js');
const DEMO = join(process.cwd(), 'examples', 'demo-pipeline.yaml');

interface Proc {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` on stdout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exit: Promise<number | null>;
}

let data: TempData;
const children: ChildProcess[] = [];

beforeEach(() => {
  data = tempData('bitacora-bin-');
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  data.cleanup();
});

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: data.root,
    env: { ...process.env, BITACORA_DATA_DIR: data.dataDir, BITACORA_USER: 'e2e' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) {
      const m = out.match(w.pattern);
      if (m) w.resolve(m);
      else waiters.push(w);
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    waitFor: (pattern, timeoutMs = 30_000) => {
      const m = out.match(pattern);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; stdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
        waiters.push({ pattern, resolve: (m) => { clearTimeout(timer); resolve(m); } });
      });
    },
  };
}

async function bitacora(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = start(args);
  const code = await p.exit;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

describe.skipIf(!existsSync(BIN))('the bitacora executable (logbook)', () => {
  it('records a session, checks and runs the demo pipeline with an approval from another process', async () => {
    expect((await bitacora(['session', 'start', '--description', 'e2e'])).code).toBe(0);
    expect((await bitacora(['pipeline', 'check', DEMO])).code).toBe(0);
    const bad = await bitacora(['pipeline', 'check', join(data.root, 'missing.yaml')]);
    expect(bad.code).toBe(2);

    // Non-TTY (a pipe): one line per event; the approval id and the command are printed.
    const runner = start(['pipeline', 'run', '--local', DEMO]);
    const [, approvalId] = await runner.waitFor(/approve: bitacora approve (apv_\w+)/);
    const approve = await bitacora(['approve', approvalId!, '--note', 'from another process']);
    expect(approve.code).toBe(0);
    expect(await runner.exit).toBe(0);
    expect(runner.stdout()).toContain('approved by e2e');
    expect(existsSync(join(data.dataDir, 'workspaces', 'demo-shop', 'release', 'app.js'))).toBe(true);

    const log = await bitacora(['log', '--json']);
    expect(log.code).toBe(0);
    const kinds = (JSON.parse(log.stdout) as { kind: string }[]).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['session', 'action', 'spark', 'approval']));
  });

  it('cancels a waiting run on Ctrl-C (SIGINT) and exits 1', async () => {
    const runner = start(['pipeline', 'run', '--local', DEMO]);
    await runner.waitFor(/approve: bitacora approve apv_\w+/);
    runner.child.kill('SIGINT');
    expect(await runner.exit).toBe(1);
    expect(runner.stdout()).toMatch(/demo-shop: cancelled/);
    expect(existsSync(join(data.dataDir, 'workspaces', 'demo-shop', 'release'))).toBe(false);
  });
});
