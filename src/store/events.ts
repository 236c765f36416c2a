/**
 * EventLog — the ordered outbox of every state change.
 *
 * Callers: repositories append inside the same transaction as the change they describe
 * (so a change and its event are never separated); the coordinator's live feed and the API
 * read and watch it. JetStream mapping: one stream, `seq` = stream sequence.
 */
import type { FleetEvent, NewFleetEvent } from '../core/index.js';

export interface EventLog {
  /** Appends one event outside any other change (e.g. a refused token). Returns its seq. */
  append(event: NewFleetEvent): FleetEvent;
  /** Events with seq > afterSeq, oldest first, at most `limit` (default 1000). */
  read(afterSeq: number, limit?: number): FleetEvent[];
  /** Highest seq written, 0 when empty. */
  latestSeq(): number;
  /**
   * Calls `listener` for each event appended after `afterSeq`, in order, including those
   * appended by other repositories of this backbone. Returns an unsubscribe function.
   * Listeners run synchronously after commit; they must not throw or block.
   */
  watch(afterSeq: number, listener: (event: FleetEvent) => void): () => void;
}
