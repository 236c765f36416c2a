/**
 * Faults 1–3, history-checked, with real processes on loopback: a worker SIGKILLed while it
 * holds running tasks; a worker SIGSTOPped past the timeout and resumed (its late results
 * and its void tasks); the master SIGKILLed mid-run and restarted on the same data
 * directory, with clients retrying their submissions under idempotency keys.
 * (test/fleet/failover.test.ts and restart.test.ts cover the same ground with 200 tasks and
 * timing figures; these add the checker and the idempotent retries.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetEvent, Task } from '../../src/core/index.js';
import { waitFor } from '../helpers/processes.js';
import { FaultFleet, FaultScope } from '../helpers/faults/fleet.js';
import { tagged } from '../helpers/faults/procs.js';

const scope = new FaultScope();
afterEach(() => scope.dispose());

/** A command that sleeps `onVictim` seconds on the named worker (its workspace is under its data dir) and `elsewhere` seconds on others. */
function sleepOn(worker: string, onVictim: number, elsewhere: number): string {
  return `case "$PWD" in */${worker}/*) sleep ${onVictim};; *) sleep ${elsewhere};; esac`;
}

describe('fault 1: SIGKILL of a worker holding running tasks', () => {
  it('requeues its attempts elsewhere, records every task once, and lets it rejoin', { timeout: 120_000 }, async () => {
    const fleet = await FaultFleet.start(scope, { workers: [{ name: 'w1' }, { name: 'w2' }, { name: 'w3' }] });
    const { master } = fleet;
    const victim = fleet.worker('w2');
    await fleet.submit(Array.from({ length: 60 }, (_, i) => fleet.task(`sleep 0.3; echo ${i}`)));
    await waitFor('w2 runs tasks', async () => (await master.call<Task[]>('listTasks', { nodeId: victim.nodeId, states: ['running'] })).length >= 2, 30_000, 50);
    const held = await master.call<Task[]>('listTasks', { nodeId: victim.nodeId, states: ['assigned', 'running'] });
    await fleet.killWorker('w2');

    await fleet.waitNodeStatus('w2', 'down');
    await fleet.waitIdle();
    const report = await fleet.expectClean();
    expect(report.figures.requeues).toBeGreaterThanOrEqual(held.length);
    const after = await master.call<Task[]>('listTasks', {});
    for (const h of held) {
      const t = after.find((x) => x.id === h.id)!;
      expect(t, `task ${h.id} held by the killed worker`).toMatchObject({ state: 'succeeded' });
      expect(t.attempt).toBeGreaterThan(h.attempt);
      expect(t.nodeId).not.toBe(victim.nodeId);
    }

    // It comes back on its data directory and takes work again.
    await fleet.restartWorker('w2');
    await fleet.waitNodeStatus('w2', 'ready');
    await fleet.submit(Array.from({ length: 4 }, () => fleet.task('true', { pinnedNode: 'w2' })));
    await fleet.waitIdle();
    await fleet.expectClean();
  });
});

describe('fault 2: SIGSTOP of a worker beyond the timeout, then SIGCONT', () => {
  it('fences its late results (or it drops them itself), kills its void attempts, records nothing twice', { timeout: 120_000 }, async () => {
    const fleet = await FaultFleet.start(scope, { workers: [{ name: 'w1', capacity: 6 }, { name: 'w2', capacity: 6 }] });
    const { master } = fleet;
    const paused = fleet.worker('w1');
    // On w1: even tasks outlive the pause (void on return: must be killed), odd ones finish
    // while it is frozen (their results arrive late: must be refused). Elsewhere: short.
    await fleet.submit(Array.from({ length: 12 }, (_, i) => fleet.task(sleepOn('w1', i % 2 === 0 ? 60 : 2, 0.3))));
    await waitFor('w1 runs its six tasks', async () => (await master.call<Task[]>('listTasks', { nodeId: paused.nodeId, states: ['running'] })).length === 6, 30_000, 50);
    const held = (await master.call<Task[]>('listTasks', { nodeId: paused.nodeId, states: ['assigned', 'running'] })).map((t) => ({ id: t.id, attempt: t.attempt }));

    fleet.pauseWorker('w1');
    await fleet.waitNodeStatus('w1', 'down');
    await waitFor('its tasks reassigned', async () => {
      const tasks = await master.call<Task[]>('listTasks', {});
      return held.every(({ id, attempt }) => {
        const t = tasks.find((x) => x.id === id)!;
        return t.attempt > attempt && t.nodeId !== paused.nodeId;
      });
    });
    // Let the short ones exit while w1 is frozen, so it holds results for superseded attempts.
    await new Promise((r) => setTimeout(r, 2000));
    fleet.resumeWorker('w1');

    await fleet.waitNodeStatus('w1', 'ready');
    await fleet.waitIdle();
    await fleet.expectClean();
    const events = await master.call<FleetEvent[]>('events');
    // The master moved w1's attempts only after w1's lease ended, so on SIGCONT w1 finds its
    // lease run out: its self-fence may kill and drop them (results too) before it reconnects,
    // or its hello claims them first and the master refuses them (a fenced record).
    const selfFenced = paused.agent.stderr.includes('self-fence');
    for (const { id, attempt } of held) {
      const fenced = events.some((e) => e.type === 'task.fenced' && e.subject === id && e.data['attempt'] === attempt);
      expect(fenced || selfFenced, `a fenced record for the superseded attempt ${id}#${attempt}, or w1's self-fence`).toBe(true);
    }
    // The void attempts (60 s sleeps on w1) were killed: once idle, no task process remains.
    await waitFor('no task process left', () => tagged(fleet.tag).length === 0, 20_000, 200);
  });
});

describe('fault 3: SIGKILL of the master mid-run, restarted on the same data directory', () => {
  it('loses no acknowledged task; retried submissions with their keys get the same tasks', { timeout: 150_000 }, async () => {
    const fleet = await FaultFleet.start(scope, { workers: [{ name: 'w1' }, { name: 'w2' }], settings: { selfFenceAfterMs: 20_000 } });
    const specs = Array.from({ length: 80 }, (_, i) => fleet.task(`sleep 0.3; echo ${i}`, { idempotencyKey: `run-${fleet.tag}-${i}` }));
    const ids = await fleet.submit(specs);
    await waitFor('progress before the crash', async () => (await fleet.master.call<{ tasks: { succeeded: number } }>('status')).tasks.succeeded >= 15, 60_000, 100);
    // A submission in flight when the master dies: acknowledged or not, never half.
    const inFlight = Array.from({ length: 10 }, (_, i) => fleet.task(`echo late ${i}`, { idempotencyKey: `late-${fleet.tag}-${i}` }));
    const pending = fleet.recorder.submit(fleet.master, inFlight);
    await fleet.killMaster();
    await pending;
    await new Promise((r) => setTimeout(r, 700));
    await fleet.restartMaster();

    // The client does not know what got through: it retries everything with the same keys.
    const retried = await fleet.submit(specs);
    expect(retried).toEqual(ids);
    const lateIds = await fleet.submit(inFlight);
    expect(new Set(lateIds).size).toBe(10);
    // The same key with another payload is refused and changes nothing.
    const mismatch = await fleet.recorder.submitOne(fleet.master, fleet.task('echo other', { idempotencyKey: specs[0]!.idempotencyKey! }));
    expect(mismatch.error?.code).toBe('BIT_ERR_IDEMPOTENCY_MISMATCH');

    await waitFor('agents reconnected', async () => {
      const nodes = await fleet.master.call<Array<{ status: string }>>('listNodes');
      return nodes.length === 2 && nodes.every((n) => n.status === 'ready');
    }, 30_000, 200);
    await fleet.waitIdle();
    const report = await fleet.expectClean();
    expect(report.figures).toMatchObject({ lost: 0, duplicates: 0 });
    expect(report.figures.acknowledged).toBe(90);
  });
});
