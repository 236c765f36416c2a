import { describe, expect, it } from 'vitest';
import { HeartbeatMonitor, nextDeadline, overdue, type Deadline, type LivenessPolicy } from './heartbeat-monitor.js';

const policy: LivenessPolicy = { heartbeatIntervalMs: 1000, missedHeartbeats: 3, reconnectGraceMs: 2000, startupGraceMs: 10_000 };

describe('HeartbeatMonitor', () => {
  it('gives a beating node interval × missed before it is down', () => {
    expect(nextDeadline({ kind: 'heartbeat' }, 5000, policy)).toEqual({ at: 8000, reason: 'missed 3 heartbeats' });
  });

  it('gives a closed stream only the reconnect grace', () => {
    expect(nextDeadline({ kind: 'disconnected' }, 5000, policy).at).toBe(7000);
  });

  it('gives nodes the startup grace after a coordinator restart', () => {
    expect(nextDeadline({ kind: 'startup' }, 5000, policy).at).toBe(15_000);
  });

  it('reports only deadlines that have passed', () => {
    const deadlines = new Map<string, Deadline>([
      ['a', { at: 100, reason: 'x' }],
      ['b', { at: 200, reason: 'y' }],
    ]);
    expect(overdue(deadlines, 100)).toEqual([]);
    expect(overdue(deadlines, 150)).toEqual([{ nodeId: 'a', reason: 'x' }]);
  });

  it('declares a node down once, after its heartbeats stop, and not while they continue', () => {
    let now = 0;
    const down: string[] = [];
    const monitor = new HeartbeatMonitor({ clock: { now: () => now }, policy: () => policy, onDown: (id) => void down.push(id) });
    monitor.beat('quiet');
    monitor.beat('chatty');
    for (now = 500; now <= 5000; now += 500) {
      monitor.beat('chatty');
      monitor.check();
    }
    expect(down).toEqual(['quiet']);
    expect(monitor.isTracked('quiet')).toBe(false);
    expect(monitor.isTracked('chatty')).toBe(true);
  });

  it('follows a live change of the heartbeat interval at the next beat', () => {
    let now = 0;
    let current = policy;
    const down: string[] = [];
    const monitor = new HeartbeatMonitor({ clock: { now: () => now }, policy: () => current, onDown: (id) => void down.push(id) });
    monitor.beat('n');
    current = { ...policy, heartbeatIntervalMs: 100 };
    now = 2000;
    monitor.check();
    expect(down).toEqual([]); // the old deadline (3000) still holds until the next beat
    monitor.beat('n');
    now = 2301;
    monitor.check();
    expect(down).toEqual(['n']);
  });

  it('forgets a node that reconnects within the grace only when told, and re-arms on beat', () => {
    let now = 0;
    const down: string[] = [];
    const monitor = new HeartbeatMonitor({ clock: { now: () => now }, policy: () => policy, onDown: (id) => void down.push(id) });
    monitor.disconnected('n');
    now = 1500;
    monitor.beat('n'); // reconnected
    now = 2500;
    monitor.check();
    expect(down).toEqual([]);
  });
});

describe('HeartbeatMonitor when declaring a node down fails', () => {
  it('keeps the node overdue and declares it down on a later check once the store recovers', () => {
    let now = 0;
    let storeUp = false;
    const declared: string[] = [];
    const errors: string[] = [];
    const monitor = new HeartbeatMonitor({
      clock: { now: () => now },
      policy: () => ({ heartbeatIntervalMs: 100, missedHeartbeats: 3, reconnectGraceMs: 50, startupGraceMs: 500 }),
      onDown: (nodeId) => {
        if (!storeUp) throw new Error('SQLITE_FULL');
        declared.push(nodeId);
      },
      onError: (nodeId) => errors.push(nodeId),
    });
    monitor.beat('n1');
    now = 1000;
    expect(monitor.check()).toEqual([]);
    expect(errors).toEqual(['n1']);
    expect(monitor.isTracked('n1')).toBe(true);
    storeUp = true;
    expect(monitor.check().map((d) => d.nodeId)).toEqual(['n1']);
    expect(declared).toEqual(['n1']);
    expect(monitor.isTracked('n1')).toBe(false);
  });
});
