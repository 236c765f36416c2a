/**
 * Fault 4: a network partition of one worker, then healed. The worker dials the master
 * through a loopback FaultProxy that drops (bytes vanish, nobody hears a FIN), stalls
 * (bytes held and delivered late, as TCP would after a short outage), cuts or delays
 * traffic (cuts and latency are exercised by the soak).
 * Checked: the master fences the cut-off worker's attempts and runs them elsewhere once the
 * worker's lease has ended, by which time the worker has stopped them itself (self-fence)
 * while still cut off; a cut shorter than the lease moves nothing; after healing it rejoins,
 * its late reports are refused, and the history is clean.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetEvent, Task } from '../../src/core/index.js';
import { waitFor } from '../helpers/processes.js';
import { FaultFleet, FaultScope } from '../helpers/faults/fleet.js';
import { tagged } from '../helpers/faults/procs.js';

const scope = new FaultScope();
afterEach(() => scope.dispose());

function sleepOn(worker: string, onVictim: number, elsewhere: number): string {
  return `case "$PWD" in */${worker}/*) sleep ${onVictim};; *) sleep ${elsewhere};; esac`;
}

async function heldBy(fleet: FaultFleet, name: string): Promise<Array<{ id: string; attempt: number }>> {
  const tasks = await fleet.master.call<Task[]>('listTasks', { nodeId: fleet.worker(name).nodeId, states: ['assigned', 'running'] });
  return tasks.map((t) => ({ id: t.id, attempt: t.attempt }));
}

async function waitReassigned(fleet: FaultFleet, held: Array<{ id: string; attempt: number }>, from: string): Promise<void> {
  await waitFor('the cut-off worker\'s tasks reassigned', async () => {
    const tasks = await fleet.master.call<Task[]>('listTasks', {});
    return held.every(({ id, attempt }) => {
      const t = tasks.find((x) => x.id === id)!;
      return t.attempt > attempt && t.nodeId !== from;
    });
  }, 30_000, 100);
}

describe('fault 4: network partition of one worker', () => {
  for (const mode of ['drop', 'stall'] as const) {
    it(`(${mode}) a short partition: its attempts move, its late results are refused after healing`, { timeout: 120_000 }, async () => {
      const fleet = await FaultFleet.start(scope, { workers: [{ name: 'w1' }, { name: 'w2', viaProxy: true }] });
      const cutOff = fleet.worker('w2');
      // Tasks finish on w2 during the partition: it holds results for attempts the master moved.
      await fleet.submit(Array.from({ length: 8 }, () => fleet.task(sleepOn('w2', 2, 0.3))));
      await waitFor('w2 runs four tasks', async () => (await heldBy(fleet, 'w2')).length === 4, 30_000, 50);
      const held = await heldBy(fleet, 'w2');

      fleet.recorder.fault(`partition (${mode})`, cutOff.nodeId);
      if (mode === 'drop') cutOff.proxy!.drop();
      else cutOff.proxy!.stall();
      await fleet.waitNodeStatus('w2', 'down');
      await waitReassigned(fleet, held, cutOff.nodeId);
      await new Promise((r) => setTimeout(r, 2500));
      fleet.recorder.fault('heal', cutOff.nodeId);
      cutOff.proxy!.heal();

      await fleet.waitNodeStatus('w2', 'ready');
      await fleet.waitIdle();
      await fleet.expectClean();
      const events = await fleet.master.call<FleetEvent[]>('events');
      // No result of a moved attempt was accepted. Its late report is fenced ('task.fenced') —
      // unless, on a loaded machine, the cut outlasted the agent's self-fence and it dropped
      // the attempt without reporting; either way the superseded attempt left no result.
      for (const { id, attempt } of held) {
        const accepted = events.some((e) => e.type === 'task.finished' && e.subject === id && e.data['attempt'] === attempt);
        expect(accepted, `a result of superseded attempt ${id}#${attempt} was accepted`).toBe(false);
      }
      expect(cutOff.agent.alive).toBe(true);
    });
  }

  it('a blip shorter than the lease: the node comes back before its lease ends and keeps its attempts', { timeout: 120_000 }, async () => {
    const fleet = await FaultFleet.start(scope, { workers: [{ name: 'w1' }, { name: 'w2', viaProxy: true }], settings: { selfFenceAfterMs: 8000 } });
    const cutOff = fleet.worker('w2');
    await fleet.submit(Array.from({ length: 8 }, () => fleet.task(sleepOn('w2', 4, 0.3))));
    // Started there (not merely assigned: an executeTask still in flight would be cut off too,
    // and SyncState rightly requeues what the agent never got).
    const running = async (): Promise<Task[]> => fleet.master.call<Task[]>('listTasks', { nodeId: cutOff.nodeId, states: ['running'] });
    await waitFor('w2 runs four tasks', async () => (await running()).length === 4, 30_000, 50);
    const held = (await running()).map((t) => ({ id: t.id, attempt: t.attempt }));

    fleet.recorder.fault('partition (drop, shorter than the lease)', cutOff.nodeId);
    cutOff.proxy!.drop();
    await fleet.waitNodeStatus('w2', 'down');
    fleet.recorder.fault('heal', cutOff.nodeId);
    cutOff.proxy!.heal();
    await fleet.waitNodeStatus('w2', 'ready');
    await fleet.waitIdle();
    await fleet.expectClean();
    // Down for a moment, but its lease never ended: SyncState kept its attempts, which finished
    // there — nothing was requeued, nothing ran twice.
    const tasks = await fleet.master.call<Task[]>('listTasks', {});
    for (const { id, attempt } of held) {
      const task = tasks.find((t) => t.id === id)!;
      expect({ attempt: task.attempt, nodeId: task.nodeId, state: task.state }).toEqual({ attempt, nodeId: cutOff.nodeId, state: 'succeeded' });
    }
    const events = await fleet.master.call<FleetEvent[]>('events');
    expect(events.filter((e) => e.type === 'task.requeued' && held.some((h) => h.id === e.subject))).toEqual([]);
    expect(cutOff.agent.stderr).not.toContain('self-fence');
  });

  it('a long cut: the agent stops its own tasks while still cut off, then rejoins and works', { timeout: 150_000 }, async () => {
    const fleet = await FaultFleet.start(scope, {
      workers: [{ name: 'w1' }, { name: 'w2', viaProxy: true }],
      settings: { selfFenceAfterMs: 2000 },
    });
    const cutOff = fleet.worker('w2');
    await fleet.submit(Array.from({ length: 8 }, () => fleet.task(sleepOn('w2', 120, 0.3))));
    await waitFor('w2 runs four long tasks', () => tagged(fleet.tag).filter((p) => p.ppid === cutOff.agent.pid).length === 4, 30_000, 50);
    const held = await heldBy(fleet, 'w2');
    expect(held).toHaveLength(4);

    fleet.recorder.fault('partition (drop, long)', cutOff.nodeId);
    cutOff.proxy!.drop();
    await fleet.waitNodeStatus('w2', 'down');
    // Down, but its tasks stay its own until its lease has ended (selfFenceAfterMs + margin
    // after the master last heard from it): they are still running over there.
    expect(await heldBy(fleet, 'w2')).toEqual(held);
    await waitReassigned(fleet, held, cutOff.nodeId);
    // The master cannot reach it: only the agent itself can stop these, and it did so before
    // the master moved them (its lease, counted from the last heartbeat the master answered,
    // ends first): no two copies ran at once.
    expect(tagged(fleet.tag).filter((p) => p.ppid === cutOff.agent.pid)).toEqual([]);
    expect(cutOff.proxy!.currentMode).toBe('drop');
    expect((await fleet.node('w2')).status).toBe('down');
    expect(cutOff.agent.stderr).toContain('self-fence');

    fleet.recorder.fault('heal', cutOff.nodeId);
    cutOff.proxy!.heal();
    await fleet.waitNodeStatus('w2', 'ready', 60_000);
    await fleet.submit(Array.from({ length: 4 }, () => fleet.task('true', { pinnedNode: 'w2' })));
    await fleet.waitIdle();
    await fleet.expectClean();
  });
});
