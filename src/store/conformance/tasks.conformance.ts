/** Conformance of TaskQueue submission and queries: persistence, idempotency, all-or-nothing batches, filters, counts. */
import { describe, expect, it } from 'vitest';
import { ErrorCode, ValidationError } from '../../core/index.js';
import { caught, eventsOf, T0, useBackbone, type OpenBackbone } from './harness.js';

export function describeTaskSubmission(open: OpenBackbone): void {
  describe('TaskQueue submission and queries', () => {
    const backbone = useBackbone(open);

    it('persists a submitted task as pending with its defaults and records the event', async () => {
      const b = backbone();
      const { task, created } = await b.tasks.submit({ command: ['echo', 'hi'], project: 'alpha', env: { SECRET: 'x' } }, T0);
      expect(created).toBe(true);
      expect(task).toMatchObject({
        kind: 'spark', project: 'alpha', command: ['echo', 'hi'], env: { SECRET: 'x' }, needs: [], prefers: [], pinnedNode: null, maxRetries: 3,
        retryOnFailure: 0, timeoutMs: null, idempotencyKey: null, estimateKey: null, labels: {}, state: 'pending', attempt: 0, infraFailures: 0,
        userFailures: 0, nodeId: null, exitCode: null, error: null, createdAt: T0, assignedAt: null, startedAt: null, finishedAt: null,
      });
      expect(task.id).toMatch(/^tsk_/);
      expect(await b.tasks.get(task.id)).toEqual(task);
      const [event] = await eventsOf(b, 'task.submitted');
      expect(event?.subject).toBe(task.id);
      expect(JSON.stringify(event?.data)).not.toContain('SECRET');
    });

    it('numbers submissions in increasing order', async () => {
      const b = backbone();
      const seqs: number[] = [];
      for (const i of [1, 2, 3]) seqs.push((await b.tasks.submit({ command: [`t${i}`] }, T0)).task.seq);
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
      expect(new Set(seqs).size).toBe(3);
    });

    it('refuses an invalid spec, naming the problem, and stores nothing', async () => {
      const b = backbone();
      const err = await caught(() => b.tasks.submit({ command: [] }, T0));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues.map((i) => i.path)).toContain('command');
      expect((await caught(() => b.tasks.submit({ command: ['x'], unknownField: 1 } as never, T0))).code).toBe(ErrorCode.Validation);
      expect(await b.tasks.list()).toEqual([]);
      expect(await b.events.latestSeq()).toBe(0);
    });

    it('returns the existing task for the same idempotency key and the same spec', async () => {
      const b = backbone();
      const first = await b.tasks.submit({ command: ['build'], idempotencyKey: 'build-42', env: { A: '1', B: '2' } }, T0);
      const again = await b.tasks.submit({ env: { B: '2', A: '1' }, maxRetries: 3, command: ['build'], idempotencyKey: 'build-42' }, T0 + 10);
      expect(again.created).toBe(false);
      expect(again.task).toEqual(first.task);
      expect(await b.tasks.list()).toHaveLength(1);
      expect(await eventsOf(b, 'task.submitted')).toHaveLength(1);
    });

    it('refuses the same idempotency key with a different spec', async () => {
      const b = backbone();
      await b.tasks.submit({ command: ['build'], idempotencyKey: 'build-42' }, T0);
      const err = await caught(() => b.tasks.submit({ command: ['deploy'], idempotencyKey: 'build-42' }, T0));
      expect(err.code).toBe(ErrorCode.IdempotencyMismatch);
      expect(err.message).toContain('build-42');
      expect(await b.tasks.list()).toHaveLength(1);
    });

    it('submits many in order, in one all-or-nothing step', async () => {
      const b = backbone();
      const outcomes = await b.tasks.submitMany([{ command: ['a'] }, { command: ['b'] }, { command: ['c'] }], T0);
      expect(outcomes.map((o) => [o.task.command[0], o.created])).toEqual([['a', true], ['b', true], ['c', true]]);
      expect((await b.tasks.pending(10)).map((t) => t.id)).toEqual(outcomes.map((o) => o.task.id));
      expect(await eventsOf(b, 'task.submitted')).toHaveLength(3);
    });

    it('stores nothing of a batch with one invalid spec, and names its index', async () => {
      const b = backbone();
      const err = await caught(() => b.tasks.submitMany([{ command: ['a'] }, { command: [] }], T0));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]?.path).toMatch(/^\[1\]/);
      expect(await b.tasks.list()).toEqual([]);
      expect(await b.events.latestSeq()).toBe(0);
    });

    it('stores nothing of a batch when one submission conflicts', async () => {
      const b = backbone();
      await b.tasks.submit({ command: ['x'], idempotencyKey: 'k' }, T0);
      await caught(() => b.tasks.submitMany([{ command: ['a'] }, { command: ['y'], idempotencyKey: 'k' }], T0));
      expect((await b.tasks.list()).map((t) => t.command[0])).toEqual(['x']);
    });

    it('stores the record given with a batch before its tasks, and keeps it when the batch is refused', async () => {
      const b = backbone();
      const record = (n: number) => ({ type: 'audit' as const, subject: null, data: { attempt: n } });
      const [outcome] = await b.tasks.submitMany([{ command: ['ok'] }], T0, { record: record(1) });
      const first = (await eventsOf(b)).filter((e) => e.type === 'audit' || e.type === 'task.submitted').map((e) => e.type);
      expect(first).toEqual(['audit', 'task.submitted']);
      await b.tasks.submit({ command: ['a'], idempotencyKey: 'k' }, T0);
      const refused = await caught(() => b.tasks.submitMany([{ command: ['b'] }, { command: ['c'], idempotencyKey: 'k' }], T0, { record: record(2) }));
      expect(refused.code).toBe(ErrorCode.IdempotencyMismatch);
      const invalid = await caught(() => b.tasks.submitMany([{ command: [] }], T0, { record: record(3) }));
      expect(invalid.code).toBe(ErrorCode.Validation);
      expect((await eventsOf(b, 'audit')).map((e) => e.data['attempt'])).toEqual([1, 2, 3]);
      expect((await b.tasks.list()).map((t) => t.id)).toHaveLength(2);
      expect(outcome?.created).toBe(true);
    });

    it('deduplicates an idempotency key repeated inside one batch', async () => {
      const b = backbone();
      const [first, second] = await b.tasks.submitMany([{ command: ['a'], idempotencyKey: 'same' }, { command: ['a'], idempotencyKey: 'same' }], T0);
      expect(first?.created).toBe(true);
      expect(second).toEqual({ task: first?.task, created: false });
    });

    it('returns null for an unknown task', async () => {
      expect(await backbone().tasks.get('tsk_unknown')).toBeNull();
    });

    it('lists pending tasks in submission order, at most `limit`', async () => {
      const b = backbone();
      const ids = (await b.tasks.submitMany([1, 2, 3, 4].map((i) => ({ command: [`t${i}`] })), T0)).map((o) => o.task.id);
      await b.tasks.assign(ids[0]!, 'nod_a', 0, T0);
      expect((await b.tasks.pending(2)).map((t) => t.id)).toEqual([ids[1], ids[2]]);
      expect(await b.tasks.pending(0)).toEqual([]);
    });

    it('filters lists by state, node and project, in either order, with a limit', async () => {
      const b = backbone();
      const [a, bb, c, d] = (await b.tasks.submitMany(
        [{ command: ['a'], project: 'alpha' }, { command: ['b'], project: 'beta' }, { command: ['c'], project: 'alpha' }, { command: ['d'] }],
        T0,
      )).map((o) => o.task.id) as [string, string, string, string];
      await b.tasks.assign(a, 'nod_1', 0, T0);
      await b.tasks.assign(bb, 'nod_2', 0, T0);
      await b.tasks.markRunning(bb, 1, T0);
      const ids = async (filter: Parameters<typeof b.tasks.list>[0]) => (await b.tasks.list(filter)).map((t) => t.id);
      expect(await ids({})).toEqual([a, bb, c, d]);
      expect(await ids({ order: 'desc' })).toEqual([d, c, bb, a]);
      expect(await ids({ states: ['assigned', 'running'] })).toEqual([a, bb]);
      expect(await ids({ states: [] })).toEqual([]);
      expect(await ids({ nodeId: 'nod_2' })).toEqual([bb]);
      expect(await ids({ project: 'alpha' })).toEqual([a, c]);
      expect(await ids({ project: 'alpha', states: ['pending'] })).toEqual([c]);
      expect(await ids({ order: 'desc', limit: 2 })).toEqual([d, c]);
    });

    it('counts tasks by state', async () => {
      const b = backbone();
      const ids = (await b.tasks.submitMany([1, 2, 3, 4].map((i) => ({ command: [`t${i}`] })), T0)).map((o) => o.task.id);
      await b.tasks.assign(ids[0]!, 'nod_1', 0, T0);
      await b.tasks.assign(ids[1]!, 'nod_1', 0, T0);
      await b.tasks.markRunning(ids[1]!, 1, T0);
      await b.tasks.assign(ids[2]!, 'nod_1', 0, T0);
      await b.tasks.complete(ids[2]!, 1, { exitCode: 0, error: null, durationMs: 5 }, T0);
      await b.tasks.cancel(ids[3]!, 'not needed', T0);
      expect(await b.tasks.counts()).toEqual({ pending: 0, assigned: 1, running: 1, succeeded: 1, failed: 0, cancelled: 1 });
    });

    it('lists the tasks assigned or running on a node', async () => {
      const b = backbone();
      const ids = (await b.tasks.submitMany([1, 2, 3, 4].map((i) => ({ command: [`t${i}`] })), T0)).map((o) => o.task.id);
      await b.tasks.assign(ids[0]!, 'nod_1', 0, T0);
      await b.tasks.assign(ids[1]!, 'nod_1', 0, T0);
      await b.tasks.markRunning(ids[1]!, 1, T0);
      await b.tasks.assign(ids[2]!, 'nod_1', 0, T0);
      await b.tasks.complete(ids[2]!, 1, { exitCode: 0, error: null, durationMs: 5 }, T0);
      await b.tasks.assign(ids[3]!, 'nod_2', 0, T0);
      expect((await b.tasks.activeOn('nod_1')).map((t) => t.id)).toEqual([ids[0], ids[1]]);
      expect(await b.tasks.activeOn('nod_unknown')).toEqual([]);
    });
  });
}
