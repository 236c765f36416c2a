/**
 * In-memory index of the tasks the coordinator has handed out (assigned or running): who
 * holds which attempt, per-node and per-project counts. It is a cache of the TaskQueue kept
 * by the single writer (this coordinator) so the hot paths — fencing a log chunk, counting a
 * node's free slots, building a snapshot — need no store reads. The store stays the
 * authority: every change still goes through its fenced methods.
 */
import type { Task } from '../core/index.js';

/** `taskId#attempt`, the key of per-attempt bookkeeping. */
export const refKey = (taskId: string, attempt: number): string => `${taskId}#${attempt}`;

export interface ActiveEntry {
  taskId: string;
  attempt: number;
  nodeId: string;
  /** '' for tasks without a project (the scheduler's fairness key). */
  project: string;
  estimateKey: string;
  /** Highest output seq stored for this attempt; -1 before the first chunk. Drops re-sent duplicates cheaply. */
  lastSeq: number;
  /** Output bytes stored for this attempt, bounded by the coordinator. */
  outputBytes: number;
  /**
   * Its result is being recorded: settles once it is (true) or could not be (false); a re-sent
   * copy waits for it. Set and cleared through `markFinishing` / `clearFinishing`, which keep
   * the per-node count the dispatcher reads.
   */
  finishing: Promise<boolean> | null;
}

export class ActiveIndex {
  private readonly byTask = new Map<string, ActiveEntry>();
  private readonly byNode = new Map<string, Set<string>>();
  /** Per node: entries whose result is being recorded (their slot is free for new work). */
  private readonly finishingByNode = new Map<string, number>();
  private readonly projectCounts: Record<string, number> = Object.create(null) as Record<string, number>;

  get size(): number {
    return this.byTask.size;
  }

  get(taskId: string): ActiveEntry | undefined {
    return this.byTask.get(taskId);
  }

  /** The entry only if `nodeId` holds exactly `attempt` of the task — the fencing question. */
  holder(taskId: string, attempt: number, nodeId: string): ActiveEntry | undefined {
    const entry = this.byTask.get(taskId);
    return entry && entry.attempt === attempt && entry.nodeId === nodeId ? entry : undefined;
  }

  add(task: Pick<Task, 'id' | 'attempt' | 'nodeId' | 'project'>, estimateKey: string): void {
    if (task.nodeId === null) return;
    this.remove(task.id);
    const entry: ActiveEntry = {
      taskId: task.id, attempt: task.attempt, nodeId: task.nodeId, project: task.project ?? '', estimateKey, lastSeq: -1, outputBytes: 0, finishing: null,
    };
    this.byTask.set(task.id, entry);
    let set = this.byNode.get(entry.nodeId);
    if (!set) this.byNode.set(entry.nodeId, (set = new Set()));
    set.add(task.id);
    this.projectCounts[entry.project] = (this.projectCounts[entry.project] ?? 0) + 1;
  }

  remove(taskId: string): ActiveEntry | undefined {
    const entry = this.byTask.get(taskId);
    if (!entry) return undefined;
    this.byTask.delete(taskId);
    if (entry.finishing !== null) this.dropFinishing(entry.nodeId);
    const set = this.byNode.get(entry.nodeId);
    set?.delete(taskId);
    if (set && set.size === 0) this.byNode.delete(entry.nodeId);
    const left = (this.projectCounts[entry.project] ?? 1) - 1;
    if (left > 0) this.projectCounts[entry.project] = left;
    else delete this.projectCounts[entry.project];
    return entry;
  }

  countOn(nodeId: string): number {
    return this.byNode.get(nodeId)?.size ?? 0;
  }

  /**
   * Slots of `nodeId` taken for new work: its attempts minus those whose result is being
   * recorded — the agent has finished them, so the next assignment can travel in the same
   * group commit as that result instead of waiting for it.
   */
  busyOn(nodeId: string): number {
    return this.countOn(nodeId) - (this.finishingByNode.get(nodeId) ?? 0);
  }

  /** The entry's result is being recorded until `recorded` settles. */
  markFinishing(entry: ActiveEntry, recorded: Promise<boolean>): void {
    if (entry.finishing === null) this.finishingByNode.set(entry.nodeId, (this.finishingByNode.get(entry.nodeId) ?? 0) + 1);
    entry.finishing = recorded;
  }

  /** The result could not be recorded: the slot is the attempt's again. */
  clearFinishing(entry: ActiveEntry): void {
    if (entry.finishing === null) return;
    entry.finishing = null;
    this.dropFinishing(entry.nodeId);
  }

  /** Entries held by `nodeId` (a copy: callers mutate the index while iterating). */
  on(nodeId: string): ActiveEntry[] {
    const ids = this.byNode.get(nodeId);
    if (!ids) return [];
    const out: ActiveEntry[] = [];
    for (const id of ids) out.push(this.byTask.get(id)!);
    return out;
  }

  all(): IterableIterator<ActiveEntry> {
    return this.byTask.values();
  }

  /** Live view (not a copy) of active tasks per project, for the scheduler's fairness. */
  byProject(): Readonly<Record<string, number>> {
    return this.projectCounts;
  }

  clear(): void {
    this.byTask.clear();
    this.finishingByNode.clear();
    this.byNode.clear();
    for (const key of Object.keys(this.projectCounts)) delete this.projectCounts[key];
  }

  private dropFinishing(nodeId: string): void {
    const left = (this.finishingByNode.get(nodeId) ?? 1) - 1;
    if (left > 0) this.finishingByNode.set(nodeId, left);
    else this.finishingByNode.delete(nodeId);
  }
}
