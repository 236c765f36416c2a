/** A master SIGKILLed mid-run and restarted on the same data directory: agents reconnect, SyncState reconciles, nothing acknowledged is lost. */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetEvent, FleetNode, Task } from '../../src/core/index.js';
import { AgentProcess, Cleanup, freePort, MasterProcess, waitFor } from '../helpers/processes.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const FAST = { heartbeatIntervalMs: 300, missedHeartbeats: 3, reconnectGraceMs: 500, selfFenceAfterMs: 10_000 };

describe('master restart', () => {
  it('resumes the run after a SIGKILL of the master: agents rejoin, every acknowledged task ends once', { timeout: 120_000 }, async () => {
    const dir = cleanup.dir();
    const ports = { httpPort: await freePort(), grpcPort: await freePort() };
    const dataDir = join(dir, 'master');
    let master = cleanup.track(await MasterProcess.start({ dataDir, ...ports, settings: FAST }));
    const agents: AgentProcess[] = [];
    for (const name of ['w1', 'w2']) {
      const { token } = await master.createToken();
      agents.push(cleanup.track(AgentProcess.spawn({ masterUrl: master.info.httpUrl, token, caHash: master.info.caHash, name, dataDir: join(dir, name), capacity: 4 })));
    }
    for (const a of agents) await a.joined();
    const adminToken = master.info.adminToken;

    const submitted = await master.call<Array<{ task: Task }>>('submitTasks', Array.from({ length: 100 }, (_, i) => ({ command: ['sh', '-c', `sleep 0.3; echo ${i}`] })));
    const ids = submitted.map((s) => s.task.id);
    await waitFor('progress before the crash', async () => (await master.call<{ tasks: { succeeded: number } }>('status')).tasks.succeeded >= 15);
    master.kill('SIGKILL');
    await master.exited;

    // Agents keep their running tasks while the master is away and hold the results.
    await new Promise((r) => setTimeout(r, 700));
    master = cleanup.track(await MasterProcess.start({ dataDir, ...ports, settings: FAST }));
    expect(master.info.adminToken).toBe(adminToken); // reused from client.json

    await waitFor('agents reconnected', async () => {
      const nodes = await master.call<FleetNode[]>('listNodes');
      return nodes.length === 2 && nodes.every((n) => n.status === 'ready');
    }, 20_000);
    try {
      await waitFor('all 100 tasks succeeded', async () => (await master.call<{ tasks: { succeeded: number } }>('status')).tasks.succeeded === 100, 30_000);
    } catch (err) {
      console.error(JSON.stringify(await master.call('status')), JSON.stringify((await master.call<Task[]>('listTasks', { states: ['pending', 'assigned', 'running'] })).map((t) => [t.id, t.state, t.attempt, t.nodeId])), master.stderr, agents.map((a) => a.stderr).join('\n---\n'));
      throw err;
    }

    const tasks = await master.call<Task[]>('listTasks', {});
    expect(tasks.map((t) => t.id).sort()).toEqual([...ids].sort());
    const events = await master.call<FleetEvent[]>('events');
    for (const id of ids) expect(events.filter((e) => e.type === 'task.finished' && e.subject === id)).toHaveLength(1);
    // The agents never left: no node was declared down across the restart.
    expect(events.some((e) => e.type === 'node.status' && e.data['to'] === 'down')).toBe(false);
    for (const a of agents) expect(a.alive).toBe(true);
  });
});
