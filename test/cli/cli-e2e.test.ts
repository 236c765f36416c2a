/**
 * The built CLI (`node dist/bin/bitacora.js`, built by `npm test`'s pretest) against a real
 * `bitacora up --local-worker` and a real `bitacora join` on loopback, each with its own data
 * directory: the JSON contracts scripts rely on, exit codes, live output, clean stops on SIGINT.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, bitacora, eventually, startBitacora, type CliResult as Result } from '../helpers/cli-binary.js';


function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}


describe.skipIf(!existsSync(BIN))('bitacora CLI end to end (built binary, real master and agent)', () => {
  let dir: string;
  let master: ChildProcess;
  let banner: Record<string, unknown>;
  let masterOutput: () => Result;
  const agents: ChildProcess[] = [];
  /** The CLI on the master's machine: finds it through <data dir>/client.json. */
  const local = (...args: string[]) => bitacora(['--data-dir', join(dir, 'master'), ...args]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-e2e-'));
    ({ child: master, banner, output: masterOutput } = await startBitacora([
      'up', '--local-worker', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--json', '--data-dir', join(dir, 'master'),
    ]));
    await eventually(() => local('nodes', '--json'), (r) => r.code === 0 && (JSON.parse(r.stdout) as { status: string }[]).some((n) => n.status === 'ready'));
  });

  afterAll(async () => {
    for (const child of [...agents, master]) if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the banner of `up` with the URL, admin token and join command', () => {
    expect(banner['url']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(banner['adminToken']).toEqual(expect.any(String));
    expect(banner['join']).toMatch(new RegExp(`^bitacora join ${String(banner['url'])} --token \\S+ --ca-hash sha256:[0-9a-f]{64}$`));
  });

  it('lists nodes with the JSON contract', async () => {
    const nodes = JSON.parse((await local('nodes', '--json')).stdout) as Record<string, unknown>[];
    expect(nodes[0]).toEqual(expect.objectContaining({ id: expect.stringMatching(/^nod_/), name: expect.any(String), role: 'hybrid', status: 'ready' }));
  });

  it('runs a task and prints {"id"} with --json', async () => {
    const res = await local('run', '--json', '--', 'echo', 'hi');
    expect(res.code).toBe(0);
    const { id } = JSON.parse(res.stdout) as { id: string };
    expect(id).toMatch(/^tsk_/);
    const done = await eventually(() => local('task', 'show', id, '--json'), (r) => (JSON.parse(r.stdout) as { state: string }).state === 'succeeded');
    expect(JSON.parse(done.stdout)).toMatchObject({ id, exitCode: 0, attempt: 1 });
    const logs = await local('logs', id);
    expect(logs.stdout).toBe('hi\n');
  });

  it('waits for a task, streaming its output, and exits with its exit code', async () => {
    const res = await local('run', '--wait', '--', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 7');
    expect(res.code).toBe(7);
    expect(res.stdout).toBe('to-out\n');
    expect(res.stderr).toMatch(/to-err/);
    expect(res.stderr).toMatch(/failed on \S+ \(attempt 1, exit 7/);
  });

  it('lists tasks with node names, state, attempt and exit code', async () => {
    const tasks = JSON.parse((await local('tasks', '--json')).stdout) as Record<string, unknown>[];
    const nodes = JSON.parse((await local('nodes', '--json')).stdout) as { name: string }[];
    expect(tasks.length).toBeGreaterThanOrEqual(2);
    for (const t of tasks) expect(Object.keys(t)).toEqual(expect.arrayContaining(['id', 'state', 'node', 'attempt', 'exitCode']));
    const failed = tasks.find((t) => t['exitCode'] === 7)!;
    expect(failed).toMatchObject({ state: 'failed', attempt: 1 });
    expect(nodes.map((n) => n.name)).toContain(failed['node']);
    const filtered = JSON.parse((await local('tasks', '--state', 'failed', '--json')).stdout) as unknown[];
    expect(filtered).toHaveLength(1);
  });

  it('cancels a running task on its node', async () => {
    const { id } = JSON.parse((await local('run', '--json', '--', 'sleep', '30')).stdout) as { id: string };
    await eventually(() => local('task', 'show', id, '--json'), (r) => (JSON.parse(r.stdout) as { state: string }).state === 'running');
    const res = await local('cancel', id);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/cancelled task/);
    expect(JSON.parse((await local('task', 'show', id, '--json')).stdout).state).toBe('cancelled');
  });

  it('changes the heartbeat interval live', async () => {
    expect((await local('config', 'set', 'heartbeat-interval', '500ms')).code).toBe(0);
    expect(JSON.parse((await local('status', '--json')).stdout).config.heartbeatIntervalMs).toBe(500);
  });

  it('joins a second machine with a created token and runs work pinned to it; the agent stops on SIGINT', async () => {
    const created = JSON.parse((await local('token', 'create', '--json', '--ttl', '5m')).stdout) as { token: string; caHash: string; join: string };
    expect(created.caHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(created.join).toContain(created.token);
    const joinArgs = created.join.split(' ').slice(1);
    const { child: agent, banner: joined } = await startBitacora([...joinArgs, '--name', 'e2e-w2', '--specialization', 'build', '--json', '--data-dir', join(dir, 'w2')]);
    agents.push(agent);
    expect(joined['nodeId']).toMatch(/^nod_/);
    await eventually(() => local('nodes', '--json'), (r) => (JSON.parse(r.stdout) as { name: string; status: string }[]).some((n) => n.name === 'e2e-w2' && n.status === 'ready'));
    const res = await local('run', '--wait', '--json', '--on', 'e2e-w2', '--', 'echo', 'on-w2');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ node: 'e2e-w2', state: 'succeeded', exitCode: 0 });

    // A reused token is refused with exit 3 (unauthenticated) and registers nothing.
    const reused = await bitacora([...joinArgs, '--name', 'e2e-w3', '--data-dir', join(dir, 'w3')]);
    expect(reused.code).toBe(3);
    expect(reused.stderr).toMatch(/BIT_ERR_TOKEN_USED|used/i);

    agent.kill('SIGINT');
    expect(await exited(agent)).toBe(0);
  });

  it('stops the master cleanly on SIGINT', async () => {
    master.kill('SIGINT');
    expect(await exited(master)).toBe(0);
    expect(masterOutput().stderr).toMatch(/the master stopped/);
    const after = await local('nodes');
    expect(after.code).toBe(4); // the master is unreachable
    expect(after.stderr).toMatch(/cannot reach the master/);
  });
});
