/**
 * StoreWriter — where the embedded backbone's writes go. `submit` resolves with the write's
 * result once the group commit that holds it is durable, or rejects with the write's own
 * error (refused) or the commit's (nothing written). Writes are applied in submission order.
 * Two implementations: `LocalWriter` (same thread; the commit blocks the event loop) and
 * `ThreadWriter` (a worker thread owns the write connection; the loop never waits on fsync).
 */
import type { FleetEvent } from '../../../core/index.js';
import type { WriteOp } from '../operations.js';

/** Diagnostics since start: group transactions run (one fsync each) and writes answered. */
export interface WriterStats {
  commits: number;
  ops: number;
}

export interface StoreWriter {
  submit(op: WriteOp): Promise<unknown>;
  /** A copy of the counters (benchmarks report commits per task from it). */
  readonly stats: WriterStats;
  /** Waits for every submitted write, then releases the writer. Idempotent. */
  close(): Promise<void>;
}

/** Receives the events of each group commit, in seq order, before its writes resolve. */
export type CommittedListener = (events: FleetEvent[]) => void;
