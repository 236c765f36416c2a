import { describe, expect, it } from 'vitest';
import { canTransition } from './transitions.js';
import { taskSpecSchema, TASK_TRANSITIONS, type Task, type TaskResult } from './task.js';
import { nextAfterAssign, nextAfterCancel, nextAfterInfraFailure, nextAfterResult, nextAfterStart } from './task-rules.js';

const T0 = 1_700_000_000_000;
const OK: TaskResult = { exitCode: 0, error: null, durationMs: 10 };
const EXIT_2: TaskResult = { exitCode: 2, error: null, durationMs: 10 };

function task(overrides: Partial<Task> = {}): Task {
  return {
    ...taskSpecSchema.parse({ command: ['make'] }),
    id: 'tsk_1', state: 'pending', attempt: 0, infraFailures: 0, userFailures: 0, nodeId: null, exitCode: null, error: null,
    createdAt: T0, assignedAt: null, startedAt: null, finishedAt: null, seq: 1,
    ...overrides,
  };
}

const assigned = (overrides: Partial<Task> = {}): Task => task({ state: 'assigned', attempt: 1, nodeId: 'nod_1', assignedAt: T0, ...overrides });

describe('task rules', () => {
  it('assigns: the attempt goes up by one and the node and time are recorded', () => {
    const { next, event } = nextAfterAssign(task({ attempt: 2, startedAt: T0 - 5, finishedAt: T0 - 1 }), 'nod_9', T0 + 1);
    expect(next).toMatchObject({ state: 'assigned', attempt: 3, nodeId: 'nod_9', assignedAt: T0 + 1, startedAt: null, finishedAt: null });
    expect(event).toEqual({ type: 'task.assigned', data: { nodeId: 'nod_9', attempt: 3 } });
  });

  it('starts an assigned task, and treats a second start as a no-op', () => {
    const change = nextAfterStart(assigned(), T0 + 2);
    expect(change?.next).toMatchObject({ state: 'running', startedAt: T0 + 2, attempt: 1 });
    expect(change?.event).toEqual({ type: 'task.running', data: { nodeId: 'nod_1', attempt: 1 } });
    expect(nextAfterStart(assigned({ state: 'running', startedAt: T0 + 2 }), T0 + 3)).toBeNull();
  });

  it('succeeds on exit 0 without error', () => {
    const { next, event } = nextAfterResult(assigned({ state: 'running' }), OK, T0 + 3);
    expect(next).toMatchObject({ state: 'succeeded', exitCode: 0, error: null, finishedAt: T0 + 3, userFailures: 0 });
    expect(event.type).toBe('task.finished');
    expect(event.data).toMatchObject({ state: 'succeeded', attempt: 1, nodeId: 'nod_1', exitCode: 0, durationMs: 10 });
  });

  it('fails on a non-zero exit or an error, counting a user failure', () => {
    expect(nextAfterResult(assigned(), EXIT_2, T0 + 3).next).toMatchObject({ state: 'failed', exitCode: 2, userFailures: 1, finishedAt: T0 + 3 });
    const timedOut = nextAfterResult(assigned(), { exitCode: 0, error: 'timeout', durationMs: 1000 }, T0 + 3);
    expect(timedOut.next).toMatchObject({ state: 'failed', error: 'timeout', userFailures: 1 });
    expect(timedOut.event.data).toMatchObject({ state: 'failed', userFailures: 1 });
  });

  it('sends a failed attempt back to pending while user retries remain, releasing the node', () => {
    const { next, event } = nextAfterResult(assigned({ retryOnFailure: 2, userFailures: 1 }), EXIT_2, T0 + 3);
    expect(next).toMatchObject({ state: 'pending', userFailures: 2, nodeId: null, assignedAt: null, startedAt: null, finishedAt: null, attempt: 1 });
    expect(event).toMatchObject({ type: 'task.requeued', data: { reason: 'user failure', userFailures: 2, attempt: 1 } });
    expect(nextAfterResult(assigned({ retryOnFailure: 2, userFailures: 2 }), EXIT_2, T0 + 3).next.state).toBe('failed');
  });

  it('requeues after an infrastructure failure while retries remain, then fails with the reason', () => {
    const first = nextAfterInfraFailure(assigned({ maxRetries: 1 }), 'node lost', T0 + 4);
    expect(first.next).toMatchObject({ state: 'pending', infraFailures: 1, error: 'node lost', nodeId: null, assignedAt: null });
    expect(first.event).toEqual({ type: 'task.requeued', data: { reason: 'node lost', attempt: 1, nodeId: 'nod_1', infraFailures: 1 } });
    const last = nextAfterInfraFailure(assigned({ maxRetries: 1, infraFailures: 1, attempt: 2 }), 'agent refused', T0 + 5);
    expect(last.next).toMatchObject({ state: 'failed', infraFailures: 2, error: 'agent refused', finishedAt: T0 + 5 });
    expect(last.event).toMatchObject({ type: 'task.finished', data: { state: 'failed', reason: 'agent refused' } });
  });

  it('keeps user and infrastructure failures apart', () => {
    const afterInfra = nextAfterInfraFailure(assigned({ maxRetries: 3, retryOnFailure: 0 }), 'node lost', T0).next;
    expect(afterInfra).toMatchObject({ infraFailures: 1, userFailures: 0, state: 'pending' });
    const afterUser = nextAfterResult(assigned({ maxRetries: 0, retryOnFailure: 1 }), EXIT_2, T0).next;
    expect(afterUser).toMatchObject({ infraFailures: 0, userFailures: 1, state: 'pending' });
  });

  it('cancels any task that has not finished, and leaves a finished one alone', () => {
    for (const state of ['pending', 'assigned', 'running'] as const) {
      const change = nextAfterCancel(assigned({ state }), 'user asked', T0 + 6);
      expect(change?.next).toMatchObject({ state: 'cancelled', error: 'user asked', finishedAt: T0 + 6 });
      expect(change?.event).toMatchObject({ type: 'task.cancelled', data: { reason: 'user asked', from: state } });
    }
    for (const state of ['succeeded', 'failed', 'cancelled'] as const) expect(nextAfterCancel(assigned({ state }), 'too late', T0)).toBeNull();
  });

  it('only ever proposes transitions the task table allows', () => {
    const changes = [
      [task(), nextAfterAssign(task(), 'nod_1', T0).next],
      [assigned(), nextAfterStart(assigned(), T0)!.next],
      ...(['assigned', 'running'] as const).flatMap((state) => [
        [assigned({ state }), nextAfterResult(assigned({ state }), OK, T0).next],
        [assigned({ state }), nextAfterResult(assigned({ state }), EXIT_2, T0).next],
        [assigned({ state, retryOnFailure: 1 }), nextAfterResult(assigned({ state, retryOnFailure: 1 }), EXIT_2, T0).next],
        [assigned({ state }), nextAfterInfraFailure(assigned({ state }), 'lost', T0).next],
        [assigned({ state, maxRetries: 0 }), nextAfterInfraFailure(assigned({ state, maxRetries: 0 }), 'lost', T0).next],
      ]),
    ] as Array<[Task, Task]>;
    for (const [from, to] of changes) expect(canTransition(TASK_TRANSITIONS, from.state, to.state), `${from.state} → ${to.state}`).toBe(true);
  });

  it('does not change the task it is given', () => {
    const before = assigned();
    const copy = structuredClone(before);
    nextAfterResult(before, EXIT_2, T0);
    nextAfterInfraFailure(before, 'lost', T0);
    nextAfterCancel(before, 'stop', T0);
    expect(before).toEqual(copy);
  });
});
