/** Cluster commands with real processes: UpdateConfiguration applied live, and each EmergencyShutdown tier. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetNode, Task } from '../../src/core/index.js';
import { openSqliteBackbone } from '../../src/store/sqlite/index.js';
import { AgentProcess, Cleanup, freePort, MasterProcess, waitFor } from '../helpers/processes.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

type Status = { tasks: Record<string, number>; acceptingWork: boolean; config: { heartbeatIntervalMs: number } };

async function fleetOf(workers: string[]) {
  const dir = cleanup.dir();
  const dataDir = join(dir, 'master');
  const master = cleanup.track(await MasterProcess.start({ dataDir, httpPort: await freePort(), grpcPort: await freePort() }));
  const agents: AgentProcess[] = [];
  for (const name of workers) {
    const { token } = await master.createToken();
    agents.push(cleanup.track(AgentProcess.spawn({ masterUrl: master.info.httpUrl, token, caHash: master.info.caHash, name, dataDir: join(dir, name), capacity: 4 })));
  }
  for (const a of agents) await a.joined();
  return { dataDir, master, agents };
}

/** Distinct heartbeat timestamps the master records for `name` during `ms`. */
async function heartbeatsSeen(master: MasterProcess, name: string, ms: number): Promise<number> {
  const seen = new Set<number>();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    seen.add((await master.call<FleetNode>('getNode', name)).lastHeartbeatAt ?? 0);
    await new Promise((r) => setTimeout(r, 15));
  }
  return seen.size;
}

/** Child processes of `pid` (the tasks an agent runs). */
/** The agent's task processes: its children but its task reaper (bin/task-reaper). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('task-reaper'))
      .map((line) => Number(line.trim().split(/\s+/)[0]))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

describe('UpdateConfiguration', () => {
  it('changes the heartbeat interval of connected agents live and persists it', async () => {
    const { master } = await fleetOf(['w1']);
    const before = await heartbeatsSeen(master, 'w1', 2000);
    expect(before).toBeLessThanOrEqual(4); // default 1000 ms
    const config = await master.call<{ heartbeatIntervalMs: number }>('updateConfiguration', { heartbeatIntervalMs: 100 });
    expect(config.heartbeatIntervalMs).toBe(100);
    const after = await heartbeatsSeen(master, 'w1', 2000);
    expect(after).toBeGreaterThanOrEqual(10);
    expect((await master.call<Status>('status')).config.heartbeatIntervalMs).toBe(100);
    // Invalid patches are refused with every problem named, and change nothing.
    await expect(master.call('updateConfiguration', { heartbeatIntervalMs: 5 })).rejects.toMatchObject({ code: 'BIT_ERR_VALIDATION' });
    expect((await master.call<Status>('status')).config.heartbeatIntervalMs).toBe(100);
  });
});

describe('EmergencyShutdown', () => {
  it("'stop-dispatch' assigns nothing new until dispatch resumes", async () => {
    const { master } = await fleetOf(['w1']);
    await master.call('emergencyShutdown', 'stop-dispatch', 'freeze for the test');
    expect((await master.call<Status>('status')).acceptingWork).toBe(false);
    await master.call('submitTasks', Array.from({ length: 5 }, () => ({ command: ['true'] })));
    await new Promise((r) => setTimeout(r, 1500));
    expect((await master.call<Status>('status')).tasks['pending']).toBe(5);
    await master.call('resumeDispatch');
    await waitFor('tasks ran after resume', async () => (await master.call<Status>('status')).tasks['succeeded'] === 5);
  });

  it("'cancel-all' cancels every active task and kills its processes on the nodes", async () => {
    const { master, agents } = await fleetOf(['w1', 'w2']);
    await master.call('submitTasks', Array.from({ length: 6 }, () => ({ command: ['sleep', '30'] })));
    await waitFor('tasks running', async () => (await master.call<Status>('status')).tasks['running'] === 6);
    // taskStarted is reported just before the process is spawned: wait for the processes.
    await waitFor('six task processes', () => agents.reduce((n, a) => n + childrenOf(a.pid).length, 0) === 6);
    await master.call('emergencyShutdown', 'cancel-all', 'stop everything');
    const tasks = await master.call<Task[]>('listTasks', {});
    expect(tasks.every((t) => t.state === 'cancelled')).toBe(true);
    await waitFor('task processes gone', () => agents.every((a) => childrenOf(a.pid).length === 0), 10_000);
    // New work is not dispatched while frozen; the agents stay connected.
    await master.call('submitTask', { command: ['true'] });
    await new Promise((r) => setTimeout(r, 800));
    expect((await master.call<Status>('status')).tasks['pending']).toBe(1);
    expect(agents.every((a) => a.alive)).toBe(true);
  });

  it("'shutdown-nodes' stops the tasks, the agents and the master", async () => {
    const { dataDir, master, agents } = await fleetOf(['w1', 'w2']);
    await master.call('submitTasks', Array.from({ length: 4 }, () => ({ command: ['sleep', '30'] })));
    await waitFor('tasks running', async () => (await master.call<Status>('status')).tasks['running'] === 4);
    await master.call('emergencyShutdown', 'shutdown-nodes', 'fire drill');
    const exits = await Promise.all([master.exited, ...agents.map((a) => a.exited)]);
    expect(exits).toEqual([0, 0, 0]);
    for (const a of agents) expect(childrenOf(a.pid)).toEqual([]);
    const backbone = await openSqliteBackbone({ file: join(dataDir, 'fleet.db') });
    try {
      expect((await backbone.tasks.list()).every((t) => t.state === 'cancelled')).toBe(true);
      const shutdown = (await backbone.events.read(0, 100_000)).find((e) => e.type === 'fleet.shutdown');
      expect(shutdown?.data).toMatchObject({ tier: 'shutdown-nodes', reason: 'fire drill' });
    } finally {
      await backbone.close();
    }
  });
});

describe('node commands', () => {
  it('changes a role live, drains and undrains, and removes a node', async () => {
    const { master, agents } = await fleetOf(['w1', 'w2']);
    const [w1, w2] = agents as [AgentProcess, AgentProcess];
    // set-role: the record changes and the running agent is told (it persists the role).
    expect((await master.call<FleetNode>('setNodeRole', 'w1', 'hybrid')).role).toBe('hybrid');
    const w1State = join(cleanup['dirs'][0]!, 'w1', 'agent.json');
    await waitFor('agent stored its new role', () => JSON.parse(readFileSync(w1State, 'utf8')).role === 'hybrid');
    expect(w1.alive).toBe(true);

    // drain: running work may finish, nothing new lands there.
    await master.call('drainNode', 'w2');
    await master.call('submitTasks', Array.from({ length: 6 }, () => ({ command: ['true'] })));
    await waitFor('tasks done', async () => (await master.call<Status>('status')).tasks['succeeded'] === 6);
    expect((await master.call<Task[]>('listTasks', {})).every((t) => t.nodeId === w1.nodeId)).toBe(true);
    expect((await master.call<FleetNode>('undrainNode', 'w2')).status).toBe('ready');

    // remove: its stream is closed with a refusal the agent cannot retry past.
    await master.call('removeNode', 'w2');
    expect(await w2.exited).toBe(2);
    expect((await master.call<FleetNode[]>('listNodes')).map((n) => n.name)).toEqual(['w1']);
  });
});
