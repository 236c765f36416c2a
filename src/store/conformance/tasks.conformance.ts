/** Conformance of TaskQueue submission and queries: persistence, idempotency, all-or-nothing batches, filters, counts. */
import { describe, expect, it } from 'vitest';
import { ErrorCode, ValidationError } from '../../core/index.js';
import { caught, eventsOf, T0, useBackbone, type OpenBackbone } from './harness.js';

export function describeTaskSubmission(open: OpenBackbone): void {
  describe('TaskQueue submission and queries', () => {
    const backbone = useBackbone(open);

    it('persists a submitted task as pending with its defaults and records the event', () => {
      const b = backbone();
      const { task, created } = b.tasks.submit({ command: ['echo', 'hi'], project: 'alpha', env: { SECRET: 'x' } }, T0);
      expect(created).toBe(true);
      expect(task).toMatchObject({
        kind: 'spark', project: 'alpha', command: ['echo', 'hi'], env: { SECRET: 'x' }, needs: [], prefers: [], pinnedNode: null, maxRetries: 3,
        retryOnFailure: 0, timeoutMs: null, idempotencyKey: null, estimateKey: null, labels: {}, state: 'pending', attempt: 0, infraFailures: 0,
        userFailures: 0, nodeId: null, exitCode: null, error: null, createdAt: T0, assignedAt: null, startedAt: null, finishedAt: null,
      });
      expect(task.id).toMatch(/^tsk_/);
      expect(b.tasks.get(task.id)).toEqual(task);
      const [event] = eventsOf(b, 'task.submitted');
      expect(event?.subject).toBe(task.id);
      expect(JSON.stringify(event?.data)).not.toContain('SECRET');
    });

    it('numbers submissions in increasing order', () => {
      const b = backbone();
      const seqs = [1, 2, 3].map((i) => b.tasks.submit({ command: [`t${i}`] }, T0).task.seq);
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
      expect(new Set(seqs).size).toBe(3);
    });

    it('refuses an invalid spec, naming the problem, and stores nothing', () => {
      const b = backbone();
      const err = caught(() => b.tasks.submit({ command: [] }, T0));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues.map((i) => i.path)).toContain('command');
      expect(caught(() => b.tasks.submit({ command: ['x'], unknownField: 1 } as never, T0)).code).toBe(ErrorCode.Validation);
      expect(b.tasks.list()).toEqual([]);
      expect(b.events.latestSeq()).toBe(0);
    });

    it('returns the existing task for the same idempotency key and the same spec', () => {
      const b = backbone();
      const first = b.tasks.submit({ command: ['build'], idempotencyKey: 'build-42', env: { A: '1', B: '2' } }, T0);
      const again = b.tasks.submit({ env: { B: '2', A: '1' }, maxRetries: 3, command: ['build'], idempotencyKey: 'build-42' }, T0 + 10);
      expect(again.created).toBe(false);
      expect(again.task).toEqual(first.task);
      expect(b.tasks.list()).toHaveLength(1);
      expect(eventsOf(b, 'task.submitted')).toHaveLength(1);
    });

    it('refuses the same idempotency key with a different spec', () => {
      const b = backbone();
      b.tasks.submit({ command: ['build'], idempotencyKey: 'build-42' }, T0);
      const err = caught(() => b.tasks.submit({ command: ['deploy'], idempotencyKey: 'build-42' }, T0));
      expect(err.code).toBe(ErrorCode.IdempotencyMismatch);
      expect(err.message).toContain('build-42');
      expect(b.tasks.list()).toHaveLength(1);
    });

    it('submits many in order, in one all-or-nothing step', () => {
      const b = backbone();
      const outcomes = b.tasks.submitMany([{ command: ['a'] }, { command: ['b'] }, { command: ['c'] }], T0);
      expect(outcomes.map((o) => [o.task.command[0], o.created])).toEqual([['a', true], ['b', true], ['c', true]]);
      expect(b.tasks.pending(10).map((t) => t.id)).toEqual(outcomes.map((o) => o.task.id));
      expect(eventsOf(b, 'task.submitted')).toHaveLength(3);
    });

    it('stores nothing of a batch with one invalid spec, and names its index', () => {
      const b = backbone();
      const err = caught(() => b.tasks.submitMany([{ command: ['a'] }, { command: [] }], T0));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]?.path).toMatch(/^\[1\]/);
      expect(b.tasks.list()).toEqual([]);
      expect(b.events.latestSeq()).toBe(0);
    });

    it('stores nothing of a batch when one submission conflicts', () => {
      const b = backbone();
      b.tasks.submit({ command: ['x'], idempotencyKey: 'k' }, T0);
      caught(() => b.tasks.submitMany([{ command: ['a'] }, { command: ['y'], idempotencyKey: 'k' }], T0));
      expect(b.tasks.list().map((t) => t.command[0])).toEqual(['x']);
    });

    it('deduplicates an idempotency key repeated inside one batch', () => {
      const b = backbone();
      const [first, second] = b.tasks.submitMany([{ command: ['a'], idempotencyKey: 'same' }, { command: ['a'], idempotencyKey: 'same' }], T0);
      expect(first?.created).toBe(true);
      expect(second).toEqual({ task: first?.task, created: false });
    });

    it('returns null for an unknown task', () => {
      expect(backbone().tasks.get('tsk_unknown')).toBeNull();
    });

    it('lists pending tasks in submission order, at most `limit`', () => {
      const b = backbone();
      const ids = b.tasks.submitMany([1, 2, 3, 4].map((i) => ({ command: [`t${i}`] })), T0).map((o) => o.task.id);
      b.tasks.assign(ids[0]!, 'nod_a', 0, T0);
      expect(b.tasks.pending(2).map((t) => t.id)).toEqual([ids[1], ids[2]]);
      expect(b.tasks.pending(0)).toEqual([]);
    });

    it('filters lists by state, node and project, in either order, with a limit', () => {
      const b = backbone();
      const [a, bb, c, d] = b.tasks.submitMany(
        [{ command: ['a'], project: 'alpha' }, { command: ['b'], project: 'beta' }, { command: ['c'], project: 'alpha' }, { command: ['d'] }],
        T0,
      ).map((o) => o.task.id) as [string, string, string, string];
      b.tasks.assign(a, 'nod_1', 0, T0);
      b.tasks.assign(bb, 'nod_2', 0, T0);
      b.tasks.markRunning(bb, 1, T0);
      const ids = (filter: Parameters<typeof b.tasks.list>[0]) => b.tasks.list(filter).map((t) => t.id);
      expect(ids({})).toEqual([a, bb, c, d]);
      expect(ids({ order: 'desc' })).toEqual([d, c, bb, a]);
      expect(ids({ states: ['assigned', 'running'] })).toEqual([a, bb]);
      expect(ids({ states: [] })).toEqual([]);
      expect(ids({ nodeId: 'nod_2' })).toEqual([bb]);
      expect(ids({ project: 'alpha' })).toEqual([a, c]);
      expect(ids({ project: 'alpha', states: ['pending'] })).toEqual([c]);
      expect(ids({ order: 'desc', limit: 2 })).toEqual([d, c]);
    });

    it('counts tasks by state', () => {
      const b = backbone();
      const ids = b.tasks.submitMany([1, 2, 3, 4].map((i) => ({ command: [`t${i}`] })), T0).map((o) => o.task.id);
      b.tasks.assign(ids[0]!, 'nod_1', 0, T0);
      b.tasks.assign(ids[1]!, 'nod_1', 0, T0);
      b.tasks.markRunning(ids[1]!, 1, T0);
      b.tasks.assign(ids[2]!, 'nod_1', 0, T0);
      b.tasks.complete(ids[2]!, 1, { exitCode: 0, error: null, durationMs: 5 }, T0);
      b.tasks.cancel(ids[3]!, 'not needed', T0);
      expect(b.tasks.counts()).toEqual({ pending: 0, assigned: 1, running: 1, succeeded: 1, failed: 0, cancelled: 1 });
    });

    it('lists the tasks assigned or running on a node', () => {
      const b = backbone();
      const ids = b.tasks.submitMany([1, 2, 3, 4].map((i) => ({ command: [`t${i}`] })), T0).map((o) => o.task.id);
      b.tasks.assign(ids[0]!, 'nod_1', 0, T0);
      b.tasks.assign(ids[1]!, 'nod_1', 0, T0);
      b.tasks.markRunning(ids[1]!, 1, T0);
      b.tasks.assign(ids[2]!, 'nod_1', 0, T0);
      b.tasks.complete(ids[2]!, 1, { exitCode: 0, error: null, durationMs: 5 }, T0);
      b.tasks.assign(ids[3]!, 'nod_2', 0, T0);
      expect(b.tasks.activeOn('nod_1').map((t) => t.id)).toEqual([ids[0], ids[1]]);
      expect(b.tasks.activeOn('nod_unknown')).toEqual([]);
    });
  });
}
