/**
 * The fleet commands run in-process through program.ts, talking through a real FleetClient to a
 * real API server on loopback backed by an in-memory FleetService: output (human and the JSON
 * contracts), exit codes, validation, connection resolution.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/index.js';
import { ErrorCode, type FleetNode } from '../../src/core/index.js';
import { FakeFleet, fakeNode } from '../api/fake-fleet.js';
import { FakeAccess } from '../api/fake-access.js';
import { cli } from './helpers.js';

const TOKEN = 'cli-token';

describe('fleet CLI commands (in-process, real API on loopback)', () => {
  let fleet: FakeFleet;
  let server: ApiServer;
  let env: NodeJS.ProcessEnv;
  let w1: FleetNode;

  beforeEach(async () => {
    fleet = new FakeFleet();
    w1 = fakeNode('worker-1', { specializations: ['build'] });
    fleet.nodes.push(w1, fakeNode('worker-2', { role: 'hybrid', status: 'down' }));
    server = await startApiServer({ fleet, host: '127.0.0.1', port: 0, access: new FakeAccess({ adminToken: TOKEN }), latestEventSeq: () => fleet.events.length });
    env = { BITACORA_URL: server.url, BITACORA_TOKEN: TOKEN };
  });
  afterEach(async () => {
    await server.close();
  });

  /** Plays a task's life on worker-1 once it is submitted: output, then the exit code. */
  function playNextTask(lines: string[], exitCode: number) {
    const submit = fleet.submitTask.bind(fleet);
    fleet.submitTask = async (spec) => {
      fleet.submitTask = submit;
      const outcome = await submit(spec);
      setTimeout(() => {
        fleet.start(outcome.task.id, w1);
        lines.forEach((line, i) => setTimeout(() => fleet.emitLog(outcome.task.id, line, line.startsWith('E:') ? 'stderr' : 'stdout'), 30 * (i + 1)));
        setTimeout(() => fleet.finish(outcome.task.id, exitCode), 30 * (lines.length + 2));
      }, 50);
      return outcome;
    };
  }

  it('lists nodes as a table and as the JSON contract', async () => {
    const table = await cli(['nodes'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+ID\s+ROLE\s+STATUS/);
    expect(table.stdout).toMatch(/worker-2\s+nod_\w+\s+hybrid\s+down/);
    const json = await cli(['nodes', '--json'], { env });
    const nodes = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(nodes.map((n) => ({ id: n['id'], name: n['name'], role: n['role'], status: n['status'] }))).toEqual([
      { id: w1.id, name: 'worker-1', role: 'worker', status: 'ready' },
      { id: fleet.nodes[1]!.id, name: 'worker-2', role: 'hybrid', status: 'down' },
    ]);
  });

  it('manages a node: show, drain, undrain, set-role, remove', async () => {
    expect((await cli(['node', 'show', 'worker-1'], { env })).stdout).toMatch(/specializations\s+build/);
    expect((await cli(['node', 'drain', 'worker-1'], { env })).stdout).toMatch(/draining.*bitacora node undrain worker-1/);
    expect(w1.status).toBe('draining');
    expect(JSON.parse((await cli(['node', 'undrain', 'worker-1', '--json'], { env })).stdout).status).toBe('ready');
    expect((await cli(['node', 'set-role', 'worker-1', 'hybrid'], { env })).stdout).toMatch(/now a hybrid/);
    const badRole = await cli(['node', 'set-role', 'worker-1', 'boss'], { env });
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/'boss' is not one of worker, hybrid/);
    expect((await cli(['node', 'remove', 'worker-1'], { env })).stdout).toMatch(/removed node worker-1/);
    const gone = await cli(['node', 'show', 'worker-1'], { env });
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/BIT_ERR_NOT_FOUND.*node 'worker-1' not found/);
  });

  it('submits with run: prints the id, or {"id"} with --json, with every option mapped to the spec', async () => {
    const plain = await cli(['run', '--', 'echo', 'hello'], { env });
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^tsk_\w+$/);
    const json = await cli(
      ['run', '--json', '--project', 'proj-b', '--needs', 'linux,docker', '--prefers', 'build', '--on', 'worker-1', '--retries', '2',
        '--timeout', '30s', '--idempotency-key', 'k-1', '--env', 'A=1', '--env', 'B=x=y', '--', 'make', '-j8'],
      { env },
    );
    const { id } = JSON.parse(json.stdout) as { id: string };
    expect(await fleet.getTask(id)).toMatchObject({
      command: ['make', '-j8'], project: 'proj-b', needs: ['linux', 'docker'], prefers: ['build'], pinnedNode: w1.id,
      retryOnFailure: 2, timeoutMs: 30_000, idempotencyKey: 'k-1', env: { A: '1', B: 'x=y' },
    });
    const again = await cli(['run', '--idempotency-key', 'k-1', '--project', 'proj-b', '--', 'make', '-j8'], { env });
    expect(again.stdout.trim()).toBe(id);
    expect(again.stderr).toMatch(/idempotency key matched/);
    const shell = await cli(['run', '--json', '--', 'npm ci && npm test'], { env });
    expect((await fleet.getTask((JSON.parse(shell.stdout) as { id: string }).id)).command).toEqual(['sh', '-c', 'npm ci && npm test']);
  });

  it('refuses bad run options with exit 2, naming the option and the fix, and submits nothing', async () => {
    for (const [args, pattern] of [
      [['--timeout', '3 minutes'], /--timeout: '3 minutes' is not a duration; write it like/],
      [['--needs', 'Docker'], /--needs: 'Docker' is not a capability/],
      [['--retries', '-1'], /--retries: '-1' must be a whole number from 0 to 100/],
      [['--project', '../etc'], /--project: '..\/etc' is not a project name/],
      [['--env', 'NOEQUALS'], /--env: 'NOEQUALS' must be KEY=VALUE/],
    ] as const) {
      const res = await cli(['run', ...args, '--', 'true'], { env });
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(pattern);
    }
    const unknownNode = await cli(['run', '--on', 'ghost', '--', 'true'], { env });
    expect(unknownNode.code).toBe(2);
    expect(unknownNode.stderr).toMatch(/node 'ghost' not found/);
    expect(fleet.tasks).toHaveLength(0);
  });

  it('waits with run --wait: streams output live and exits with the task exit code', async () => {
    playNextTask(['compiling\n', 'E:warning\n', 'done\n'], 3);
    const res = await cli(['run', '--wait', '--', 'make'], { env });
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('compiling\ndone\n');
    expect(res.stderr).toMatch(/E:warning/);
    expect(res.stderr).toMatch(/failed on worker-1 \(attempt 1, exit 3/);

    playNextTask(['ok\n'], 0);
    const json = await cli(['run', '--wait', '--json', '--', 'true'], { env });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ state: 'succeeded', node: 'worker-1', attempt: 1, exitCode: 0 });
    expect(json.stderr).toMatch(/ok\n/);
  });

  it('stops waiting on Ctrl-C without cancelling the task', async () => {
    const stop = new AbortController();
    const waiting = cli(['run', '--wait', '--', 'sleep', '100'], { env, stop: stop.signal });
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    const res = await waiting;
    expect(res.code).toBe(130);
    expect(res.stderr).toMatch(/stopped waiting; tsk_\w+ is still pending/);
    expect(fleet.tasks[0]!.state).toBe('pending');
  });

  it('lists tasks with node names, filters, and the JSON contract', async () => {
    const a = fleet.submitNow({ command: ['a'], project: 'proj-a' }).task;
    fleet.submitNow({ command: ['b'] });
    fleet.start(a.id, w1);
    fleet.finish(a.id, 0);
    const json = JSON.parse((await cli(['tasks', '--json'], { env })).stdout) as Record<string, unknown>[];
    expect(json.map((t) => [t['state'], t['node'], t['attempt'], t['exitCode']])).toEqual([
      ['succeeded', 'worker-1', 1, 0],
      ['pending', null, 0, null],
    ]);
    expect(json[0]).toMatchObject({ id: a.id, project: 'proj-a', command: ['a'] });
    const filtered = JSON.parse((await cli(['tasks', '--state', 'succeeded', '--node', 'worker-1', '--json'], { env })).stdout) as unknown[];
    expect(filtered).toHaveLength(1);
    expect((await cli(['tasks'], { env })).stdout).toMatch(/succeeded\s+worker-1\s+1\s+0\s+proj-a/);
    const bad = await cli(['tasks', '--state', 'done'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'done' is not a task state; use pending, assigned/);
  });

  it('shows a task, its logs, and cancels it', async () => {
    const { task } = fleet.submitNow({ command: ['sh', '-c', 'echo hi'] });
    fleet.start(task.id, w1);
    fleet.emitLog(task.id, 'out\n');
    fleet.emitLog(task.id, 'err\n', 'stderr');
    const show = JSON.parse((await cli(['task', 'show', task.id, '--json'], { env })).stdout) as Record<string, unknown>;
    expect(show).toMatchObject({ id: task.id, state: 'running', node: 'worker-1' });
    expect((await cli(['task', 'show', task.id], { env })).stdout).toMatch(/command\s+sh -c 'echo hi'/);
    const logs = await cli(['logs', task.id], { env });
    expect([logs.stdout, logs.stderr]).toEqual(['out\n', 'err\n']);
    expect(JSON.parse((await cli(['logs', task.id, '--json'], { env })).stdout)).toHaveLength(2);
    expect((await cli(['cancel', task.id, '--reason', 'wrong branch'], { env })).stdout).toMatch(/cancelled task .* running on worker-1/);
    expect(await fleet.getTask(task.id)).toMatchObject({ state: 'cancelled', error: 'wrong branch' });
    expect((await cli(['cancel', task.id], { env })).stdout).toMatch(/already been cancelled; nothing to cancel/);
    expect((await cli(['cancel', 'tsk_nope'], { env })).code).toBe(2);
  });

  it('follows logs until the task ends', async () => {
    const { task } = fleet.submitNow({ command: ['build'] });
    fleet.start(task.id, w1);
    fleet.emitLog(task.id, 'before\n');
    setTimeout(() => fleet.emitLog(task.id, 'live\n'), 200);
    setTimeout(() => fleet.finish(task.id, 0), 400);
    const res = await cli(['logs', task.id, '--follow'], { env });
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('before\nlive\n');
    expect(res.stderr).toMatch(/succeeded on worker-1/);
  });

  it('creates join tokens with the JSON contract', async () => {
    const json = JSON.parse((await cli(['token', 'create', '--role', 'hybrid', '--ttl', '15m', '--json'], { env })).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ caHash: 'sha256:abc', role: 'hybrid' });
    expect(json['join']).toBe(`bitacora join http://127.0.0.1:7700 --token ${String(json['token'])} --ca-hash sha256:abc`);
    expect(fleet.tokens[0]!.expiresAt - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    const human = await cli(['token', 'create'], { env });
    expect(human.stdout).toMatch(/one-time, expires .* in (60m|1h)\)/);
    expect((await cli(['token', 'create', '--ttl', 'forever'], { env })).code).toBe(2);
  });

  it('changes the live configuration and shows it', async () => {
    const res = await cli(['config', 'set', 'heartbeat-interval', '500ms'], { env });
    expect(res.stdout).toMatch(/heartbeat-interval is now 500ms/);
    expect(fleet.config.heartbeatIntervalMs).toBe(500);
    expect(JSON.parse((await cli(['config', 'set', 'selfFenceAfterMs', '20s', '--json'], { env })).stdout).selfFenceAfterMs).toBe(20_000);
    expect((await cli(['config', 'show'], { env })).stdout).toMatch(/heartbeat-interval\s+500ms\nself-fence-after\s+20s/);
    const bad = await cli(['config', 'set', 'colour', 'blue'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'colour' is not a setting; use one of: heartbeat-interval, self-fence-after/);
    const refused = await cli(['config', 'set', 'self-fence-after', '200ms'], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/must exceed the heartbeat interval/);
  });

  it('asks for --yes before an emergency shutdown, then sends it; resume lifts it', async () => {
    const unconfirmed = await cli(['shutdown', '--tier', 'stop-dispatch'], { env });
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/Nothing was done: add --yes/);
    expect(fleet.shutdowns).toEqual([]);
    expect((await cli(['shutdown', '--tier', 'freeze', '--yes'], { env })).code).toBe(2);
    const done = await cli(['shutdown', '--tier', 'stop-dispatch', '--yes', '--reason', 'deploy freeze'], { env });
    expect(done.code).toBe(0);
    expect(fleet.shutdowns).toEqual([{ tier: 'stop-dispatch', reason: 'deploy freeze' }]);
    expect((await cli(['status'], { env })).stdout).toMatch(/NOT accepting work/);
    expect((await cli(['resume'], { env })).stdout).toMatch(/dispatch resumed/);
    const status = JSON.parse((await cli(['status', '--json'], { env })).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ url: server.url, acceptingWork: true, nodes: { total: 2, ready: 1, down: 1 } });
  });

  it('reports errors as JSON on stderr with --json', async () => {
    const res = await cli(['task', 'show', 'tsk_nope', '--json'], { env });
    expect(res.code).toBe(2);
    expect(JSON.parse(res.stderr)).toMatchObject({ error: { code: ErrorCode.NotFound } });
  });
});

describe('fleet CLI connection and usage', () => {
  let fleet: FakeFleet;
  let server: ApiServer;
  let dir: string;

  beforeEach(async () => {
    fleet = new FakeFleet();
    server = await startApiServer({ fleet, host: '127.0.0.1', port: 0, access: new FakeAccess({ adminToken: TOKEN }) });
    dir = mkdtempSync(join(tmpdir(), 'bitacora-cli-'));
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the master through <data dir>/client.json written by `bitacora up`', async () => {
    writeFileSync(join(dir, 'client.json'), JSON.stringify({ url: server.url, token: TOKEN }));
    expect((await cli(['status'], { cwd: dir, env: { BITACORA_DATA_DIR: '.' } })).code).toBe(0);
    expect((await cli(['--data-dir', dir, 'status'])).code).toBe(0);
    expect((await cli(['status', '--data-dir', dir])).code).toBe(0);
  });

  it('prefers flags over the environment over client.json, and says which token was refused', async () => {
    writeFileSync(join(dir, 'client.json'), JSON.stringify({ url: server.url, token: 'stale' }));
    const fromFile = await cli(['status', '--data-dir', dir]);
    expect(fromFile.code).toBe(3);
    expect(fromFile.stderr).toMatch(/refused the token from .*client\.json; pass the admin token/);
    expect((await cli(['status', '--data-dir', dir], { env: { BITACORA_TOKEN: TOKEN } })).code).toBe(0);
    const envWrong = await cli(['status', '--data-dir', dir, '--token', TOKEN], { env: { BITACORA_TOKEN: 'wrong' } });
    expect(envWrong.code).toBe(0);
    const flagWrong = await cli(['status', '--url', server.url, '--token', 'wrong'], { env: { BITACORA_TOKEN: TOKEN } });
    expect(flagWrong.stderr).toMatch(/refused the token from --token/);
  });

  it('explains how to connect when nothing names a master, and when it is unreachable', async () => {
    const none = await cli(['nodes'], { cwd: dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no master to talk to: start a master here with `bitacora up`.*or pass --url and --token/);
    writeFileSync(join(dir, 'client.json'), '{ nope');
    expect((await cli(['nodes', '--data-dir', dir])).stderr).toMatch(/client\.json is not valid JSON/);
    const { port } = new URL(server.url);
    await server.close();
    const down = await cli(['nodes', '--url', `127.0.0.1:${port}`, '--token', TOKEN]);
    expect(down.code).toBe(4);
    expect(down.stderr).toMatch(/cannot reach the master at http:\/\/127\.0\.0\.1:\d+ .*is `bitacora up` running there/);
  });

  it('exits 2 on usage errors and 0 on --help, with examples', async () => {
    expect((await cli(['nodes', '--bogus'])).code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['cancel'])).code).toBe(2);
    expect((await cli([])).code).toBe(2);
    for (const command of [['up'], ['join'], ['run'], ['tasks'], ['logs'], ['token', 'create'], ['node', 'drain'], ['config', 'set'], ['shutdown']]) {
      const help = await cli([...command, '--help']);
      expect(help.code, command.join(' ')).toBe(0);
      expect(help.stdout, command.join(' ')).toMatch(/Examples?:\n\s+\$ bitacora/);
    }
    expect((await cli(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});
