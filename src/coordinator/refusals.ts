/**
 * RefusalBook: which nodes refused which tasks (a node's serve allow-list says no), so the
 * scheduler offers a task elsewhere instead of to the same node again until its retries run
 * out. Memory only and bounded: after a master restart a node may refuse once more, which is
 * harmless. A node's refusals are forgotten when it connects again — its allow-list may have
 * changed with the restart.
 */
import type { Task } from '../core/index.js';

const DEFAULT_MAX_TASKS = 10_000;

export class RefusalBook {
  private readonly byTask = new Map<string, Set<string>>();

  constructor(private readonly maxTasks = DEFAULT_MAX_TASKS) {}

  note(taskId: string, nodeId: string): void {
    let nodes = this.byTask.get(taskId);
    if (!nodes) {
      // Oldest first out: a Map iterates in insertion order.
      if (this.byTask.size >= this.maxTasks) this.byTask.delete(this.byTask.keys().next().value!);
      this.byTask.set(taskId, (nodes = new Set()));
    }
    nodes.add(nodeId);
  }

  /** The scheduler's `refusedBy` for these tasks; undefined when none of them was refused (the common case). */
  forTasks(tasks: readonly Task[]): Record<string, string[]> | undefined {
    if (this.byTask.size === 0) return undefined;
    let out: Record<string, string[]> | undefined;
    for (const task of tasks) {
      const nodes = this.byTask.get(task.id);
      if (nodes && nodes.size > 0) (out ??= {})[task.id] = [...nodes];
    }
    return out;
  }

  forgetNode(nodeId: string): void {
    for (const [taskId, nodes] of this.byTask) {
      if (nodes.delete(nodeId) && nodes.size === 0) this.byTask.delete(taskId);
    }
  }

  forgetTask(taskId: string): void {
    this.byTask.delete(taskId);
  }

  get size(): number {
    return this.byTask.size;
  }
}
