/** The dashboard's attempt timeline (web/src/attempts.ts) read from a task's events: node, start, end, and why each attempt ended or moved. */
import { describe, expect, it } from 'vitest';
import type { FleetEvent } from '../../src/core/index.js';
import { attemptsOf } from '../../web/src/attempts.js';

let seq = 0;
const ev = (type: FleetEvent['type'], at: number, data: Record<string, unknown>): FleetEvent => ({ seq: ++seq, at, type, subject: 'tsk_1', data });

describe('attemptsOf', () => {
  it('gives each attempt its node, start and end, and says why the first one moved', () => {
    const attempts = attemptsOf([
      ev('task.submitted', 1, {}),
      ev('task.assigned', 2, { nodeId: 'nod_a', attempt: 1 }),
      ev('task.running', 3, { nodeId: 'nod_a', attempt: 1 }),
      ev('task.requeued', 10, { reason: 'node down', attempt: 1, nodeId: 'nod_a', infraFailures: 1 }),
      ev('task.assigned', 11, { nodeId: 'nod_b', attempt: 2 }),
      ev('task.running', 12, { nodeId: 'nod_b', attempt: 2 }),
      ev('task.fenced', 13, { attempt: 1, what: 'taskFinished', currentAttempt: 2 }),
      ev('task.finished', 20, { state: 'succeeded', exitCode: 0 }),
    ]);
    expect(attempts).toEqual([
      { attempt: 1, nodeId: 'nod_a', assignedAt: 2, startedAt: 3, endedAt: 10, ending: 'moved: node down' },
      { attempt: 2, nodeId: 'nod_b', assignedAt: 11, startedAt: 12, endedAt: 20, ending: 'succeeded' },
    ]);
  });

  it('names a cancellation with its reason, and a fenced attempt with no other ending', () => {
    expect(attemptsOf([
      ev('task.assigned', 1, { nodeId: 'nod_a', attempt: 1 }),
      ev('task.fenced', 2, { attempt: 1, what: 'output' }),
    ])[0]?.ending).toBe('fenced: a stale output was refused');
    expect(attemptsOf([
      ev('task.assigned', 1, { nodeId: 'nod_a', attempt: 1 }),
      ev('task.cancelled', 5, { reason: 'from the dashboard', attempt: 1 }),
    ])[0]).toMatchObject({ endedAt: 5, ending: 'cancelled: from the dashboard' });
  });

  it('is empty while the task waits for a node', () => {
    expect(attemptsOf([ev('task.submitted', 1, {})])).toEqual([]);
  });
});
