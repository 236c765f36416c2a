/**
 * Failure detection and reassignment with real processes: a master and three worker agents
 * on loopback; one worker is SIGKILLed mid-run, another SIGSTOPped past the timeout.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetEvent, FleetNode, Task } from '../../src/core/index.js';
import { AgentProcess, Cleanup, freePort, MasterProcess, waitFor } from '../helpers/processes.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const FAST = { heartbeatIntervalMs: 300, missedHeartbeats: 3, reconnectGraceMs: 500, selfFenceAfterMs: 5000 };

async function fleetOf(workers: string[], capacity = 4) {
  const dir = cleanup.dir();
  const master = cleanup.track(await MasterProcess.start({ dataDir: join(dir, 'master'), httpPort: await freePort(), grpcPort: await freePort(), settings: FAST }));
  const agents: Record<string, AgentProcess> = {};
  for (const name of workers) {
    const { token } = await master.createToken();
    agents[name] = cleanup.track(AgentProcess.spawn({ masterUrl: master.info.httpUrl, token, caHash: master.info.caHash, name, dataDir: join(dir, name), capacity }));
  }
  for (const agent of Object.values(agents)) await agent.joined();
  return { dir, master, agents };
}

function finishedPerTask(events: FleetEvent[]): Map<string, number> {
  const count = new Map<string, number>();
  for (const e of events) if (e.type === 'task.finished' && e.subject) count.set(e.subject, (count.get(e.subject) ?? 0) + 1);
  return count;
}

describe('failover with real processes', () => {
  it('reassigns the work of a SIGKILLed worker: every task gets exactly one accepted result', async () => {
    const { master, agents } = await fleetOf(['w1', 'w2', 'w3']);
    const victim = agents['w2']!;
    const submitted = await master.call<Array<{ task: Task }>>('submitTasks', Array.from({ length: 200 }, (_, i) => ({ command: ['sh', '-c', `sleep 0.2; echo ${i}`] })));
    const ids = submitted.map((s) => s.task.id);

    // Mid-run: w2 holds running tasks when it dies.
    await waitFor('w2 running tasks', async () => (await master.call<Task[]>('listTasks', { nodeId: victim.nodeId, states: ['running'] })).length >= 2);
    await waitFor('some progress', async () => (await master.call<{ tasks: { succeeded: number } }>('status')).tasks.succeeded >= 20);
    const heldByVictim = (await master.call<Task[]>('listTasks', { nodeId: victim.nodeId, states: ['assigned', 'running'] })).map((t) => t.id);
    expect(heldByVictim.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    victim.kill('SIGKILL');

    await waitFor('w2 down', async () => (await master.call<FleetNode>('getNode', 'w2')).status === 'down', 10_000);
    const detectedInMs = Date.now() - killedAt;
    expect(detectedInMs).toBeLessThan(5000);

    await waitFor('all 200 tasks terminal', async () => (await master.call<{ tasks: { succeeded: number } }>('status')).tasks.succeeded === 200, 60_000);
    const tasks = await master.call<Task[]>('listTasks', {});
    expect(tasks.map((t) => t.id).sort()).toEqual([...ids].sort());
    expect(tasks.every((t) => t.state === 'succeeded')).toBe(true);

    const events = await master.call<FleetEvent[]>('events');
    const finished = finishedPerTask(events);
    for (const id of ids) expect(finished.get(id), `task ${id} finished events`).toBe(1);

    // Its unfinished tasks ran elsewhere, on a later attempt. A task of the snapshot may have
    // finished on w2 in the moment between the snapshot and the signal: that one keeps its
    // first attempt, and its result was recorded before the kill.
    let moved = 0;
    for (const id of heldByVictim) {
      const task = tasks.find((t) => t.id === id)!;
      if (task.nodeId === victim.nodeId) {
        expect(task.attempt, `task ${id} finished on the victim`).toBe(1);
        expect(task.finishedAt!, `task ${id} finished on the victim before it died`).toBeLessThanOrEqual(killedAt + 1000);
        continue;
      }
      expect(task.attempt).toBeGreaterThanOrEqual(2);
      moved++;
    }
    expect(moved).toBeGreaterThan(0);
  });

  it('a worker that stops cleanly hands its running tasks back: they move at once, not after its lease', async () => {
    // A lease far longer than the test's waits: only the hand-back can move the work in time.
    const dir = cleanup.dir();
    const master = cleanup.track(await MasterProcess.start({
      dataDir: join(dir, 'master'), httpPort: await freePort(), grpcPort: await freePort(), settings: { ...FAST, selfFenceAfterMs: 120_000 },
    }));
    const agents: AgentProcess[] = [];
    for (const name of ['w1', 'w2']) {
      const { token } = await master.createToken();
      agents.push(cleanup.track(AgentProcess.spawn({ masterUrl: master.info.httpUrl, token, caHash: master.info.caHash, name, dataDir: join(dir, name), capacity: 2 })));
    }
    for (const agent of agents) await agent.joined();
    const [leaving] = agents as [AgentProcess, AgentProcess];
    await master.call('submitTasks', Array.from({ length: 4 }, () => ({ command: ['sh', '-c', 'sleep 3'] })));
    await waitFor('w1 runs two tasks', async () => (await master.call<Task[]>('listTasks', { nodeId: leaving.nodeId, states: ['running'] })).length === 2);
    const held = (await master.call<Task[]>('listTasks', { nodeId: leaving.nodeId, states: ['running'] })).map((t) => t.id);

    leaving.kill('SIGTERM');
    await waitFor('all four succeeded', async () => (await master.call<{ tasks: { succeeded: number } }>('status')).tasks.succeeded === 4, 30_000);
    const tasks = await master.call<Task[]>('listTasks', {});
    for (const id of held) {
      const task = tasks.find((t) => t.id === id)!;
      expect(task.nodeId).not.toBe(leaving.nodeId);
      expect(task.attempt).toBe(2);
    }
    const events = await master.call<FleetEvent[]>('events');
    const requeued = events.filter((e) => e.type === 'task.requeued' && held.includes(e.subject!));
    expect(requeued.map((e) => String(e.data['reason']))).toEqual([expect.stringContaining('agent stopping'), expect.stringContaining('agent stopping')]);
    // It left cleanly (not lost, not removed): no work goes to it until it comes back.
    expect((await master.call<FleetNode>('getNode', 'w1')).status).toBe('left');
  });

  it('fences a SIGSTOPped worker: its late claims are refused or never made, its tasks killed, nothing recorded twice', async () => {
    const { master, agents } = await fleetOf(['w1', 'w2'], 8);
    const paused = agents['w1']!;
    // Long enough to still be running when w1 resumes: a frozen agent cannot kill anything, and
    // the master moves w1's work only once w1's lease (selfFenceAfterMs + margin) has ended.
    // Each writes a marker in its node's workspace when it completes.
    const submitted = await master.call<Array<{ task: Task }>>(
      'submitTasks',
      Array.from({ length: 8 }, (_, i) => ({ command: ['sh', '-c', `sleep 12; touch done-${i}`] })),
    );
    await waitFor('w1 running tasks', async () => (await master.call<Task[]>('listTasks', { nodeId: paused.nodeId, states: ['running'] })).length >= 2);
    const onPaused = (await master.call<Task[]>('listTasks', { nodeId: paused.nodeId, states: ['assigned', 'running'] })).map((t) => ({ id: t.id, attempt: t.attempt }));

    process.kill(paused.pid, 'SIGSTOP');
    await waitFor('w1 down', async () => (await master.call<FleetNode>('getNode', 'w1')).status === 'down', 10_000);
    // Its tasks stay w1's until its lease ends, then move to w2 while w1 is still frozen.
    const held = await master.call<Task[]>('listTasks', { nodeId: paused.nodeId, states: ['assigned', 'running'] });
    expect(held.map((t) => t.id).sort()).toEqual(onPaused.map((t) => t.id).sort());
    await waitFor('tasks of w1 reassigned', async () => {
      const tasks = await master.call<Task[]>('listTasks', {});
      return onPaused.every(({ id, attempt }) => {
        const t = tasks.find((x) => x.id === id)!;
        return t.attempt > attempt && t.nodeId !== paused.nodeId;
      });
    });
    process.kill(paused.pid, 'SIGCONT');

    await waitFor('w1 back', async () => (await master.call<FleetNode>('getNode', 'w1')).status === 'ready', 15_000);
    await waitFor('all succeeded', async () => (await master.call<{ tasks: { succeeded: number } }>('status')).tasks.succeeded === 8, 40_000);
    const events = await master.call<FleetEvent[]>('events');
    const finished = finishedPerTask(events);
    for (const { task } of submitted) expect(finished.get(task.id)).toBe(1);
    // Resumed, w1 either killed its attempts itself first (its lease had run out: it never
    // claims them again) or claimed them in its hello and was refused (a fenced record).
    const fenced = events.filter((e) => e.type === 'task.fenced');
    const selfFenced = paused.stderr.includes('self-fence');
    for (const { id, attempt } of onPaused) {
      const refused = fenced.some((e) => e.subject === id && e.data['attempt'] === attempt);
      if (!refused && !selfFenced) console.error(JSON.stringify(events.filter((e) => e.subject === id || e.type === 'node.status'), null, 1), paused.stderr);
      expect(refused || selfFenced, `${id}#${attempt}: fenced record or self-fence`).toBe(true);
    }
    // The voided attempts were killed on w1: none of them completed there.
    await new Promise((r) => setTimeout(r, 1000));
    const w1Workspace = join(cleanup['dirs'][0]!, 'w1', 'workspaces', 'default');
    const markers = readdirSafe(w1Workspace);
    const tasks = await master.call<Task[]>('listTasks', {});
    const doneOnW1 = tasks.filter((t) => t.nodeId === paused.nodeId).length;
    expect(markers.length).toBe(doneOnW1);
  });
});

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
