/**
 * Smoke test of the benchmark suite (issue 5): runs `bench/run.mjs --smoke` against the built
 * code and checks that it completes and writes its results. It never looks at a timing.
 * Needs Debian's redis-server for the BullMQ comparison; skipped with a message without it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function hasRedisServer(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const redis = hasRedisServer();
if (!redis) console.warn('bench smoke test skipped: redis-server is not installed (apt-get install -y redis-server; .ci/run installs it)');

let out = '';
afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

describe.skipIf(!redis)('benchmark suite (smoke mode, needs redis-server)', () => {
  it('runs every benchmark to completion and writes JSON, Markdown and SVG results', async () => {
    expect(existsSync(join(ROOT, 'dist', 'bin', 'master.js')), 'dist/ is built (npm test builds it)').toBe(true);
    out = mkdtempSync(join(tmpdir(), 'bitacora-bench-smoke-'));
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'bench', 'run.mjs'), '--smoke', `--out=${out}`], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-20_000)));
      child.on('exit', (c) => resolve({ code: c, stderr: err }));
    });
    expect(code, stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'smoke-latest.json'), 'utf8')) as Record<string, unknown> & { errors: unknown[]; machine: Record<string, unknown> };
    expect(results.errors).toEqual([]);
    for (const section of ['peer', 'recovery', 'connected', 'scaling', 'atomic', 'targets']) expect(results[section], section).toBeTruthy();
    for (const field of ['cores', 'memoryGiB', 'node', 'gitCommit', 'date', 'command']) expect(results.machine[field], field).toBeDefined();
    expect(readFileSync(join(out, 'smoke-latest.md'), 'utf8')).toContain('## 1. Dispatch latency');
    expect(readFileSync(join(out, 'smoke-latest.svg'), 'utf8')).toMatch(/^<svg /);
  }, 300_000);
});
