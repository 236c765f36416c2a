import { describe, expect, it } from 'vitest';
import { reconcile, type TaskView } from './sync.js';

const NODE = 'nod_a';
function lookupFrom(tasks: Record<string, TaskView>) {
  return (id: string): TaskView | null => tasks[id] ?? null;
}

describe('reconcile (SyncState)', () => {
  it('keeps tasks the agent reports at their current attempt on this node', () => {
    const d = reconcile(NODE, [{ taskId: 't1', attempt: 2 }], [{ taskId: 't1', attempt: 2 }], lookupFrom({ t1: { attempt: 2, nodeId: NODE, state: 'running' } }));
    expect(d).toEqual({ keep: [{ taskId: 't1', attempt: 2 }], voidTasks: [], requeue: [] });
  });

  it('voids a superseded attempt that now runs elsewhere', () => {
    const d = reconcile(NODE, [{ taskId: 't1', attempt: 1 }], [], lookupFrom({ t1: { attempt: 2, nodeId: 'nod_b', state: 'running' } }));
    expect(d.voidTasks).toEqual([{ taskId: 't1', attempt: 1 }]);
    expect(d.keep).toEqual([]);
  });

  it('voids tasks that are finished, cancelled, back to pending or unknown', () => {
    const d = reconcile(
      NODE,
      [{ taskId: 'done', attempt: 1 }, { taskId: 'cancelled', attempt: 1 }, { taskId: 'pending', attempt: 1 }, { taskId: 'ghost', attempt: 1 }],
      [],
      lookupFrom({
        done: { attempt: 1, nodeId: NODE, state: 'succeeded' },
        cancelled: { attempt: 1, nodeId: NODE, state: 'cancelled' },
        pending: { attempt: 1, nodeId: null, state: 'pending' },
      }),
    );
    expect(d.voidTasks.map((r) => r.taskId)).toEqual(['done', 'cancelled', 'pending', 'ghost']);
  });

  it('requeues what the master thinks the node holds but the agent does not report', () => {
    const d = reconcile(
      NODE,
      [{ taskId: 't1', attempt: 1 }],
      [{ taskId: 't1', attempt: 1 }, { taskId: 't2', attempt: 3 }],
      lookupFrom({ t1: { attempt: 1, nodeId: NODE, state: 'assigned' }, t2: { attempt: 3, nodeId: NODE, state: 'running' } }),
    );
    expect(d.keep).toEqual([{ taskId: 't1', attempt: 1 }]);
    expect(d.requeue).toEqual([{ taskId: 't2', attempt: 3 }]);
  });

  it('requeues a held task the agent reports only at an older attempt, and voids that old attempt', () => {
    const d = reconcile(NODE, [{ taskId: 't1', attempt: 1 }], [{ taskId: 't1', attempt: 2 }], lookupFrom({ t1: { attempt: 2, nodeId: NODE, state: 'assigned' } }));
    expect(d.voidTasks).toEqual([{ taskId: 't1', attempt: 1 }]);
    expect(d.requeue).toEqual([{ taskId: 't1', attempt: 2 }]);
  });

  it('keeps a task reported twice (running and holding a result) only once', () => {
    const ref = { taskId: 't1', attempt: 1 };
    const d = reconcile(NODE, [ref, ref], [ref], lookupFrom({ t1: { attempt: 1, nodeId: NODE, state: 'running' } }));
    expect(d.keep).toEqual([ref]);
    expect(d.voidTasks).toEqual([]);
    expect(d.requeue).toEqual([]);
  });
});
