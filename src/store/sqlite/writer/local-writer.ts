/**
 * LocalWriter — group commit on the caller's own thread: writes submitted in one turn of the
 * event loop are committed together on the next (setImmediate), then resolved. For tools
 * and tests that do not want a thread; the master uses ThreadWriter.
 */
import type { WriteOp } from '../operations.js';
import type { SqliteStore } from '../store.js';
import { commitGroup } from './group-commit.js';
import type { StoreWriter, WriterStats } from './writer.js';
import { closedStoreError } from './wire.js';

interface Queued {
  op: WriteOp;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class LocalWriter implements StoreWriter {
  private queue: Queued[] = [];
  private scheduled = false;
  private closed = false;
  private idle: Array<() => void> = [];
  private readonly counts: WriterStats = { commits: 0, ops: 0 };

  constructor(private readonly store: SqliteStore) {}

  submit(op: WriteOp): Promise<unknown> {
    if (this.closed) return Promise.reject(closedStoreError());
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  get stats(): WriterStats {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.scheduled) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private flush(): void {
    this.scheduled = false;
    const group = this.queue;
    this.queue = [];
    const outcomes = commitGroup(this.store, group.map((q) => q.op));
    this.counts.commits += 1;
    this.counts.ops += group.length;
    group.forEach((q, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) q.resolve(outcome.value);
      else q.reject(outcome.error);
    });
    for (const done of this.idle.splice(0)) done();
  }
}
