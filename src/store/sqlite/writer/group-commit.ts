/**
 * Group commit: every write that arrived while the previous commit was in flight runs in one
 * transaction — one fsync for all of them. Each write runs in its own savepoint, so a refused
 * write (conflict, stale attempt) rolls back alone and the others commit; a failed COMMIT
 * (disk full, I/O error) fails every write of the group, none of which was acknowledged.
 */
import { toBitacoraError, type BitacoraError } from '../../../core/index.js';
import type { WriteOp } from '../operations.js';
import type { SqliteStore } from '../store.js';

export type WriteOutcome = { ok: true; value: unknown } | { ok: false; error: BitacoraError };

export function commitGroup(store: SqliteStore, ops: readonly WriteOp[]): WriteOutcome[] {
  const outcomes: WriteOutcome[] = [];
  try {
    store.transaction('a group of writes', () => {
      for (const op of ops) outcomes.push(runOne(store, op));
    });
  } catch (err) {
    // The commit itself failed: nothing of the group is durable.
    const error = toBitacoraError(err);
    return ops.map(() => ({ ok: false, error }));
  }
  return outcomes;
}

function runOne(store: SqliteStore, op: WriteOp): WriteOutcome {
  const repository = store[op.repository] as unknown as Record<string, (...args: unknown[]) => unknown>;
  try {
    // A savepoint of its own: a throw undoes this write only.
    return { ok: true, value: store.transaction(`${op.repository}.${op.method}`, () => repository[op.method]!.apply(repository, op.args)) };
  } catch (err) {
    return { ok: false, error: toBitacoraError(err) };
  }
}
