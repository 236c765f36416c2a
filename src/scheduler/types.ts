/**
 * Inputs and outputs of placement. The scheduler is pure: a read-only snapshot in, a plan
 * out. The coordinator's plan applier re-checks each assignment against current state
 * (compare-and-set on the task's attempt, node capacity) before committing it.
 */
import type { FleetNode, Task } from '../core/index.js';

export interface NodeView {
  node: Pick<FleetNode, 'id' | 'name' | 'role' | 'status' | 'capabilities' | 'specializations' | 'capacity' | 'resources'>;
  /** Tasks currently assigned or running on the node (coordinator's view). */
  activeTasks: number;
}

export interface DurationEstimate {
  /** EWMA of observed durations (ms) of tasks with this estimateKey on this node. */
  meanMs: number;
  samples: number;
}

export interface FleetSnapshot {
  nodes: NodeView[];
  /** Pending tasks, FIFO order. */
  pending: Task[];
  /** Active (assigned+running) tasks per project slug, for fairness; tasks without a project count under ''. */
  activeByProject: Record<string, number>;
  /** estimates[nodeId][estimateKey], keys from `estimateKeyOf(task)` (./estimates.ts). */
  estimates: Record<string, Record<string, DurationEstimate>>;
  /** Project slug → preferred node ids (project pinning). */
  projectPins: Record<string, string[]>;
  /**
   * Task id → nodes that refused it (a node's serve allow-list). Those nodes are never
   * offered the task again; a task every capable node refused stays pending ('no-capable-node').
   */
  refusedBy?: Record<string, readonly string[]>;
  /**
   * Nodes of the fleet that take no work now (draining, down, joining, or `ready` but not
   * connected): never placed on, only named in the reasons of tasks that wait ("the nodes with
   * gpu are draining (w1), down (w2)").
   */
  unavailable?: NodeView[];
}

export interface Assignment {
  taskId: string;
  /** The attempt the task was pending at; the applier's compare-and-set expectation. */
  expectedAttempt: number;
  nodeId: string;
  /** Why this node: for logs and `task show`. */
  reason: string;
}

export interface Unplaceable {
  taskId: string;
  /** 'no-capable-node' when no node could ever run it; 'no-capacity' when all capable nodes are full. */
  reason: 'no-capable-node' | 'no-capacity';
  detail: string;
  /**
   * Set when a free capable node exists but the task is held back for this node (id), which
   * is full yet expected to finish the task much sooner (learned durations). Reason is then
   * 'no-capacity'; the task stays pending and is planned again next time.
   */
  waitingFor?: string;
}

export interface Plan {
  assignments: Assignment[];
  unplaced: Unplaceable[];
}

export interface Scheduler {
  plan(snapshot: FleetSnapshot, now: number): Plan;
}
