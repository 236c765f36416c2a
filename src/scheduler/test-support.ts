/** Factories for scheduler tests and benchmarks: complete nodes, tasks and snapshots with overridable fields. */
import type { FleetNode, Task } from '../core/index.js';
import type { FleetSnapshot, NodeView } from './types.js';

export type NodeSpec = Partial<NodeView['node']> & { id: string; activeTasks?: number };

export function nodeView(spec: NodeSpec): NodeView {
  const { activeTasks = 0, ...node } = spec;
  const full: NodeView['node'] = {
    name: spec.id,
    role: 'worker',
    status: 'ready',
    capabilities: [],
    specializations: [],
    capacity: 4,
    resources: { cpus: 4, memoryBytes: 8 * 2 ** 30, load: 0 },
    ...node,
  } satisfies Pick<FleetNode, 'id' | 'name' | 'role' | 'status' | 'capabilities' | 'specializations' | 'capacity' | 'resources'>;
  return { node: full, activeTasks };
}

let seq = 0;

export function task(spec: Partial<Task> & { id: string }): Task {
  seq++;
  return {
    kind: 'spark',
    project: null,
    command: ['true'],
    env: {},
    needs: [],
    prefers: [],
    pinnedNode: null,
    maxRetries: 3,
    retryOnFailure: 0,
    timeoutMs: null,
    idempotencyKey: null,
    estimateKey: null,
    labels: {},
    state: 'pending',
    attempt: 0,
    infraFailures: 0,
    userFailures: 0,
    nodeId: null,
    exitCode: null,
    error: null,
    createdAt: 0,
    assignedAt: null,
    startedAt: null,
    finishedAt: null,
    seq,
    ...spec,
  };
}

export function snapshot(parts: Partial<FleetSnapshot> & { nodes: NodeView[] }): FleetSnapshot {
  return { pending: [], activeByProject: {}, estimates: {}, projectPins: {}, ...parts };
}
