// Benchmarks 1–3: dispatch latency and no-op throughput through one coordinator, and the
// same workloads through BullMQ on redis-server, interleaved in the same run at matched
// durability (our synchronous=FULL ↔ appendfsync always; our 'normal' ↔ appendfsync everysec).
import { Child, procSample } from '../lib/proc.mjs';
import { script, startMaster, startSims, stopAll } from '../lib/fleet.mjs';
import { startRedis } from '../lib/redis.mjs';
import { median, round, summarize } from '../lib/stats.mjs';

/**
 * cfg: { pairs: [{ durability, appendfsync, rounds }], workers: [1,2,4], concurrency,
 *        latencyN, latencyBlocks, warmupN, durationMs, batchSize, maxOutstanding }
 */
export async function runPeer(cfg, log) {
  const out = { latency: [], throughput: [], throughputRuns: [] };
  for (const pair of cfg.pairs) {
    const label = { durability: pair.durability, appendfsync: pair.appendfsync };
    log(`peer: our durability '${pair.durability}' vs redis appendfsync ${pair.appendfsync}`);
    const redis = await startRedis({ appendfsync: pair.appendfsync });
    const fleet = await startMaster({ durability: pair.durability, name: `master-${pair.durability}`, profileDir: cfg.profileDir });
    const producer = new Child(script('bull-producer.mjs'), { port: redis.port, queue: 'bench' }, { name: 'bull-producer' });
    await producer.waitEvent('ready');
    try {
      out.latency.push(...(await latency(cfg, fleet, redis, producer, label, log)));
      for (const workers of cfg.workers) {
        const runs = await throughput(cfg, pair, fleet, redis, workers, label, log);
        out.throughputRuns.push(...runs);
      }
    } finally {
      await stopAll([producer, fleet.master]);
      await redis.stop();
    }
  }
  out.throughput = aggregate(out.throughputRuns);
  return out;
}

async function latency(cfg, fleet, redis, producer, label, log) {
  const { sims } = await startSims(fleet, { count: 1, capacity: cfg.concurrency, prefix: `lat-${label.durability}` });
  const bull = new Child(script('bull-workers.mjs'), { port: redis.port, queue: 'bench', workers: 1, concurrency: cfg.concurrency }, { name: 'bull-workers' });
  await bull.waitEvent('ready');
  const sides = {
    bitacora: { samples: [], acks: [], commits: [], run: (n) => side(fleet.master, sims[0], n, true) },
    bullmq: { samples: [], acks: [], commits: [], run: (n) => side(producer, bull, n, false) },
  };
  try {
    // Warm-up (discarded), then blocks alternating which system goes first.
    for (const s of Object.values(sides)) await s.run(cfg.warmupN);
    const per = Math.max(1, Math.ceil(cfg.latencyN / cfg.latencyBlocks));
    for (let b = 0; b < cfg.latencyBlocks; b++) {
      const order = b % 2 === 0 ? ['bitacora', 'bullmq'] : ['bullmq', 'bitacora'];
      for (const name of order) {
        const r = await sides[name].run(per);
        sides[name].samples.push(...r.dispatch);
        sides[name].acks.push(...r.ack);
        if (r.commitsPerTask !== null) sides[name].commits.push(r.commitsPerTask);
      }
    }
  } finally {
    await stopAll([...sims, bull]);
  }
  const rows = Object.entries(sides).map(([system, s]) => ({ system, ...label, workers: 1, concurrency: cfg.concurrency, dispatchMs: summarize(s.samples), submitAckMs: summarize(s.acks), storeCommitsPerTask: s.commits.length ? round(median(s.commits), 2) : null }));
  for (const r of rows) log(`  latency ${r.system}: p50 ${r.dispatchMs.p50} ms, p99 ${r.dispatchMs.p99} ms (n=${r.dispatchMs.n})`);
  return rows;
}

/** One latency block: the producer submits `n` tasks one at a time; the worker side logs receipt times. */
async function side(producer, worker, n, ours) {
  await worker.call('startLog');
  const samples = await producer.call('latency', { n });
  const receipts = await worker.call('dumpLog');
  const dispatch = [];
  const ack = [];
  for (const s of samples) {
    if (receipts[s.id] !== undefined) dispatch.push(receipts[s.id] - s.t0);
    ack.push(s.acked - s.t0);
  }
  const commitsPerTask = ours ? (await producer.call('commits')).perTaskInLastLatencyRun : null;
  return { dispatch, ack, commitsPerTask };
}

async function throughput(cfg, pair, fleet, redis, workers, label, log) {
  const { sims } = await startSims(fleet, { count: workers, capacity: cfg.concurrency, prefix: `tp-${label.durability}-${workers}` });
  const queue = `tp-${workers}`;
  const bullProducer = new Child(script('bull-producer.mjs'), { port: redis.port, queue }, { name: 'bull-producer' });
  const bull = new Child(script('bull-workers.mjs'), { port: redis.port, queue, workers, concurrency: cfg.concurrency }, { name: 'bull-workers' });
  await Promise.all([bull.waitEvent('ready'), bullProducer.waitEvent('ready')]);
  const runs = [];
  const args = (mode) => ({ mode, durationMs: cfg.durationMs, batchSize: cfg.batchSize, maxOutstanding: cfg.maxOutstanding });
  try {
    for (let r = 0; r < pair.rounds; r++) {
      // ABBA: alternate which system goes first, so drift in the machine's state does not favour one.
      const order = r % 2 === 0 ? ['bitacora', 'bullmq'] : ['bullmq', 'bitacora'];
      for (const mode of ['one-by-one', 'batch']) {
        for (const system of order) {
          const p = system === 'bitacora' ? fleet.master : bullProducer;
          // CPU time of every process of the system (coordinator side first), from /proc.
          const pids = system === 'bitacora' ? [fleet.info.pid, ...sims.map((x) => x.pid)] : [redis.pid, bullProducer.pid, bull.pid];
          const before = pids.map(procSample);
          const res = await p.call('throughput', args(mode === 'batch' ? 'batch' : 'one'));
          const after = pids.map(procSample);
          const cpuMs = pids.map((_, i) => (after[i] && before[i] ? (after[i].cpuSeconds - before[i].cpuSeconds) * 1000 : 0));
          const rate = (res.n / res.totalMs) * 1000;
          runs.push({ system, ...label, workers, concurrency: cfg.concurrency, mode, round: r, n: res.n, totalMs: round1(res.totalMs), submitMs: round1(res.submitMs), tasksPerSec: round(rate, 0),
            cpuMsPerTask: { all: round(cpuMs.reduce((a, b) => a + b, 0) / res.n, 3), coordinator: round(cpuMs[0] / res.n, 3) },
            storeCommitsPerTask: res.commits === undefined ? null : round(res.commits / res.n, 2) });
          log(`  throughput ${system} ${mode} workers=${workers}: ${round(rate, 0)} tasks/s (n=${res.n})`);
        }
      }
    }
  } finally {
    await stopAll([...sims, bull, bullProducer]);
  }
  return runs;
}

const round1 = (x) => round(x, 1);

/** Median over rounds per (system, durability, workers, mode), with the ours ÷ BullMQ ratio. */
export function aggregate(runs) {
  const groups = new Map();
  for (const r of runs) {
    const key = `${r.durability}|${r.appendfsync}|${r.workers}|${r.mode}`;
    const g = groups.get(key) ?? { durability: r.durability, appendfsync: r.appendfsync, workers: r.workers, concurrency: r.concurrency, mode: r.mode, bitacora: [], bullmq: [], commits: [], cpu: { bitacora: [], bullmq: [] }, coord: { bitacora: [], bullmq: [] }, n: { bitacora: 0, bullmq: 0 } };
    g[r.system].push(r.tasksPerSec);
    g.cpu[r.system].push(r.cpuMsPerTask.all);
    g.coord[r.system].push(r.cpuMsPerTask.coordinator);
    if (r.system === 'bitacora' && r.storeCommitsPerTask !== null) g.commits.push(r.storeCommitsPerTask);
    g.n[r.system] += r.n;
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => {
    const ours = median(g.bitacora);
    const bull = median(g.bullmq);
    return {
      durability: g.durability, appendfsync: g.appendfsync, workers: g.workers, concurrency: g.concurrency, mode: g.mode,
      bitacoraTasksPerSec: round(ours, 0), bullmqTasksPerSec: round(bull, 0), ratio: ours && bull ? round(ours / bull, 2) : null,
      cpuMsPerTask: {
        bitacora: { all: round(median(g.cpu.bitacora), 3), master: round(median(g.coord.bitacora), 3) },
        bullmq: { all: round(median(g.cpu.bullmq), 3), redis: round(median(g.coord.bullmq), 3) },
      },
      rounds: g.bitacora.length, tasks: g.n, bitacoraStoreCommitsPerTask: g.commits.length ? round(median(g.commits), 2) : null,
    };
  });
}
