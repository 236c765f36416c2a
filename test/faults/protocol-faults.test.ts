/**
 * Fault 6: duplicated and reordered deliveries of agent messages, results of superseded
 * attempts, stale claims after a reconnect — injected at the protocol level by a hand-driven
 * agent over the real TLS stream — and resubmissions under one idempotency key. Checked with
 * the history checker and with what the master answered (resultAcks, voidTasks).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetEvent, Task, TaskLogChunk } from '../../src/core/index.js';
import { waitFor } from '../helpers/processes.js';
import { FaultFleet, FaultScope } from '../helpers/faults/fleet.js';
import { RawAgent, reports } from '../helpers/faults/raw-agent.js';

const scope = new FaultScope();
afterEach(() => scope.dispose());

async function rawAgent(fleet: FaultFleet, options: Parameters<typeof RawAgent.connect>[1]): Promise<RawAgent> {
  const agent = await RawAgent.connect(fleet.master, options);
  scope.defer(() => agent.close());
  return agent;
}

function eventsOf(events: FleetEvent[], taskId: string, type?: FleetEvent['type']): FleetEvent[] {
  return events.filter((e) => e.subject === taskId && (type === undefined || e.type === type));
}

describe('fault 6: duplicated, reordered and stale deliveries', () => {
  it('records one result per task whatever the order and number of copies', { timeout: 90_000 }, async () => {
    const fleet = await FaultFleet.start(scope, { workers: [] });
    const raw = await rawAgent(fleet, { name: 'raw1' });

    // T: attempt 1 refused by the agent → attempt 2 on the same (pinned) node.
    const [t] = await fleet.submit([fleet.task('true', { pinnedNode: 'raw1' })]);
    await raw.execute(t!, 1);
    raw.send(raw.rejected({ taskId: t!, attempt: 1 }, 'test: refuse the first attempt'));
    await raw.execute(t!, 2);
    const t1 = { taskId: t!, attempt: 1 };
    const t2 = { taskId: t!, attempt: 2 };
    // Out of order and duplicated: the result before the start, three byte-identical copies
    // of it, then the superseded attempt's result, the late start, a stale heartbeat claim.
    raw.sendDuplicated(raw.finished(t2), 3);
    raw.send(raw.finished(t1));
    raw.send(raw.started(t2));
    raw.send({ type: 'heartbeat', at: Date.now(), resources: { cpus: 1, memoryBytes: 1, load: 0 }, running: [t1] });
    await waitFor('answers', () => raw.acks(t2).length === 3 && raw.acks(t1).length === 1 && raw.voided(t1) && raw.voided(t2));
    expect(raw.acks(t2).map((a) => a.accepted)).toEqual([true, false, false]);
    expect(raw.acks(t1)).toEqual([expect.objectContaining({ accepted: false })]);
    expect(await fleet.master.call<Task>('getTask', t!)).toMatchObject({ state: 'succeeded', attempt: 2 });

    // U: a normal run with every frame delivered twice, output included.
    const [u] = await fleet.submit([fleet.task('echo once', { pinnedNode: 'raw1' })]);
    await raw.execute(u!, 1);
    const u1 = { taskId: u!, attempt: 1 };
    const output = reports({ output: [{ taskId: u!, attempt: 1, seq: 0, stream: 'stdout', data: 'once\n', at: Date.now() }] });
    raw.sendDuplicated(raw.started(u1), 2);
    raw.sendDuplicated(output, 2);
    raw.sendDuplicated(raw.finished(u1), 2);
    await waitFor('acks of U', () => raw.acks(u1).length === 2);
    expect(raw.acks(u1).map((a) => a.accepted)).toEqual([true, false]);
    const logs = await fleet.master.call<TaskLogChunk[]>('taskLogs', u!);
    expect(logs.map((c) => c.data)).toEqual(['once\n']);

    // V: the agent "crashes" holding attempt 1; V is requeued (pinned: it waits for raw1).
    // It reconnects claiming the old attempt, then reports it, then runs attempt 2.
    const [v] = await fleet.submit([fleet.task('true', { pinnedNode: 'raw1' })]);
    await raw.execute(v!, 1);
    raw.send(raw.started({ taskId: v!, attempt: 1 }));
    fleet.recorder.nodeDied(raw.nodeId, 'raw agent stream dropped');
    raw.close();
    await fleet.waitNodeStatus('raw1', 'down');
    await waitFor('V requeued', async () => (await fleet.master.call<Task>('getTask', v!)).state === 'pending');
    const back = await rawAgent(fleet, { name: 'raw1', identity: raw.identity, running: [{ taskId: v!, attempt: 1 }] });
    fleet.recorder.nodeRevived(back.nodeId);
    expect(back.voided({ taskId: v!, attempt: 1 })).toBe(true);
    await back.execute(v!, 2);
    back.send(back.finished({ taskId: v!, attempt: 1 })); // stale, after the void
    back.send(back.started({ taskId: v!, attempt: 2 }));
    back.sendDuplicated(back.finished({ taskId: v!, attempt: 2 }), 2);
    await waitFor('acks of V', () => back.acks({ taskId: v!, attempt: 2 }).length === 2 && back.acks({ taskId: v!, attempt: 1 }).length === 1);
    expect(back.acks({ taskId: v!, attempt: 1 })[0]!.accepted).toBe(false);
    expect(back.acks({ taskId: v!, attempt: 2 }).map((a) => a.accepted)).toEqual([true, false]);

    await fleet.waitIdle();
    const report = await fleet.expectClean();
    expect(report.figures).toMatchObject({ acknowledged: 3, succeeded: 3, duplicates: 0, staleAccepted: 0 });
    const events = await fleet.master.call<FleetEvent[]>('events');
    for (const id of [t!, u!, v!]) expect(eventsOf(events, id, 'task.finished'), `one result for ${id}`).toHaveLength(1);
    // Every refused report was recorded as fenced.
    expect(eventsOf(events, t!, 'task.fenced').map((e) => e.data['attempt'])).toEqual(expect.arrayContaining([1, 2]));
    expect(eventsOf(events, v!, 'task.fenced').some((e) => e.data['attempt'] === 1)).toBe(true);
    // The late start after the result was not taken as a start.
    const tEvents = eventsOf(events, t!);
    const finishedAt = tEvents.findIndex((e) => e.type === 'task.finished');
    expect(tEvents.slice(finishedAt + 1).some((e) => e.type === 'task.running')).toBe(false);
  });

  it('resubmission under one idempotency key: same payload → same task, other payload → error', { timeout: 60_000 }, async () => {
    const fleet = await FaultFleet.start(scope, { workers: [{ name: 'w1' }] });
    const key = `deploy-${fleet.tag}`;
    const spec = fleet.task('echo deploy', { idempotencyKey: key });
    const [first] = await fleet.submit([spec]);
    const again = await fleet.recorder.submitOne(fleet.master, spec);
    expect(again).toEqual({ id: first, error: null });
    expect(fleet.recorder.submissions.at(-1)!.created).toBe(false);
    // Twice in one batch: one task.
    const batch = await fleet.submit([spec, spec]);
    expect(batch).toEqual([first, first]);
    // Same key, another payload: a clear error, nothing created.
    const other = await fleet.recorder.submitOne(fleet.master, fleet.task('echo something else', { idempotencyKey: key }));
    expect(other.id).toBeNull();
    expect(other.error?.code).toBe('BIT_ERR_IDEMPOTENCY_MISMATCH');
    expect(other.error?.message).toContain(key);
    // After it ran, the key still names it.
    await fleet.waitIdle();
    expect((await fleet.recorder.submitOne(fleet.master, spec)).id).toBe(first);

    const report = await fleet.expectClean();
    expect(report.figures).toMatchObject({ acknowledged: 1, succeeded: 1 });
    expect((await fleet.master.call<Task[]>('listTasks', {})).length).toBe(1);
  });
});
