/** Conformance of TaskQueue lifecycle: assignment races, fencing, results recorded once, retries, cancel. */
import { describe, expect, it } from 'vitest';
import { ConflictError, ErrorCode, NotFoundError, StaleAttemptError, type NewTaskSpec, type TaskResult } from '../../core/index.js';
import type { Backbone } from '../backbone.js';
import { caught, eventsOf, T0, useBackbone, type OpenBackbone } from './harness.js';

const OK: TaskResult = { exitCode: 0, error: null, durationMs: 12 };
const EXIT_1: TaskResult = { exitCode: 1, error: null, durationMs: 12 };

async function submitted(b: Backbone, spec: Partial<NewTaskSpec> = {}): Promise<string> {
  return (await b.tasks.submit({ command: ['make'], ...spec }, T0)).task.id;
}

/** Submits and assigns to `nodeId`: attempt 1. */
async function assigned(b: Backbone, spec: Partial<NewTaskSpec> = {}, nodeId = 'nod_1'): Promise<string> {
  const id = await submitted(b, spec);
  await b.tasks.assign(id, nodeId, 0, T0 + 1);
  return id;
}

export function describeTaskLifecycle(open: OpenBackbone): void {
  describe('TaskQueue lifecycle and fencing', () => {
    const backbone = useBackbone(open);

    it('assigns a pending task with the next attempt number and records it', async () => {
      const b = backbone();
      const id = await submitted(b);
      const task = await b.tasks.assign(id, 'nod_1', 0, T0 + 1);
      expect(task).toMatchObject({ state: 'assigned', attempt: 1, nodeId: 'nod_1', assignedAt: T0 + 1 });
      expect(await b.tasks.get(id)).toEqual(task);
      expect((await eventsOf(b, 'task.assigned'))[0]?.data).toMatchObject({ nodeId: 'nod_1', attempt: 1 });
    });

    it('lets only the first of two racing assignments win', async () => {
      const b = backbone();
      const id = await submitted(b);
      await b.tasks.assign(id, 'nod_1', 0, T0 + 1);
      const err = await caught(() => b.tasks.assign(id, 'nod_2', 0, T0 + 1));
      expect(err).toBeInstanceOf(ConflictError);
      expect(await b.tasks.get(id)).toMatchObject({ nodeId: 'nod_1', attempt: 1 });
    });

    it('refuses an assignment at a wrong expected attempt and for an unknown task', async () => {
      const b = backbone();
      const id = await submitted(b);
      expect(await caught(() => b.tasks.assign(id, 'nod_1', 3, T0))).toBeInstanceOf(ConflictError);
      expect(await caught(() => b.tasks.assign('tsk_unknown', 'nod_1', 0, T0))).toBeInstanceOf(NotFoundError);
      expect((await b.tasks.get(id))?.state).toBe('pending');
    });

    it('marks an assigned task running, idempotently', async () => {
      const b = backbone();
      const id = await assigned(b);
      const running = await b.tasks.markRunning(id, 1, T0 + 2);
      expect(running).toMatchObject({ state: 'running', startedAt: T0 + 2 });
      expect(await b.tasks.markRunning(id, 1, T0 + 3)).toEqual(running);
      expect(await eventsOf(b, 'task.running')).toHaveLength(1);
    });

    it('records a successful result once', async () => {
      const b = backbone();
      const id = await assigned(b);
      await b.tasks.markRunning(id, 1, T0 + 2);
      const done = await b.tasks.complete(id, 1, OK, T0 + 3);
      expect(done).toMatchObject({ state: 'succeeded', exitCode: 0, error: null, finishedAt: T0 + 3, attempt: 1 });
      const again = await caught(() => b.tasks.complete(id, 1, EXIT_1, T0 + 4));
      expect(again).toBeInstanceOf(StaleAttemptError);
      expect(await b.tasks.get(id)).toEqual(done);
      expect(await eventsOf(b, 'task.finished')).toHaveLength(1);
    });

    it('accepts a result straight from assigned (the agent skipped the running report)', async () => {
      const b = backbone();
      const id = await assigned(b);
      expect((await b.tasks.complete(id, 1, OK, T0 + 2)).state).toBe('succeeded');
    });

    it('refuses a result from a superseded attempt', async () => {
      const b = backbone();
      const id = await assigned(b, {}, 'nod_1');
      await b.tasks.requeue(id, 1, 'node lost', T0 + 2);
      await b.tasks.assign(id, 'nod_2', 1, T0 + 3);
      const err = await caught(() => b.tasks.complete(id, 1, OK, T0 + 4));
      expect(err).toBeInstanceOf(StaleAttemptError);
      expect(err.code).toBe(ErrorCode.StaleAttempt);
      expect(err.details).toMatchObject({ taskId: id, attempt: 1, currentAttempt: 2 });
      expect(await b.tasks.get(id)).toMatchObject({ state: 'assigned', attempt: 2, nodeId: 'nod_2' });
      expect((await b.tasks.complete(id, 2, OK, T0 + 5)).state).toBe('succeeded');
    });

    it('refuses every fenced call for a requeued attempt that has not been reassigned', async () => {
      const b = backbone();
      const id = await assigned(b);
      await b.tasks.requeue(id, 1, 'node lost', T0 + 2);
      expect(await caught(() => b.tasks.markRunning(id, 1, T0 + 3))).toBeInstanceOf(StaleAttemptError);
      expect(await caught(() => b.tasks.complete(id, 1, OK, T0 + 3))).toBeInstanceOf(StaleAttemptError);
      expect(await caught(() => b.tasks.requeue(id, 1, 'again', T0 + 3))).toBeInstanceOf(StaleAttemptError);
      expect(await b.tasks.get(id)).toMatchObject({ state: 'pending', infraFailures: 1 });
    });

    it('fails a task on a non-zero exit when no retry is allowed', async () => {
      const b = backbone();
      const id = await assigned(b);
      expect(await b.tasks.complete(id, 1, EXIT_1, T0 + 2)).toMatchObject({ state: 'failed', exitCode: 1, userFailures: 1, finishedAt: T0 + 2 });
      expect((await eventsOf(b, 'task.finished'))[0]?.data).toMatchObject({ state: 'failed' });
    });

    it('treats an error with exit code 0 (e.g. a timeout) as a failure', async () => {
      const b = backbone();
      const id = await assigned(b);
      expect(await b.tasks.complete(id, 1, { exitCode: null, error: 'timeout', durationMs: 1000 }, T0 + 2)).toMatchObject({ state: 'failed', error: 'timeout' });
    });

    it('sends a failed task back to pending while user retries remain', async () => {
      const b = backbone();
      const id = await assigned(b, { retryOnFailure: 1 });
      const retried = await b.tasks.complete(id, 1, EXIT_1, T0 + 2);
      expect(retried).toMatchObject({ state: 'pending', userFailures: 1, nodeId: null, attempt: 1 });
      expect(await eventsOf(b, 'task.requeued')).toHaveLength(1);
      await b.tasks.assign(id, 'nod_1', 1, T0 + 3);
      expect(await b.tasks.complete(id, 2, EXIT_1, T0 + 4)).toMatchObject({ state: 'failed', userFailures: 2 });
    });

    it('requeues after an infrastructure failure while retries remain, then fails with the reason', async () => {
      const b = backbone();
      const id = await assigned(b, { maxRetries: 2 });
      expect(await b.tasks.requeue(id, 1, 'node lost', T0 + 2)).toMatchObject({ state: 'pending', infraFailures: 1, nodeId: null });
      await b.tasks.assign(id, 'nod_2', 1, T0 + 3);
      expect(await b.tasks.requeue(id, 2, 'node lost', T0 + 4)).toMatchObject({ state: 'pending', infraFailures: 2 });
      await b.tasks.assign(id, 'nod_3', 2, T0 + 5);
      expect(await b.tasks.requeue(id, 3, 'agent refused', T0 + 6)).toMatchObject({ state: 'failed', infraFailures: 3, error: 'agent refused', finishedAt: T0 + 6 });
      expect(await eventsOf(b, 'task.requeued')).toHaveLength(2);
      expect(await eventsOf(b, 'task.finished')).toHaveLength(1);
    });

    it('fails at the first infrastructure failure when maxRetries is 0', async () => {
      const b = backbone();
      const id = await assigned(b, { maxRetries: 0 });
      expect((await b.tasks.requeue(id, 1, 'node lost', T0 + 2)).state).toBe('failed');
    });

    it('keeps infrastructure and user failures in separate counts', async () => {
      const b = backbone();
      const id = await assigned(b, { maxRetries: 1, retryOnFailure: 1 });
      await b.tasks.requeue(id, 1, 'node lost', T0 + 2);
      await b.tasks.assign(id, 'nod_1', 1, T0 + 3);
      expect(await b.tasks.complete(id, 2, EXIT_1, T0 + 4)).toMatchObject({ state: 'pending', infraFailures: 1, userFailures: 1 });
    });

    it('cancels a pending or running task, and leaves a terminal task unchanged', async () => {
      const b = backbone();
      const pending = await submitted(b);
      expect(await b.tasks.cancel(pending, 'user asked', T0 + 1)).toMatchObject({ state: 'cancelled', finishedAt: T0 + 1 });
      const running = await assigned(b);
      await b.tasks.markRunning(running, 1, T0 + 2);
      expect((await b.tasks.cancel(running, 'user asked', T0 + 3)).state).toBe('cancelled');
      const done = await assigned(b);
      const finished = await b.tasks.complete(done, 1, OK, T0 + 2);
      expect(await b.tasks.cancel(done, 'too late', T0 + 4)).toEqual(finished);
      expect((await eventsOf(b, 'task.cancelled')).map((e) => e.subject)).toEqual([pending, running]);
      expect(await caught(() => b.tasks.cancel('tsk_unknown', 'x', T0))).toBeInstanceOf(NotFoundError);
    });

    it('refuses the result of a cancelled task', async () => {
      const b = backbone();
      const id = await assigned(b);
      await b.tasks.cancel(id, 'stop', T0 + 2);
      expect(await caught(() => b.tasks.complete(id, 1, OK, T0 + 3))).toBeInstanceOf(StaleAttemptError);
      expect((await b.tasks.get(id))?.state).toBe('cancelled');
    });

    it('refuses an invalid result and changes nothing', async () => {
      const b = backbone();
      const id = await assigned(b);
      expect((await caught(() => b.tasks.complete(id, 1, { exitCode: 0, error: null, durationMs: -1 }, T0 + 2))).code).toBe(ErrorCode.Validation);
      expect((await b.tasks.get(id))?.state).toBe('assigned');
    });

    it('refuses fenced calls for unknown tasks', async () => {
      expect(await caught(() => backbone().tasks.complete('tsk_unknown', 1, OK, T0))).toBeInstanceOf(NotFoundError);
    });

    it('records refused messages for audit', async () => {
      const b = backbone();
      const id = await assigned(b);
      await b.tasks.recordFenced(id, 0, 'result', T0 + 2);
      const [event] = await eventsOf(b, 'task.fenced');
      expect(event).toMatchObject({ subject: id, at: T0 + 2 });
      expect(event?.data).toMatchObject({ attempt: 0, what: 'result' });
    });
  });
}
