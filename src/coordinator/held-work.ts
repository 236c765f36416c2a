/**
 * HeldWork: the tasks of a lost node wait here until that node's lease has surely ended.
 *
 * An agent keeps running its tasks for `selfFenceAfterMs` after the sending time of the last
 * message the master received from it, then kills them (agent/master-lease.ts). The master
 * counts from the *receiving* time of that message — never earlier — plus a margin, and only
 * then requeues: so a task never runs on two nodes at once, at the price of a failover that
 * takes the lease rather than the missed heartbeats. A node that comes back before then
 * goes through SyncState instead and keeps what it still runs.
 *
 * Pure bookkeeping; the coordinator's timer asks `due(now)` and requeues.
 */

/**
 * Added to the lease on the master's side: the agent's self-fence check period (250 ms), its
 * SIGKILL sweep of the task's processes, and any difference in clock rates over a lease.
 */
export const LEASE_MARGIN_MS = 1000;

/** When the master may move the work of a node it last heard from at `lastHeardAt`. */
export function leaseEndsAt(lastHeardAt: number, leaseMs: number): number {
  return lastHeardAt + leaseMs + LEASE_MARGIN_MS;
}

/**
 * The lease length the master must assume for a node. Shortening it (a live `self-fence-after`
 * change) may not reach a node cut off at that moment, which then still holds the longer lease:
 * for the nodes known at the change, the longer one stays in force until a lease granted under
 * it has surely ended, or until the node is welcomed again (the welcome carries the new one).
 */
export class LeaseTerms {
  private readonly floors = new Map<string, { ms: number; until: number }>();

  constructor(private current: number) {}

  change(ms: number, now: number, knownNodes: Iterable<string>): void {
    for (const nodeId of knownNodes) {
      const held = this.for(nodeId, now);
      if (ms < held) this.floors.set(nodeId, { ms: held, until: now + held + LEASE_MARGIN_MS });
    }
    this.current = ms;
  }

  /** The node was just welcomed: it holds the current lease. */
  welcomed(nodeId: string): void {
    this.floors.delete(nodeId);
  }

  /** The lease to count with for `nodeId` at `now`. */
  for(nodeId: string, now: number): number {
    const floor = this.floors.get(nodeId);
    if (floor === undefined) return this.current;
    if (now < floor.until) return Math.max(this.current, floor.ms);
    this.floors.delete(nodeId);
    return this.current;
  }
}

export interface HeldEntry {
  nodeId: string;
  /** Requeue at or after this time (master clock). */
  until: number;
  /** Why the node was lost, for the requeue reason. */
  reason: string;
}

export class HeldWork {
  private readonly entries = new Map<string, HeldEntry>();

  /** Holds the node's work until `until`; a later hold of the same node keeps the later time. */
  hold(nodeId: string, until: number, reason: string): void {
    const current = this.entries.get(nodeId);
    this.entries.set(nodeId, { nodeId, until: Math.max(until, current?.until ?? until), reason });
  }

  /** The node is back (SyncState decides about its tasks) or gone: nothing to do at expiry. */
  release(nodeId: string): void {
    this.entries.delete(nodeId);
  }

  get(nodeId: string): HeldEntry | null {
    return this.entries.get(nodeId) ?? null;
  }

  /** Takes the entries whose time has come; put one back with `hold` if it cannot be done yet. */
  due(now: number): HeldEntry[] {
    const out: HeldEntry[] = [];
    for (const entry of this.entries.values()) if (now >= entry.until) out.push(entry);
    for (const entry of out) this.entries.delete(entry.nodeId);
    return out;
  }

  get size(): number {
    return this.entries.size;
  }
}
