// Benchmark 6: scaling efficiency. Tasks of 10 ms (simulated: the agent waits 10 ms between
// start and result) on N workers of one slot each; efficiency(N) =
// throughput(N) ÷ (N × throughput(1)).
import { startMaster, startSims, stopAll } from '../lib/fleet.mjs';
import { round } from '../lib/stats.mjs';

/** cfg: { workers: [1,2,4,8,16], taskMs, durationMs, durabilities } */
export async function runScaling(cfg, log) {
  const rows = [];
  for (const durability of cfg.durabilities) {
    const fleet = await startMaster({ durability, name: `master-scaling-${durability}`, profileDir: cfg.profileDir });
    let base = null;
    try {
      for (const workers of cfg.workers) {
        const { sims } = await startSims(fleet, { count: workers, capacity: 1, delayMs: cfg.taskMs, prefix: `sc-${durability}-${workers}` });
        try {
          // Enough queued work to keep every slot busy, little enough to drain quickly.
          const batchSize = Math.max(20, workers * 4);
          const r = await fleet.master.call('throughput', { mode: 'batch', durationMs: cfg.durationMs, batchSize, maxOutstanding: batchSize * 3 });
          const rate = (r.n / r.totalMs) * 1000;
          if (workers === 1) base = rate;
          const ideal = (workers * 1000) / cfg.taskMs;
          const row = {
            durability, workers, taskMs: cfg.taskMs, n: r.n, tasksPerSec: round(rate, 1),
            efficiency: base ? round(rate / (workers * base), 3) : null,
            ofIdeal: round(rate / ideal, 3),
            storeCommitsPerTask: r.commits === undefined ? null : round(r.commits / r.n, 2),
          };
          rows.push(row);
          log(`  scaling ${durability} workers=${workers}: ${row.tasksPerSec} tasks/s, efficiency ${row.efficiency}`);
        } finally {
          await stopAll(sims);
        }
      }
    } finally {
      await stopAll([fleet.master]);
    }
  }
  return rows;
}
