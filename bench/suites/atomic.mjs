// Benchmark 7: commit latency of a 3-participant atomic action with trivial hooks — the
// engine's LOCAL path (see lib/atomic-child.mjs: cross-node 2PC does not exist yet).
import { Child, tempDir } from '../lib/proc.mjs';
import { script } from '../lib/fleet.mjs';
import { median, summarize } from '../lib/stats.mjs';

/** cfg: { n, variants: [{ durability, hooks }] } */
export async function runAtomic(cfg, log, profileDir = null) {
  const rows = [];
  for (const v of cfg.variants) {
    const child = new Child(script('atomic-child.mjs'), { dir: tempDir(), durability: v.durability, n: cfg.n, hooks: v.hooks }, {
      name: `atomic-${v.durability}-${v.hooks}`, nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    });
    const done = await child.waitEvent('done', 120_000);
    await child.exited;
    const row = {
      path: 'local engine (AtomicAction), not cross-node', participants: 3, durability: v.durability, hooks: v.hooks,
      totalMs: summarize(done.samples.map((s) => s.totalMs)),
      hookMs: summarize(done.samples.map((s) => s.hookMs)),
      beyondHooksMs: summarize(done.samples.map((s) => s.overheadMs)),
      storeCommitsPerAction: median(done.samples.map((s) => s.commits)),
    };
    rows.push(row);
    log(`  atomic ${v.durability}/${v.hooks} hooks: total p50 ${row.totalMs.p50} ms, beyond hooks p50 ${row.beyondHooksMs.p50} ms p99 ${row.beyondHooksMs.p99} ms (n=${row.totalMs.n})`);
  }
  return rows;
}
