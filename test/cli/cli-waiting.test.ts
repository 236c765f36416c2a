/**
 * Work that says why it waits, end to end: against a real `bitacora up --local-worker` (no gpu),
 * `bitacora run --needs gpu --wait` is accepted with a warning, prints why it waits, `task show
 * --json` and `tasks --json` carry the reason naming gpu; once a node with gpu joins, the task
 * runs there and `run --wait` exits with its code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, BIN, bitacora, eventually, startBitacora } from '../helpers/cli-binary.js';


describe.skipIf(!existsSync(BIN))('waiting reasons (built binary, real master and agents)', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  const local = (...args: string[]) => bitacora(['--data-dir', join(dir, 'master'), ...args]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-waiting-'));
    const { child } = await startBitacora(['up', '--local-worker', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--json', '--data-dir', join(dir, 'master')]);
    children.push(child);
    await eventually(() => local('nodes', '--json'), (r) => r.code === 0 && (JSON.parse(r.stdout) as { status: string }[]).some((n) => n.status === 'ready'), 'local worker ready');
  });

  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a task no node can run with a warning, says why it waits, and runs it when a node with gpu joins', async () => {
    const submitted = await local('run', '--json', '--needs', 'tpu', '--', 'true');
    expect(submitted.code).toBe(0);
    expect(JSON.parse(submitted.stdout)).toMatchObject({ state: 'pending', warning: expect.stringContaining('tpu') });
    expect(submitted.stderr).toContain('warning: no node of the fleet has tpu');

    const waiter = spawn(process.execPath, [BIN, '--data-dir', join(dir, 'master'), 'run', '--needs', 'gpu', '--wait', '--', 'sh', '-c', 'echo ran-on-gpu; exit 3'], { env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(waiter);
    let stdout = '';
    let stderr = '';
    waiter.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    waiter.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => waiter.once('exit', (code) => r(code)));

    await eventually(async () => stderr, (s) => /waiting: .*gpu/.test(s), 'run --wait prints the reason');
    expect(stderr).toContain('warning: no node of the fleet has gpu');
    const id = /submitted (tsk_\S+);/.exec(stderr)?.[1];
    expect(id).toBeDefined();
    const shown = JSON.parse((await local('task', 'show', id!, '--json')).stdout) as { state: string; waitingReason: string | null };
    expect(shown).toMatchObject({ state: 'pending', waitingReason: 'no node has gpu' });
    const listed = JSON.parse((await local('tasks', '--state', 'pending', '--json')).stdout) as Array<{ id: string; waitingReason: string | null }>;
    expect(listed.find((t) => t.id === id)?.waitingReason).toContain('gpu');
    expect((await local('task', 'show', id!)).stdout).toMatch(/waiting\s+no node has gpu/);

    const token = JSON.parse((await local('token', 'create', '--json', '--ttl', '5m')).stdout) as { join: string };
    const { child: gpuNode } = await startBitacora([...token.join.split(' ').slice(1), '--name', 'gpu-box', '--capabilities', 'gpu', '--json', '--data-dir', join(dir, 'gpu')]);
    children.push(gpuNode);

    expect(await exited).toBe(3);
    expect(stdout).toContain('ran-on-gpu');
    expect((stderr.match(/waiting: no node has gpu/g) ?? []).length).toBe(1); // said once, not at every poll
    const done = JSON.parse((await local('task', 'show', id!, '--json')).stdout) as { state: string; node: string; waitingReason: string | null };
    expect(done).toMatchObject({ state: 'failed', node: 'gpu-box', waitingReason: null });
  });
});
