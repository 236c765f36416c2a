/**
 * `up` and `join` in-process with injected startMaster/startAgent: what they pass on, what they
 * print, and that they stay up until asked to stop (or until the process they started stops).
 */
import { describe, expect, it } from 'vitest';
import type { AgentHandle, AgentStartOptions, MasterHandle, MasterStartOptions } from '../../src/cli/context.js';
import { cli, until } from './helpers.js';

function fakeMaster() {
  const calls: MasterStartOptions[] = [];
  let closes = 0;
  let finish!: () => void;
  const closed = new Promise<void>((r) => (finish = r));
  const handle: MasterHandle = {
    httpUrl: 'http://127.0.0.1:7700', dashboardUrl: 'http://127.0.0.1:7700/', grpcAddress: '127.0.0.1:7701',
    adminToken: 'bat_admin', caHash: 'sha256:ca', joinCommand: 'bitacora join http://127.0.0.1:7700 --token bjt_x --ca-hash sha256:ca',
    closed,
    close: async () => {
      closes++;
      finish();
    },
  };
  const startMaster = async (o: MasterStartOptions) => {
    calls.push(o);
    return handle;
  };
  return { calls, startMaster, finish, closes: () => closes };
}

function fakeAgent(nodeIdAfterMs = 50) {
  const calls: AgentStartOptions[] = [];
  let closes = 0;
  let finish!: () => void;
  const closed = new Promise<void>((r) => (finish = r));
  const started = Date.now();
  const handle: AgentHandle = {
    nodeId: () => (Date.now() - started >= nodeIdAfterMs ? 'nod_joined' : null),
    closed,
    close: async () => {
      closes++;
      finish();
    },
  };
  const startAgent = async (o: AgentStartOptions) => {
    calls.push(o);
    return handle;
  };
  return { calls, startAgent, finish, closes: () => closes };
}

describe('bitacora up', () => {
  it('starts the master with the resolved options, prints the banner, and stops cleanly on Ctrl-C', async () => {
    const master = fakeMaster();
    const stop = new AbortController();
    const running = cli(['up', '--local-worker', '--http', '0.0.0.0:8800'], {
      cwd: '/srv/fleet', env: {}, stop: stop.signal, deps: { startMaster: master.startMaster },
    });
    await until(() => master.calls.length === 1);
    expect(master.calls[0]).toEqual({ dataDir: '/srv/fleet/.bitacora', http: '0.0.0.0:8800', grpc: '127.0.0.1:7701', localWorker: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(master.closes()).toBe(0);
    stop.abort();
    const res = await running;
    expect(res.code).toBe(0);
    expect(master.closes()).toBe(1);
    expect(res.stdout).toMatch(/API\s+http:\/\/127\.0\.0\.1:7700/);
    expect(res.stdout).toMatch(/admin token\s+bat_admin/);
    expect(res.stdout).toMatch(/\n  bitacora join http:\/\/127\.0\.0\.1:7700 --token bjt_x --ca-hash sha256:ca\n/);
    expect(res.stderr).toMatch(/the master stopped/);
  });

  it('ends when the master stops by itself (emergency shutdown), with --json banner', async () => {
    const master = fakeMaster();
    const running = cli(['up', '--json', '--data-dir', '/tmp/x'], { deps: { startMaster: master.startMaster } });
    await until(() => master.calls.length === 1);
    master.finish();
    const res = await running;
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ url: 'http://127.0.0.1:7700', adminToken: 'bat_admin', caHash: 'sha256:ca', dataDir: '/tmp/x' });
  });

  it('refuses a bad address before starting anything', async () => {
    const master = fakeMaster();
    const res = await cli(['up', '--grpc', 'localhost'], { deps: { startMaster: master.startMaster } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/invalid --grpc "localhost": missing :port/);
    expect(master.calls).toHaveLength(0);
  });

  it('reports a failing start with its error and exit code', async () => {
    const res = await cli(['up'], {
      deps: {
        startMaster: async () => {
          throw new Error('listen EADDRINUSE: address already in use 127.0.0.1:7700');
        },
      },
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/EADDRINUSE/);
  });
});

describe('bitacora join', () => {
  it('starts an agent with parsed options, reports the node id, and leaves on Ctrl-C', async () => {
    const agent = fakeAgent();
    const stop = new AbortController();
    const running = cli(
      ['join', 'http://10.0.0.5:7700', '--token', 'bjt_x', '--ca-hash', 'sha256:' + 'AB'.repeat(32), '--role', 'hybrid', '--name', 'dev-server',
        '--capabilities', 'linux, docker', '--specialization', 'build,test', '--capacity', '8', '--data-dir', '/var/lib/b'],
      { stop: stop.signal, deps: { startAgent: agent.startAgent } },
    );
    await until(() => agent.calls.length === 1);
    expect(agent.calls[0]).toEqual({
      masterUrl: 'http://10.0.0.5:7700', token: 'bjt_x', caHash: 'sha256:' + 'ab'.repeat(32), role: 'hybrid', name: 'dev-server',
      capabilities: ['linux', 'docker'], specializations: ['build', 'test'], capacity: 8, dataDir: '/var/lib/b',
    });
    await new Promise((r) => setTimeout(r, 400));
    stop.abort();
    const res = await running;
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/joined the fleet at http:\/\/10\.0\.0\.5:7700 as node nod_joined \(hybrid\)/);
    expect(agent.closes()).toBe(1);
  });

  it('restarts without a token (the stored credential is used), passing on no node setting it was not given (the saved ones hold)', async () => {
    const agent = fakeAgent();
    const running = cli(['join', 'http://m:7700', '--json'], { cwd: '/home/u', deps: { startAgent: agent.startAgent } });
    await until(() => agent.calls.length === 1);
    expect(agent.calls[0]).toEqual({ masterUrl: 'http://m:7700', dataDir: '/home/u/.bitacora' });
    await new Promise((r) => setTimeout(r, 300));
    agent.finish();
    const res = await running;
    expect(JSON.parse(res.stdout)).toMatchObject({ nodeId: 'nod_joined', role: 'worker' });
  });

  it('refuses bad options with exit 2 and starts nothing', async () => {
    const agent = fakeAgent();
    for (const [args, pattern] of [
      [['--role', 'master'], /--role: 'master' is not one of worker, hybrid/],
      [['--ca-hash', 'md5:abc'], /--ca-hash: 'md5:abc' must look like sha256:<64 hex digits>/],
      [['--name', 'Bad Name'], /--name: 'Bad Name' is not a valid node name/],
      [['--capacity', '0'], /--capacity: '0' must be a whole number from 1 to 1024/],
      [['--capabilities', 'GPU'], /--capabilities: 'GPU' is not a capability/],
    ] as const) {
      const res = await cli(['join', 'http://m:7700', ...args], { deps: { startAgent: agent.startAgent } });
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(pattern);
    }
    expect(agent.calls).toHaveLength(0);
  });
});
