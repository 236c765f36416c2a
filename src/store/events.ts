/**
 * EventLog — the change feed: the ordered outbox of every state change, readable by sequence
 * number from any process.
 *
 * Callers: repositories append inside the same atomic change they describe (so a change and
 * its event are never separated); the coordinator, the API's WebSocket stream and, with a
 * shared store, other coordinators consume it with a cursor: `read(after)` then
 * `wait(after)` for more. `watch` is an in-process optimization on top of the same order
 * (no polling when the writer is this process); it is not the contract.
 */
import type { FleetEvent, NewFleetEvent } from '../core/index.js';

export interface EventLog {
  /** Appends one event outside any other change (e.g. a refused token). Returns its seq. */
  append(event: NewFleetEvent): Promise<FleetEvent>;
  /** Appends several events as one atomic change, in order: all land or none. */
  appendMany(events: NewFleetEvent[]): Promise<FleetEvent[]>;
  /** Events with seq > afterSeq, oldest first, at most `limit` (default 1000). */
  read(afterSeq: number, limit?: number): Promise<FleetEvent[]>;
  /** Highest seq written, 0 when empty. */
  latestSeq(): Promise<number>;
  /**
   * Resolves with the latest seq once it is greater than `afterSeq` — at once if it already
   * is — or with the latest seq (possibly still `afterSeq`) when `timeoutMs` passes or
   * `signal` aborts. Sees writes of other processes too (the embedded store polls its file for
   * those). Never rejects for a timeout or an abort.
   */
  wait(afterSeq: number, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<number>;
  /**
   * Calls `listener` for each event appended after `afterSeq`, in order, including those
   * appended by other repositories of this backbone. Returns an unsubscribe function.
   * Listeners run synchronously after commit; they must not throw or block.
   */
  watch(afterSeq: number, listener: (event: FleetEvent) => void): () => void;
}
