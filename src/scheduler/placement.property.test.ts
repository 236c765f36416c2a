import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptsWork, NODE_STATUSES, type Task } from '../core/index.js';
import { updateEstimate } from './estimates.js';
import { PlacementScheduler } from './placement.js';
import { nodeView, snapshot as makeSnapshot, task } from './test-support.js';
import type { DurationEstimate, FleetSnapshot, NodeView, Plan } from './types.js';

const CAPS = ['linux', 'docker', 'gpu', 'arm'];
const SPECS = ['build', 'test', 'deploy'];
const PROJECTS = ['a', 'b', 'c', 'd'];
const KEYS = ['build', 'test'];

const estimateArb = fc.record({ meanMs: fc.integer({ min: 0, max: 100_000 }), samples: fc.integer({ min: 0, max: 20 }) });

const nodeArb = (id: string) =>
  fc
    .record({
      status: fc.constantFrom(...NODE_STATUSES, 'ready', 'ready'),
      capabilities: fc.subarray(CAPS),
      specializations: fc.subarray(SPECS),
      capacity: fc.integer({ min: 0, max: 5 }),
      activeTasks: fc.integer({ min: 0, max: 6 }),
      load: fc.double({ min: 0, max: 8, noNaN: true }),
      estimates: fc.dictionary(fc.constantFrom(...KEYS), estimateArb),
    })
    .map((n) => ({
      view: nodeView({
        id,
        status: n.status,
        capabilities: n.capabilities,
        specializations: n.specializations,
        capacity: n.capacity,
        activeTasks: n.activeTasks,
        resources: { cpus: 4, memoryBytes: 0, load: n.load },
      }),
      estimates: n.estimates,
    }));

const snapshotArb: fc.Arbitrary<{ snapshot: FleetSnapshot; now: number }> = fc
  .integer({ min: 0, max: 8 })
  .chain((nodeCount) => {
    const ids = Array.from({ length: nodeCount }, (_, i) => `n${i}`);
    const taskArb = fc.record({
      project: fc.option(fc.constantFrom(...PROJECTS), { nil: null }),
      needs: fc.subarray(CAPS, { maxLength: 2 }),
      prefers: fc.subarray(SPECS, { maxLength: 2 }),
      pinnedNode: fc.option(fc.constantFrom(...ids, 'ghost'), { nil: null, freq: 4 }),
      estimateKey: fc.option(fc.constantFrom(...KEYS), { nil: null }),
      createdAt: fc.integer({ min: 0, max: 100_000 }),
    });
    return fc.record({
      nodes: fc.tuple(...ids.map(nodeArb)),
      tasks: fc.array(taskArb, { maxLength: 60 }),
      activeByProject: fc.dictionary(fc.constantFrom(...PROJECTS, ''), fc.integer({ min: 0, max: 10 })),
      projectPins: fc.dictionary(fc.constantFrom(...PROJECTS), fc.subarray(ids)),
      now: fc.integer({ min: 0, max: 200_000 }),
    });
  })
  .map(({ nodes, tasks, activeByProject, projectPins, now }) => ({
    now,
    snapshot: makeSnapshot({
      nodes: nodes.map((n) => n.view),
      pending: tasks.map((t, i) => task({ id: `t${i}`, ...t })),
      activeByProject,
      projectPins,
      estimates: Object.fromEntries(nodes.map((n) => [n.view.node.id, n.estimates])),
    }),
  }));

function capable(view: NodeView, t: Task): boolean {
  return acceptsWork(view.node) && t.needs.every((n) => view.node.capabilities.includes(n)) && (t.pinnedNode === null || t.pinnedNode === view.node.id);
}

function assignedCount(plan: Plan, nodeId: string): number {
  return plan.assignments.filter((a) => a.nodeId === nodeId).length;
}

describe('PlacementScheduler properties', () => {
  const scheduler = new PlacementScheduler();

  it('never violates hard constraints: ready node, needed capabilities, pinned node', () => {
    fc.assert(
      fc.property(snapshotArb, ({ snapshot, now }) => {
        const plan = scheduler.plan(snapshot, now);
        const nodes = new Map(snapshot.nodes.map((v) => [v.node.id, v]));
        const tasks = new Map(snapshot.pending.map((t) => [t.id, t]));
        for (const a of plan.assignments) {
          const view = nodes.get(a.nodeId) as NodeView;
          expect(capable(view, tasks.get(a.taskId) as Task)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('runs pinned tasks only on their node', () => {
    fc.assert(
      fc.property(snapshotArb, ({ snapshot, now }) => {
        const plan = scheduler.plan(snapshot, now);
        const pins = new Map(snapshot.pending.map((t) => [t.id, t.pinnedNode]));
        for (const a of plan.assignments) {
          const pin = pins.get(a.taskId);
          if (pin !== null) expect(a.nodeId).toBe(pin);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('never exceeds a node capacity (active tasks plus this plan)', () => {
    fc.assert(
      fc.property(snapshotArb, ({ snapshot, now }) => {
        const plan = scheduler.plan(snapshot, now);
        for (const view of snapshot.nodes) {
          const added = assignedCount(plan, view.node.id);
          expect(added === 0 || view.activeTasks + added <= view.node.capacity).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('accounts for every pending task exactly once, with the right reason', () => {
    fc.assert(
      fc.property(snapshotArb, ({ snapshot, now }) => {
        const plan = scheduler.plan(snapshot, now);
        const ids = [...plan.assignments.map((a) => a.taskId), ...plan.unplaced.map((u) => u.taskId)];
        expect(new Set(ids).size).toBe(ids.length);
        expect(new Set(ids)).toEqual(new Set(snapshot.pending.map((t) => t.id)));
        for (const u of plan.unplaced) {
          const t = snapshot.pending.find((p) => p.id === u.taskId) as Task;
          const candidates = snapshot.nodes.filter((v) => capable(v, t));
          if (u.reason === 'no-capable-node') expect(candidates).toEqual([]);
          else expect(candidates.length).toBeGreaterThan(0);
          if (u.reason === 'no-capacity' && u.waitingFor === undefined) {
            // Every capable node is full at the end of the plan.
            for (const v of candidates) expect(v.activeTasks + assignedCount(plan, v.node.id)).toBeGreaterThanOrEqual(v.node.capacity);
          }
          if (u.waitingFor !== undefined) expect(candidates.map((v) => v.node.id)).toContain(u.waitingFor);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('fills capacity greedily when nothing is worth waiting for', () => {
    fc.assert(
      fc.property(snapshotArb, ({ snapshot, now }) => {
        const plan = new PlacementScheduler({ deferFactor: 0 }).plan(snapshot, now);
        expect(plan.unplaced.some((u) => u.waitingFor !== undefined)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('shares free slots max-min fairly between projects with unconstrained work', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...PROJECTS), fc.record({ pending: fc.integer({ min: 1, max: 1000 }), active: fc.integer({ min: 0, max: 5 }) }), { minKeys: 1 }),
        fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 6 }),
        (projects, capacities) => {
          const pending = Object.entries(projects).flatMap(([p, { pending: n }]) => Array.from({ length: n }, (_, i) => task({ id: `${p}${i}`, project: p })));
          const plan = scheduler.plan(
            makeSnapshot({
              nodes: capacities.map((capacity, i) => nodeView({ id: `n${i}`, capacity })),
              pending,
              activeByProject: Object.fromEntries(Object.entries(projects).map(([p, { active }]) => [p, active])),
            }),
            0,
          );
          const got = (p: string) => plan.assignments.filter((a) => a.taskId.startsWith(p)).length;
          for (const [p, { pending: n, active }] of Object.entries(projects)) {
            if (got(p) === n) continue; // fully served
            // p still waits: no project that got a slot in this plan ended above p's level + 1.
            for (const [q, { active: qActive }] of Object.entries(projects)) {
              if (got(q) > 0) expect(qActive + got(q)).toBeLessThanOrEqual(active + got(p) + 1);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('does not starve a project with 1 pending task behind a project with 1,000', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 999 }), (slots, busyActive, position) => {
        const pending = Array.from({ length: 1000 }, (_, i) => task({ id: `a${i}`, project: 'a' }));
        pending.splice(position, 0, task({ id: 'b0', project: 'b' }));
        const plan = scheduler.plan(
          makeSnapshot({ nodes: [nodeView({ id: 'n', capacity: slots })], pending, activeByProject: { a: busyActive } }),
          0,
        );
        // Served at once unless both projects are idle, one slot exists and a's head is older.
        const mustServe = busyActive > 0 || slots > 1 || position === 0;
        if (mustServe) expect(plan.assignments.map((a) => a.taskId)).toContain('b0');
      }),
      { numRuns: 200 },
    );
  });

  it('learns node speed: most repeated work ends up on the faster node', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 20_000 }), fc.double({ min: 3, max: 20, noNaN: true }), fc.boolean(), (fastMs, ratio, fastFirst) => {
        const speeds: Record<string, number> = { fast: fastMs, slow: fastMs * ratio };
        const ids = fastFirst ? ['fast', 'slow'] : ['slow', 'fast'];
        const estimates: Record<string, Record<string, DurationEstimate>> = {};
        const ran: Record<string, number> = { fast: 0, slow: 0 };
        // One task at a time (each runs to completion before the next plan): the learning loop.
        for (let round = 0; round < 30; round++) {
          const plan = scheduler.plan(
            makeSnapshot({ nodes: ids.map((id) => nodeView({ id, capacity: 2 })), pending: [task({ id: `r${round}`, estimateKey: 'build' })], estimates }),
            0,
          );
          const nodeId = plan.assignments[0]?.nodeId as string;
          ran[nodeId] = (ran[nodeId] ?? 0) + 1;
          estimates[nodeId] = { build: updateEstimate(estimates[nodeId]?.build, speeds[nodeId] as number) };
        }
        expect(ran.slow).toBeLessThanOrEqual(3);
        expect(ran.fast).toBeGreaterThanOrEqual(27);
      }),
      { numRuns: 100 },
    );
  });
});
