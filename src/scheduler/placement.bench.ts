/** Placement throughput: `npx vitest bench --run src/scheduler`. A plan over thousands of pending tasks × tens of nodes should take milliseconds. */
import { bench, describe } from 'vitest';
import { PlacementScheduler } from './placement.js';
import { nodeView, snapshot, task } from './test-support.js';
import type { FleetSnapshot } from './types.js';

function fleet(nodes: number, pending: number, freeSlotsPerNode: number): FleetSnapshot {
  const caps = ['linux', 'docker', 'gpu'];
  const views = Array.from({ length: nodes }, (_, i) =>
    nodeView({
      id: `n${i}`,
      capabilities: caps.slice(0, 1 + (i % 3)),
      specializations: [i % 2 === 0 ? 'build' : 'test'],
      capacity: 16,
      activeTasks: 16 - freeSlotsPerNode,
      resources: { cpus: 8, memoryBytes: 0, load: i % 5 },
    }),
  );
  const estimates = Object.fromEntries(views.map((v, i) => [v.node.id, { build: { meanMs: 1000 + i * 100, samples: 5 }, test: { meanMs: 500 + i * 10, samples: 1 } }]));
  return snapshot({
    nodes: views,
    pending: Array.from({ length: pending }, (_, i) =>
      task({
        id: `t${i}`,
        project: `p${i % 7}`,
        needs: i % 10 === 0 ? ['gpu'] : ['linux'],
        prefers: [i % 3 === 0 ? 'build' : 'test'],
        estimateKey: i % 2 === 0 ? 'build' : 'test',
      }),
    ),
    activeByProject: { p0: 40, p1: 3 },
    projectPins: { p2: ['n1', 'n2'] },
    estimates,
  });
}

const scheduler = new PlacementScheduler();
const cases: Array<[string, FleetSnapshot]> = [
  ['5,000 pending × 50 nodes, 4 free slots each', fleet(50, 5000, 4)],
  ['5,000 pending × 50 nodes, all 16 slots free', fleet(50, 5000, 16)],
  ['20,000 pending × 20 nodes, full fleet', fleet(20, 20_000, 0)],
];

describe('PlacementScheduler.plan', () => {
  for (const [name, snap] of cases) bench(name, () => void scheduler.plan(snap, 0));
});
