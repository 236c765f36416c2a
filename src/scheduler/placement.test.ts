import { describe, expect, it } from 'vitest';
import { PlacementScheduler } from './placement.js';
import { nodeView, snapshot, task } from './test-support.js';

const scheduler = new PlacementScheduler();

function placedOn(plan: ReturnType<PlacementScheduler['plan']>): Record<string, string> {
  return Object.fromEntries(plan.assignments.map((a) => [a.taskId, a.nodeId]));
}

describe('PlacementScheduler hard constraints', () => {
  it('places a task only on a node that has every capability it needs', () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: [nodeView({ id: 'a', capabilities: ['linux'] }), nodeView({ id: 'b', capabilities: ['linux', 'docker'] })],
        pending: [task({ id: 't1', needs: ['docker', 'linux'] })],
      }),
      0,
    );
    expect(placedOn(plan)).toEqual({ t1: 'b' });
  });

  it('reports no-capable-node and names the missing capability', () => {
    const plan = scheduler.plan(
      snapshot({ nodes: [nodeView({ id: 'a', capabilities: ['linux'] })], pending: [task({ id: 't1', needs: ['gpu'] })] }),
      0,
    );
    expect(plan.assignments).toEqual([]);
    expect(plan.unplaced).toEqual([{ taskId: 't1', reason: 'no-capable-node', detail: 'no node has gpu' }]);
  });

  it('names the nodes that have a missing capability but take no work now', () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: [nodeView({ id: 'a', capabilities: ['linux'] })],
        unavailable: [
          nodeView({ id: 'g1', name: 'gpu-1', status: 'draining', capabilities: ['gpu'] }),
          nodeView({ id: 'g2', name: 'gpu-2', status: 'down', capabilities: ['gpu'] }),
          nodeView({ id: 'g3', name: 'gpu-3', status: 'ready', capabilities: ['gpu'] }),
          nodeView({ id: 'g4', name: 'gpu-4', status: 'left', capabilities: ['gpu'] }),
        ],
        pending: [task({ id: 't1', needs: ['gpu', 'tpu'] }), task({ id: 't2', pinnedNode: 'g2' })],
      }),
      0,
    );
    expect(plan.assignments).toEqual([]);
    expect(plan.unplaced).toEqual([
      { taskId: 't1', reason: 'no-capable-node', detail: 'the nodes with gpu are gpu-1 (draining), gpu-2 (down), gpu-3 (not connected); no node has tpu' },
      { taskId: 't2', reason: 'no-capable-node', detail: 'pinned to node gpu-2, which is down' },
    ]);
  });

  it('says when the nodes with a capability are full', () => {
    const plan = scheduler.plan(
      snapshot({ nodes: [nodeView({ id: 'a', capabilities: ['gpu'], capacity: 1, activeTasks: 1 })], pending: [task({ id: 't1', needs: ['gpu'] })] }),
      0,
    );
    expect(plan.unplaced).toEqual([{ taskId: 't1', reason: 'no-capacity', detail: 'the only ready node with gpu is full (1/1 slots used)' }]);
  });

  it('never offers a task again to a node that refused it, and says so when no other node can run it', () => {
    const nodes = [nodeView({ id: 'a', name: 'alpha' }), nodeView({ id: 'b', name: 'beta' })];
    const elsewhere = scheduler.plan(snapshot({ nodes, pending: [task({ id: 't1' }), task({ id: 't2' })], refusedBy: { t1: ['a'] } }), 0);
    expect(placedOn(elsewhere).t1).toBe('b');
    const nowhere = scheduler.plan(snapshot({ nodes, pending: [task({ id: 't1' })], refusedBy: { t1: ['a', 'b'] } }), 0);
    expect(nowhere.assignments).toEqual([]);
    expect(nowhere.unplaced[0]).toMatchObject({ taskId: 't1', reason: 'no-capable-node', detail: expect.stringContaining('refused by alpha, beta') });
  });

  it('ignores nodes that are not ready (joining, draining, down, left)', () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: (['joining', 'draining', 'down', 'left'] as const).map((status) => nodeView({ id: status, status })),
        pending: [task({ id: 't1' })],
      }),
      0,
    );
    expect(plan.unplaced[0]).toMatchObject({ reason: 'no-capable-node', detail: 'no node is ready: joining (joining), draining (draining), down (down)' });
    expect(scheduler.plan(snapshot({ nodes: [], pending: [task({ id: 't1' })] }), 0).unplaced[0]?.detail).toBe('no node has joined the fleet');
  });

  it('runs a pinned task only on its node, and explains when that node is not ready', () => {
    const nodes = [nodeView({ id: 'a' }), nodeView({ id: 'b', status: 'draining' })];
    const plan = scheduler.plan(snapshot({ nodes, pending: [task({ id: 't1', pinnedNode: 'b' }), task({ id: 't2', pinnedNode: 'zz' })] }), 0);
    expect(plan.assignments).toEqual([]);
    expect(plan.unplaced).toEqual([
      { taskId: 't1', reason: 'no-capable-node', detail: 'pinned to node b, which is draining' },
      { taskId: 't2', reason: 'no-capable-node', detail: 'pinned to node zz, which is not in the fleet' },
    ]);
  });

  it('never exceeds capacity, counting active tasks and this plan', () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: [nodeView({ id: 'a', capacity: 3, activeTasks: 1 }), nodeView({ id: 'b', capacity: 1, activeTasks: 1 })],
        pending: Array.from({ length: 5 }, (_, i) => task({ id: `t${i}` })),
      }),
      0,
    );
    expect(plan.assignments.map((a) => a.nodeId)).toEqual(['a', 'a']);
    expect(plan.unplaced.map((u) => u.reason)).toEqual(['no-capacity', 'no-capacity', 'no-capacity']);
    expect(plan.unplaced[0]?.detail).toBe('all 2 ready nodes that can run it are full (4/4 slots used)');
  });

  it('tells no-capacity (capable node full) from no-capable-node', () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: [nodeView({ id: 'gpu', capabilities: ['gpu'], capacity: 1, activeTasks: 1 })],
        pending: [task({ id: 'needs-gpu', needs: ['gpu'] }), task({ id: 'needs-tpu', needs: ['tpu'] })],
      }),
      0,
    );
    expect(plan.unplaced.map((u) => [u.taskId, u.reason])).toEqual([
      ['needs-gpu', 'no-capacity'],
      ['needs-tpu', 'no-capable-node'],
    ]);
  });

  it('carries the pending attempt as the applier expectation and plans a duplicated task once', () => {
    const t = task({ id: 't1', attempt: 2 });
    const plan = scheduler.plan(snapshot({ nodes: [nodeView({ id: 'a' })], pending: [t, t] }), 0);
    expect(plan.assignments).toHaveLength(1);
    expect(plan.assignments[0]).toMatchObject({ taskId: 't1', expectedAttempt: 2, nodeId: 'a' });
    expect(plan.unplaced).toEqual([]);
  });
});

describe('PlacementScheduler affinity', () => {
  it('prefers a node specialized in what the task prefers', () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: [nodeView({ id: 'w1', specializations: ['build'] }), nodeView({ id: 'w2', specializations: ['test'] })],
        pending: [task({ id: 'b', prefers: ['build'] }), task({ id: 't', prefers: ['test'] })],
      }),
      0,
    );
    expect(placedOn(plan)).toEqual({ b: 'w1', t: 'w2' });
    expect(plan.assignments[0]?.reason).toContain('specializes in build');
  });

  it("prefers the project's pinned nodes, but uses others when they are full", () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: [nodeView({ id: 'w1', capacity: 1 }), nodeView({ id: 'w2', capacity: 2 })],
        pending: [task({ id: 'c1', project: 'c' }), task({ id: 'c2', project: 'c' })],
        projectPins: { c: ['w1'] },
      }),
      0,
    );
    expect(placedOn(plan)).toEqual({ c1: 'w1', c2: 'w2' });
  });

  it('spreads work by load relative to capacity', () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: [nodeView({ id: 'small', capacity: 2 }), nodeView({ id: 'big', capacity: 8, activeTasks: 4 })],
        pending: [task({ id: 't1' })],
      }),
      0,
    );
    // small after placing: 1/2 used; big: 5/8 used.
    expect(placedOn(plan)).toEqual({ t1: 'small' });
  });

  it('breaks ties with the machine load', () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: [
          nodeView({ id: 'busy', resources: { cpus: 4, memoryBytes: 0, load: 3.9 } }),
          nodeView({ id: 'idle', resources: { cpus: 4, memoryBytes: 0, load: 0.1 } }),
        ],
        pending: [task({ id: 't1' })],
      }),
      0,
    );
    expect(placedOn(plan)).toEqual({ t1: 'idle' });
  });
});

describe('PlacementScheduler learned speed', () => {
  const nodes = () => [nodeView({ id: 'slow', capacity: 4 }), nodeView({ id: 'fast', capacity: 4 })];
  const estimates = {
    slow: { build: { meanMs: 60_000, samples: 10 } },
    fast: { build: { meanMs: 10_000, samples: 10 } },
  };

  it('sends repeated work to the node where it finishes soonest', () => {
    const pending = Array.from({ length: 4 }, (_, i) => task({ id: `t${i}`, estimateKey: 'build' }));
    const plan = scheduler.plan(snapshot({ nodes: nodes(), pending, estimates }), 0);
    expect(plan.assignments.map((a) => a.nodeId)).toEqual(['fast', 'fast', 'fast', 'fast']);
    expect(plan.assignments[0]?.reason).toContain('expected 10s');
  });

  it('holds work back for a much faster full node instead of starting it on a slow one', () => {
    const pending = Array.from({ length: 8 }, (_, i) => task({ id: `t${i}`, estimateKey: 'build', createdAt: 0 }));
    const plan = scheduler.plan(
      snapshot({ nodes: [nodeView({ id: 'slow', capacity: 4 }), nodeView({ id: 'fast', capacity: 1, activeTasks: 1 })], pending, estimates }),
      1000,
    );
    // fast (10 s, 1 slot, busy): queue position q finishes at ≈ 5 s + (q−1)·10 s + 10 s; waiting
    // beats starting on slow (60 s) by 1.5× only for q ≤ 3, so three wait and the rest start now.
    const waiting = plan.unplaced.filter((u) => u.waitingFor === 'fast');
    expect(waiting).toHaveLength(3);
    expect(waiting[0]?.detail).toMatch(/^waiting for faster node fast/);
    expect(plan.assignments.map((a) => a.nodeId)).toEqual(['slow', 'slow', 'slow', 'slow']);
  });

  it('stops holding a task back once it has waited as long as the slow node would take', () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: [nodeView({ id: 'slow', capacity: 4 }), nodeView({ id: 'fast', capacity: 1, activeTasks: 1 })],
        pending: [task({ id: 'old', estimateKey: 'build', createdAt: 0 })],
        estimates,
      }),
      60_000,
    );
    expect(placedOn(plan)).toEqual({ old: 'slow' });
  });

  it('never holds work back when deferFactor is 0', () => {
    const plan = new PlacementScheduler({ deferFactor: 0 }).plan(
      snapshot({
        nodes: [nodeView({ id: 'slow' }), nodeView({ id: 'fast', capacity: 1, activeTasks: 1 })],
        pending: [task({ id: 't', estimateKey: 'build' })],
        estimates,
      }),
      0,
    );
    expect(placedOn(plan)).toEqual({ t: 'slow' });
  });

  it('gives a node without samples a chance instead of piling onto the known one', () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: [nodeView({ id: 'known' }), nodeView({ id: 'new' })],
        pending: [task({ id: 't1', estimateKey: 'build' }), task({ id: 't2', estimateKey: 'build' })],
        estimates: { known: { build: { meanMs: 10_000, samples: 10 } } },
      }),
      0,
    );
    // The newcomer is optimistically presumed twice as fast as the best known node.
    expect(placedOn(plan)).toEqual({ t1: 'new', t2: 'new' });
    expect(plan.assignments[0]?.reason).toBe('expected 5.0s (learning); slot 1/4');
    expect(plan.assignments[1]?.reason).toBe('expected 6.7s (learning); slot 2/4');
  });

  it('stops exploring a newcomer after its first slow runs', () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: [nodeView({ id: 'known' }), nodeView({ id: 'new' })],
        pending: [task({ id: 't1', estimateKey: 'build' }), task({ id: 't2', estimateKey: 'build' })],
        estimates: { known: { build: { meanMs: 10_000, samples: 10 } }, new: { build: { meanMs: 80_000, samples: 1 } } },
      }),
      0,
    );
    expect(placedOn(plan)).toEqual({ t1: 'known', t2: 'known' });
  });

  it('derives the estimate key from the command when the task has none', () => {
    const plan = scheduler.plan(
      snapshot({
        nodes: nodes(),
        pending: [task({ id: 't', command: ['/usr/bin/make', 'build'] })],
        estimates: { slow: { 'spark:make build': { meanMs: 9000, samples: 5 } }, fast: { 'spark:make build': { meanMs: 1000, samples: 5 } } },
      }),
      0,
    );
    expect(placedOn(plan)).toEqual({ t: 'fast' });
  });
});

describe('PlacementScheduler fairness', () => {
  it('serves a project with one task before a busy project with a thousand', () => {
    const busy = Array.from({ length: 1000 }, (_, i) => task({ id: `a${i}`, project: 'a' }));
    const plan = scheduler.plan(
      snapshot({ nodes: [nodeView({ id: 'n', capacity: 1 })], pending: [...busy, task({ id: 'b0', project: 'b' })], activeByProject: { a: 3 } }),
      0,
    );
    expect(placedOn(plan)).toEqual({ b0: 'n' });
  });

  it('alternates between projects and keeps FIFO inside each', () => {
    const pending = [
      ...Array.from({ length: 4 }, (_, i) => task({ id: `a${i}`, project: 'a' })),
      ...Array.from({ length: 4 }, (_, i) => task({ id: `b${i}`, project: 'b' })),
    ];
    const plan = scheduler.plan(snapshot({ nodes: [nodeView({ id: 'n', capacity: 4 })], pending }), 0);
    expect(plan.assignments.map((a) => a.taskId)).toEqual(['a0', 'b0', 'a1', 'b1']);
  });

  it('does not let a blocked head task block the rest of its project', () => {
    const plan = scheduler.plan(
      snapshot({ nodes: [nodeView({ id: 'n' })], pending: [task({ id: 'gpu', project: 'a', needs: ['gpu'] }), task({ id: 'cpu', project: 'a' })] }),
      0,
    );
    expect(placedOn(plan)).toEqual({ cpu: 'n' });
  });
});
