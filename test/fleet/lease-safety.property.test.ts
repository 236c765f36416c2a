/**
 * The lease argument, checked on random histories: whatever is delayed, lost, duplicated or
 * reordered between an agent and the master, and with clocks that run at slightly different
 * rates, the agent has killed its tasks (self-fence) before the master moves them elsewhere.
 * Uses the real MasterLease (agent) and leaseEndsAt (master); the network is simulated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MasterLease } from '../../src/agent/master-lease.js';
import { leaseEndsAt } from '../../src/coordinator/held-work.js';

/** The agent checks its lease this often (agent.ts SELF_FENCE_CHECK_MS). */
const CHECK_MS = 250;
/** What killing the task's processes may take after the check (SIGKILL + sweep), in real time. */
const KILL_MS = 500;

const beat = fc.record({
  /** Real delay of the heartbeat to the master; null = lost. */
  up: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: null }),
  /** Real delay of its acknowledgement back; null = lost. */
  down: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: null }),
});

describe('lease safety', () => {
  it('the agent stops before the master requeues, whatever the network and clock rates', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1000, max: 60_000 }), // lease (selfFenceAfterMs)
        fc.integer({ min: 100, max: 5000 }), // heartbeat interval
        fc.array(beat, { minLength: 1, maxLength: 60 }),
        fc.double({ min: -1e-4, max: 1e-4, noNaN: true }), // agent clock rate error
        fc.double({ min: -1e-4, max: 1e-4, noNaN: true }), // master clock rate error
        fc.integer({ min: 0, max: 1e9 }), // agent clock offset
        (leaseMs, intervalMs, beats, agentDrift, masterDrift, offset) => {
          const agentClock = (t: number): number => offset + t * (1 + agentDrift);
          const masterClock = (t: number): number => t * (1 + masterDrift);
          // Real times of arrivals at the agent (acks) and at the master (heartbeats).
          const acks: Array<{ arrive: number; at: number }> = [];
          let lastHeardReal: number | null = null;
          beats.forEach((b, i) => {
            const sent = i * intervalMs;
            if (b.up === null) return;
            const received = sent + b.up;
            lastHeardReal = Math.max(lastHeardReal ?? 0, received);
            if (b.down !== null) acks.push({ arrive: received + b.down, at: agentClock(sent) });
          });
          if (lastHeardReal === null) return; // the master never heard of it: it held nothing
          // The agent: renews as acks arrive (in arrival order); may start a task only while its
          // lease holds (it refuses executeTask otherwise); checks on its ticks, kills when expired.
          acks.sort((a, b) => a.arrive - b.arrive);
          const lease = new MasterLease();
          let next = 0;
          let running = false;
          let lastKill = 0;
          for (let t = 0; t < 400_000; t += CHECK_MS / (1 + agentDrift)) {
            while (next < acks.length && acks[next]!.arrive <= t) {
              const { arrive, at } = acks[next++]!;
              lease.renew(at, agentClock(arrive));
              if (!lease.expired(agentClock(arrive), leaseMs)) running = true; // worst case: work arrives now
            }
            if (running && lease.expired(agentClock(t), leaseMs)) {
              lastKill = t + KILL_MS;
              running = false;
            }
          }
          // The master: requeues at leaseEndsAt(lastHeard) on its own clock.
          const requeueReal = leaseEndsAt(masterClock(lastHeardReal), leaseMs) / (1 + masterDrift);
          expect(running).toBe(false);
          expect(lastKill).toBeLessThanOrEqual(requeueReal);
        },
      ),
      { numRuns: 300 },
    );
  });
});
