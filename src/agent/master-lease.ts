/**
 * MasterLease: how long this agent may keep running its tasks without word from the master.
 *
 * The lease runs from the moment the agent *sent* the last message the master is known to have
 * received — a heartbeat it acknowledged (`heartbeatAck` echoes the heartbeat's `at`) or the
 * hello it answered with a welcome. The master counts the same lease from when it *received*
 * that node's last message, which is never earlier; so once the agent's lease has run out (and
 * it has killed its tasks), the master's has not yet, and the master moves the work only after
 * that. Two copies of an attempt therefore never run at once, whatever the network does: a
 * cut, a stall, a lost or late acknowledgement only make the agent stop sooner.
 *
 * Pure: times are passed in (the agent's clock, the same one that stamped `at`).
 */
export class MasterLease {
  private renewedFrom: number | null = null;

  /** The master answered a message this agent sent at `sentAt`. Late or duplicated answers are harmless. */
  renew(sentAt: number, now: number): void {
    // An answer to something not sent yet is not ours to believe (a confused or replayed frame).
    if (!Number.isFinite(sentAt) || sentAt > now) return;
    if (this.renewedFrom === null || sentAt > this.renewedFrom) this.renewedFrom = sentAt;
  }

  /** Milliseconds since the lease was last renewed; null before the first renewal. */
  silenceAt(now: number): number | null {
    return this.renewedFrom === null ? null : now - this.renewedFrom;
  }

  /** True once `leaseMs` have passed since the last renewal (never renewed: true). */
  expired(now: number, leaseMs: number): boolean {
    return this.renewedFrom === null || now - this.renewedFrom > leaseMs;
  }
}
