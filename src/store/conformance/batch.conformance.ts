/**
 * Conformance of the batch verbs (tasks.assignMany, recordReports, requeueMany,
 * nodes.recordHeartbeats) and of concurrent calls: one outcome per item in order, a refused
 * item never undoes the others, calls issued together are applied in call order, and a
 * promise resolves only once its change is readable.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, StaleAttemptError, ValidationError, type TaskResult } from '../../core/index.js';
import type { Backbone, ItemOutcome } from '../backbone.js';
import { eventsOf, nodeInput, T0, useBackbone, type OpenBackbone } from './harness.js';

const OK: TaskResult = { exitCode: 0, error: null, durationMs: 7 };
const EXIT_1: TaskResult = { exitCode: 1, error: null, durationMs: 7 };

async function submittedMany(b: Backbone, n: number): Promise<string[]> {
  return (await b.tasks.submitMany(Array.from({ length: n }, (_, i) => ({ command: ['make', `part-${i}`] })), T0)).map((o) => o.task.id);
}

/** `ok` per item, or the error class name of a refused one. */
function shape(outcomes: ItemOutcome[]): string[] {
  return outcomes.map((o) => (o.ok ? 'ok' : o.error.name));
}

export function describeBatchVerbs(open: OpenBackbone): void {
  describe('TaskQueue batch verbs', () => {
    const backbone = useBackbone(open);

    it('assignMany answers one outcome per assignment, in order, and applies every one that is not refused', async () => {
      const b = backbone();
      const [a, taken, c] = (await submittedMany(b, 3)) as [string, string, string];
      await b.tasks.assign(taken, 'nod_0', 0, T0);
      const outcomes = await b.tasks.assignMany(
        [
          { taskId: a, nodeId: 'nod_1', expectedAttempt: 0 },
          { taskId: taken, nodeId: 'nod_1', expectedAttempt: 0 },
          { taskId: 'tsk_unknown', nodeId: 'nod_1', expectedAttempt: 0 },
          { taskId: c, nodeId: 'nod_2', expectedAttempt: 0 },
        ],
        T0 + 1,
      );
      expect(shape(outcomes)).toEqual(['ok', 'ConflictError', 'NotFoundError', 'ok']);
      const [first, conflict, unknown, last] = outcomes;
      expect(first).toMatchObject({ ok: true, task: { id: a, state: 'assigned', attempt: 1, nodeId: 'nod_1', assignedAt: T0 + 1 } });
      expect(last).toMatchObject({ ok: true, task: { id: c, nodeId: 'nod_2', attempt: 1 } });
      expect(!conflict?.ok && conflict?.error).toBeInstanceOf(ConflictError);
      expect(!unknown?.ok && unknown?.error).toBeInstanceOf(NotFoundError);
      expect(await b.tasks.get(a)).toEqual(first?.ok ? first.task : null);
      expect(await b.tasks.get(taken)).toMatchObject({ nodeId: 'nod_0', attempt: 1 });
      expect((await eventsOf(b, 'task.assigned')).map((e) => [e.subject, e.data['nodeId']])).toEqual([[taken, 'nod_0'], [a, 'nod_1'], [c, 'nod_2']]);
    });

    it('assignMany lets only the first of two assignments of one task in a batch win', async () => {
      const b = backbone();
      const [id] = (await submittedMany(b, 1)) as [string];
      const outcomes = await b.tasks.assignMany(
        [{ taskId: id, nodeId: 'nod_1', expectedAttempt: 0 }, { taskId: id, nodeId: 'nod_2', expectedAttempt: 0 }],
        T0,
      );
      expect(shape(outcomes)).toEqual(['ok', 'ConflictError']);
      expect(await b.tasks.get(id)).toMatchObject({ nodeId: 'nod_1', attempt: 1 });
    });

    it('answers an empty batch with no outcomes and records nothing', async () => {
      const b = backbone();
      expect(await b.tasks.assignMany([], T0)).toEqual([]);
      expect(await b.tasks.recordReports([], T0)).toEqual([]);
      expect(await b.tasks.requeueMany([], T0)).toEqual([]);
      expect(await b.nodes.recordHeartbeats([])).toBe(0);
      expect(await b.events.latestSeq()).toBe(0);
    });

    it('recordReports applies started and finished reports in order, refusing stale and unknown ones alone', async () => {
      const b = backbone();
      const [a, c, stale] = (await submittedMany(b, 3)) as [string, string, string];
      await b.tasks.assignMany([a, c, stale].map((taskId) => ({ taskId, nodeId: 'nod_1', expectedAttempt: 0 })), T0);
      await b.tasks.requeue(stale, 1, 'node lost', T0 + 1);
      const outcomes = await b.tasks.recordReports(
        [
          { kind: 'started', taskId: a, attempt: 1 },
          { kind: 'finished', taskId: a, attempt: 1, result: OK },
          { kind: 'started', taskId: stale, attempt: 1 },
          { kind: 'finished', taskId: 'tsk_unknown', attempt: 1, result: OK },
          { kind: 'finished', taskId: c, attempt: 1, result: EXIT_1 },
          { kind: 'finished', taskId: a, attempt: 1, result: OK },
        ],
        T0 + 2,
      );
      expect(shape(outcomes)).toEqual(['ok', 'ok', 'StaleAttemptError', 'NotFoundError', 'ok', 'StaleAttemptError']);
      expect(outcomes[0]).toMatchObject({ ok: true, task: { id: a, state: 'running', startedAt: T0 + 2 } });
      expect(outcomes[1]).toMatchObject({ ok: true, task: { id: a, state: 'succeeded', finishedAt: T0 + 2 } });
      expect(outcomes[4]).toMatchObject({ ok: true, task: { id: c, state: 'failed', exitCode: 1 } });
      expect(!outcomes[2]?.ok && outcomes[2]?.error).toBeInstanceOf(StaleAttemptError);
      expect(await b.tasks.get(a)).toMatchObject({ state: 'succeeded', startedAt: T0 + 2 });
      expect(await b.tasks.get(stale)).toMatchObject({ state: 'pending', infraFailures: 1 });
      expect((await eventsOf(b, 'task.running')).map((e) => e.subject)).toEqual([a]);
      expect((await eventsOf(b, 'task.finished')).map((e) => [e.subject, e.data['state']])).toEqual([[a, 'succeeded'], [c, 'failed']]);
    });

    it('recordReports follows the retry rule: a failure with retries left goes back to pending', async () => {
      const b = backbone();
      const { task } = await b.tasks.submit({ command: ['flaky'], retryOnFailure: 1 }, T0);
      await b.tasks.assign(task.id, 'nod_1', 0, T0);
      const [outcome] = await b.tasks.recordReports([{ kind: 'finished', taskId: task.id, attempt: 1, result: EXIT_1 }], T0 + 1);
      expect(outcome).toMatchObject({ ok: true, task: { state: 'pending', userFailures: 1, nodeId: null } });
      expect(await eventsOf(b, 'task.requeued')).toHaveLength(1);
    });

    it('requeueMany requeues or fails each attempt by its retries, refusing stale attempts alone', async () => {
      const b = backbone();
      const { task: lastChance } = await b.tasks.submit({ command: ['x'], maxRetries: 0 }, T0);
      const [a, stale] = (await submittedMany(b, 2)) as [string, string];
      await b.tasks.assignMany([a, stale, lastChance.id].map((taskId) => ({ taskId, nodeId: 'nod_1', expectedAttempt: 0 })), T0);
      await b.tasks.complete(stale, 1, OK, T0 + 1);
      const outcomes = await b.tasks.requeueMany(
        [
          { taskId: a, attempt: 1, reason: 'node lost' },
          { taskId: stale, attempt: 1, reason: 'node lost' },
          { taskId: lastChance.id, attempt: 1, reason: 'node lost' },
          { taskId: 'tsk_unknown', attempt: 1, reason: 'node lost' },
        ],
        T0 + 2,
      );
      expect(shape(outcomes)).toEqual(['ok', 'StaleAttemptError', 'ok', 'NotFoundError']);
      expect(outcomes[0]).toMatchObject({ ok: true, task: { id: a, state: 'pending', infraFailures: 1, nodeId: null } });
      expect(outcomes[2]).toMatchObject({ ok: true, task: { id: lastChance.id, state: 'failed', error: 'node lost', finishedAt: T0 + 2 } });
      expect(await b.tasks.get(stale)).toMatchObject({ state: 'succeeded' });
      expect((await eventsOf(b, 'task.requeued')).map((e) => e.subject)).toEqual([a]);
      expect((await eventsOf(b, 'task.finished')).map((e) => e.subject)).toEqual([stale, lastChance.id]);
    });

    it('keeps the order of the feed: the events of a batch follow its items', async () => {
      const b = backbone();
      const ids = await submittedMany(b, 3);
      const before = await b.events.latestSeq();
      await b.tasks.assignMany(ids.map((taskId) => ({ taskId, nodeId: 'nod_1', expectedAttempt: 0 })), T0);
      const events = await b.events.read(before);
      expect(events.map((e) => [e.type, e.subject])).toEqual(ids.map((id) => ['task.assigned', id]));
      expect(events.map((e) => e.seq)).toEqual([before + 1, before + 2, before + 3]);
    });
  });

  describe('NodeRepository.recordHeartbeats', () => {
    const backbone = useBackbone(open);

    it('records many heartbeats, skips unknown nodes, counts what it recorded and appends no event', async () => {
      const b = backbone();
      const one = await b.nodes.register(nodeInput('worker-1'), T0);
      const two = await b.nodes.register(nodeInput('worker-2'), T0);
      const before = await b.events.latestSeq();
      const resources = { cpus: 4, memoryBytes: 2048, load: 1.5 };
      const recorded = await b.nodes.recordHeartbeats([
        { id: one.id, at: T0 + 100, resources, runningTasks: 2 },
        { id: 'nod_unknown', at: T0 + 100, resources, runningTasks: 0 },
        { id: two.id, at: T0 + 200, resources: { ...resources, load: 0 }, runningTasks: 0 },
      ]);
      expect(recorded).toBe(2);
      expect(await b.nodes.get(one.id)).toMatchObject({ lastHeartbeatAt: T0 + 100, resources, runningTasks: 2 });
      expect(await b.nodes.get(two.id)).toMatchObject({ lastHeartbeatAt: T0 + 200, runningTasks: 0 });
      expect(await b.events.latestSeq()).toBe(before);
    });

    it('keeps the last of two heartbeats of one node in a batch', async () => {
      const b = backbone();
      const node = await b.nodes.register(nodeInput('worker-1'), T0);
      const resources = { cpus: 4, memoryBytes: 2048, load: 1 };
      await b.nodes.recordHeartbeats([
        { id: node.id, at: T0 + 1, resources, runningTasks: 1 },
        { id: node.id, at: T0 + 2, resources, runningTasks: 3 },
      ]);
      expect(await b.nodes.get(node.id)).toMatchObject({ lastHeartbeatAt: T0 + 2, runningTasks: 3 });
    });
  });

  describe('Concurrent calls', () => {
    const backbone = useBackbone(open);

    it('applies 200 submissions issued together, all resolved, in call order', async () => {
      const b = backbone();
      const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => b.tasks.submit({ command: ['echo', String(i)] }, T0 + i)));
      const seqs = outcomes.map((o) => o.task.seq);
      expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true);
      const listed = await b.tasks.list();
      expect(listed.map((t) => t.id)).toEqual(outcomes.map((o) => o.task.id));
      expect(listed.map((t) => t.command[1])).toEqual(outcomes.map((_, i) => String(i)));
      expect((await eventsOf(b, 'task.submitted')).map((e) => e.subject)).toEqual(outcomes.map((o) => o.task.id));
    });

    it('applies concurrent writes of one key in call order', async () => {
      const b = backbone();
      const results = await Promise.allSettled([
        b.kv.put('leader', 'a', { expectedRevision: 0 }),
        b.kv.put('leader', 'b', { expectedRevision: 0 }),
        b.kv.put('counter', 1),
        b.kv.put('counter', 2),
        b.kv.put('counter', 3),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect(results[1]?.status === 'rejected' && results[1].reason).toBeInstanceOf(ConflictError);
      expect((await b.kv.get('leader'))?.value).toBe('a');
      expect((await b.kv.get('counter'))?.value).toBe(3);
      const revisions = results.slice(2).map((r) => (r.status === 'fulfilled' ? r.value.revision : -1));
      expect(revisions.every((rev, i) => i === 0 || rev > revisions[i - 1]!)).toBe(true);
    });

    it('lets a refused call fail alone among calls issued together', async () => {
      const b = backbone();
      const calls = [
        b.tasks.submit({ command: ['first'] }, T0),
        b.tasks.submit({ command: [] }, T0),
        b.kv.put('kept', true),
        b.tasks.markRunning('tsk_unknown', 1, T0),
        b.tasks.submit({ command: ['last'] }, T0),
      ];
      const results = await Promise.allSettled(calls);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
      expect(results[1]?.status === 'rejected' && results[1].reason).toBeInstanceOf(ValidationError);
      expect(results[3]?.status === 'rejected' && results[3].reason).toBeInstanceOf(NotFoundError);
      expect((await b.tasks.list()).map((t) => t.command[0])).toEqual(['first', 'last']);
      expect((await b.kv.get('kept'))?.value).toBe(true);
      expect((await eventsOf(b)).map((e) => e.type)).toEqual(['task.submitted', 'kv.updated', 'task.submitted']);
    });

    it('resolves a write only once its change is readable', async () => {
      const b = backbone();
      const seen = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          b.tasks.submit({ command: ['echo', String(i)] }, T0).then(async ({ task }) => ({ task, read: await b.tasks.get(task.id), seq: await b.events.latestSeq() })),
        ),
      );
      for (const { task, read, seq } of seen) {
        expect(read).toEqual(task);
        expect(seq).toBeGreaterThanOrEqual(task.seq);
      }
    });

    it('applies a write issued after another, without waiting, after it', async () => {
      const b = backbone();
      const submitted = b.tasks.submit({ command: ['make'], idempotencyKey: 'once' }, T0);
      const again = b.tasks.submit({ command: ['make'], idempotencyKey: 'once' }, T0 + 1);
      const [first, second] = await Promise.all([submitted, again]);
      expect(first.created).toBe(true);
      expect(second).toEqual({ task: first.task, created: false });
    });
  });
}
