/**
 * Fair order of pending work between projects: water-filling over the FIFO pending list.
 * The next task always comes from the project with the fewest active tasks (counting the
 * ones placed in this plan); ties go to the project whose head task was submitted first.
 * Within a project the order stays FIFO. A busy project therefore cannot starve another:
 * a project with nothing running is served before any project that already runs work.
 */
import type { Task } from '../core/index.js';

/** Key of the project a task is counted under; tasks without a project share ''. */
export function projectKeyOf(task: Pick<Task, 'project'>): string {
  return task.project ?? '';
}

interface ProjectLine {
  key: string;
  tasks: Task[];
  /** Positions in the original pending list, parallel to `tasks` (the FIFO tie-breaker). */
  order: number[];
  head: number;
  /** Active tasks of the project: the snapshot's count plus placements of this plan. */
  active: number;
}

export class FairQueue {
  private readonly heap: ProjectLine[] = [];

  /** `pending` in FIFO order; `activeByProject` keyed by `projectKeyOf`. */
  constructor(pending: readonly Task[], activeByProject: Readonly<Record<string, number>>) {
    const lines = new Map<string, ProjectLine>();
    pending.forEach((task, index) => {
      const key = projectKeyOf(task);
      let line = lines.get(key);
      if (line === undefined) {
        const active = activeByProject[key];
        line = { key, tasks: [], order: [], head: 0, active: Number.isFinite(active) ? Math.max(0, active ?? 0) : 0 };
        lines.set(key, line);
      }
      line.tasks.push(task);
      line.order.push(index);
    });
    for (const line of lines.values()) this.push(line);
  }

  get isEmpty(): boolean {
    return this.heap.length === 0;
  }

  /** The next task in fair order, without taking it. */
  peek(): Task | undefined {
    const line = this.heap[0];
    return line === undefined ? undefined : line.tasks[line.head];
  }

  /**
   * Settles the task `peek` returned: a placed task raises its project's active count
   * (water-filling); an unplaced one does not, so a project whose head task cannot run
   * keeps its turn for its next task.
   */
  advance(placed: boolean): void {
    const line = this.pop();
    if (line === undefined) return;
    line.head++;
    if (placed) line.active++;
    if (line.head < line.tasks.length) this.push(line);
  }

  private less(a: ProjectLine, b: ProjectLine): boolean {
    if (a.active !== b.active) return a.active < b.active;
    return (a.order[a.head] as number) < (b.order[b.head] as number);
  }

  private push(line: ProjectLine): void {
    const heap = this.heap;
    heap.push(line);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i] as ProjectLine, heap[parent] as ProjectLine)) break;
      [heap[i], heap[parent]] = [heap[parent] as ProjectLine, heap[i] as ProjectLine];
      i = parent;
    }
  }

  private pop(): ProjectLine | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.less(heap[left] as ProjectLine, heap[smallest] as ProjectLine)) smallest = left;
        if (right < heap.length && this.less(heap[right] as ProjectLine, heap[smallest] as ProjectLine)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest] as ProjectLine, heap[i] as ProjectLine];
        i = smallest;
      }
    }
    return top;
  }
}
