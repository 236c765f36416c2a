/**
 * HeartbeatMonitor: failure detection. Each node known to be up has a deadline — pushed
 * forward by every heartbeat (interval × missed), set short when its stream closes
 * (reconnect grace), set generous after a coordinator restart (startup grace). A periodic
 * check hands overdue nodes to `onDown`. The deadline arithmetic is pure and unit-tested.
 * It also remembers when each node was last heard from: the start of that node's lease as the
 * master counts it (held-work.ts).
 */
import type { Clock } from '../engine/ports.js';

export type LivenessEvent =
  | { kind: 'heartbeat' }
  | { kind: 'disconnected' }
  | { kind: 'startup' };

export interface LivenessPolicy {
  heartbeatIntervalMs: number;
  missedHeartbeats: number;
  reconnectGraceMs: number;
  startupGraceMs: number;
}

export interface Deadline {
  at: number;
  /** Why the node is down if the deadline passes. */
  reason: string;
}

/** Pure: the deadline a node gets after `event` at `now`. */
export function nextDeadline(event: LivenessEvent, now: number, policy: LivenessPolicy): Deadline {
  switch (event.kind) {
    case 'heartbeat':
      return { at: now + policy.heartbeatIntervalMs * policy.missedHeartbeats, reason: `missed ${policy.missedHeartbeats} heartbeats` };
    case 'disconnected':
      return { at: now + policy.reconnectGraceMs, reason: `stream closed and no reconnect within ${policy.reconnectGraceMs} ms` };
    case 'startup':
      return { at: now + policy.startupGraceMs, reason: `did not reconnect within ${policy.startupGraceMs} ms of the coordinator starting` };
  }
}

/** Pure: the nodes whose deadline has passed at `now`. */
export function overdue(deadlines: ReadonlyMap<string, Deadline>, now: number): Array<{ nodeId: string; reason: string }> {
  const out: Array<{ nodeId: string; reason: string }> = [];
  for (const [nodeId, d] of deadlines) if (now > d.at) out.push({ nodeId, reason: d.reason });
  return out;
}

export interface HeartbeatMonitorOptions {
  clock: Clock;
  policy: () => LivenessPolicy;
  /** Called once per overdue node; the node is forgotten until it is tracked again. A rejection is retried on the next check. */
  onDown(nodeId: string, reason: string): void | Promise<void>;
  /** Told when `onDown` failed (it is retried on the next check). Default: ignored. */
  onError?(nodeId: string, err: unknown): void;
  /** Check period. Default: a quarter of the heartbeat interval, between 50 and 500 ms. */
  tickMs?: number;
  /** Where it writes when each node was last heard (shared with the lease arithmetic). Default: its own map. */
  lastHeard?: Map<string, number>;
}

export class HeartbeatMonitor {
  private readonly deadlines = new Map<string, Deadline>();
  private readonly lastHeard: Map<string, number>;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: HeartbeatMonitorOptions) {
    this.lastHeard = options.lastHeard ?? new Map();
  }

  /** Hot path: one Map write per heartbeat. */
  beat(nodeId: string): void {
    const now = this.options.clock.now();
    this.deadlines.set(nodeId, nextDeadline({ kind: 'heartbeat' }, now, this.options.policy()));
    this.lastHeard.set(nodeId, now);
  }

  disconnected(nodeId: string): void {
    this.deadlines.set(nodeId, nextDeadline({ kind: 'disconnected' }, this.options.clock.now(), this.options.policy()));
  }

  /** A node recorded as up when the coordinator started, not yet reconnected. */
  awaitReconnect(nodeId: string): void {
    const now = this.options.clock.now();
    this.deadlines.set(nodeId, nextDeadline({ kind: 'startup' }, now, this.options.policy()));
    // Not heard since before the coordinator (re)started: it can have heard from us no later than now.
    if (!this.lastHeard.has(nodeId)) this.lastHeard.set(nodeId, now);
  }

  /** When a message from the node last arrived (kept after `forget`); null if never in this process. */
  lastHeardAt(nodeId: string): number | null {
    return this.lastHeard.get(nodeId) ?? null;
  }

  /** Stop watching (node down, removed, or gone for good). */
  forget(nodeId: string): void {
    this.deadlines.delete(nodeId);
  }

  isTracked(nodeId: string): boolean {
    return this.deadlines.has(nodeId);
  }

  /**
   * Runs one check now; returns the nodes declared down. A node whose `onDown` throws (the
   * store cannot write: disk full, read-only) keeps an overdue deadline and is retried on the
   * next check — it must still be declared down once the store recovers, and a throw from a
   * timer would end the master.
   */
  check(): Array<{ nodeId: string; reason: string }> {
    const down: Array<{ nodeId: string; reason: string }> = [];
    for (const entry of overdue(this.deadlines, this.options.clock.now())) {
      const deadline = this.deadlines.get(entry.nodeId);
      this.deadlines.delete(entry.nodeId);
      const retry = (err: unknown): void => {
        if (deadline && !this.deadlines.has(entry.nodeId)) this.deadlines.set(entry.nodeId, deadline);
        this.options.onError?.(entry.nodeId, err);
      };
      try {
        const pending = this.options.onDown(entry.nodeId, entry.reason);
        if (pending) pending.catch(retry);
        down.push(entry);
      } catch (err) {
        retry(err);
      }
    }
    return down;
  }

  start(): void {
    if (this.timer) return;
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  // A self-rescheduling timeout rather than setInterval, so a live change of the heartbeat
  // interval also changes how often we look.
  private schedule(): void {
    const tick = this.options.tickMs ?? Math.min(500, Math.max(50, Math.floor(this.options.policy().heartbeatIntervalMs / 4)));
    this.timer = setTimeout(() => {
      try {
        this.check();
      } finally {
        if (this.timer) this.schedule();
      }
    }, tick);
    this.timer.unref();
  }
}
