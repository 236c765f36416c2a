// Benchmark 5: connected nodes. N simulated agents (real gRPC streams over TLS, 1 s
// heartbeats, many per process, a few processes) against one fresh master per N; over a
// steady-state window we read the master's CPU time and RSS from /proc, its event-loop
// delay, and the heartbeat round trip of a few probe agents in a process of their own.
import { cpuShare, procSample, sleep } from '../lib/proc.mjs';
import { startMaster, startSims, stopAll } from '../lib/fleet.mjs';
import { round, summarize } from '../lib/stats.mjs';

/**
 * cfg: { runs: [{ agents, durability }], windowMs, settleMs, probes, agentsPerProc, maxProcs,
 *        connectTimeoutMs } — joining stops at connectTimeoutMs and the window measures the
 *        agents connected by then (reported), so a master that cannot take N still yields data.
 */
export async function runConnected(cfg, log) {
  const rows = [];
  for (const { agents: count, durability } of cfg.runs) {
    const fleet = await startMaster({ durability, name: `master-connected-${count}`, profileDir: cfg.profileDir });
    const children = [fleet.master];
    try {
      const idle = procSample(fleet.info.pid);
      const procs = Math.min(cfg.maxProcs, Math.max(1, Math.ceil(count / cfg.agentsPerProc)));
      const t0 = Date.now();
      const { sims, ready } = await startSims(fleet, { count, procs, prefix: `n${count}${durability[0]}`, connectConcurrency: 24, wait: false, timeoutMs: cfg.connectTimeoutMs + 120_000 });
      children.push(...sims);
      const timedOut = await Promise.race([ready.then(() => false), sleep(cfg.connectTimeoutMs).then(() => true)]);
      if (timedOut) {
        log(`  connected ${count}: joining stopped after ${cfg.connectTimeoutMs / 1000} s`);
        await Promise.all(sims.map((s) => s.call('stopConnecting')));
        await ready;
      }
      const connectMs = Date.now() - t0;
      const { sims: probes } = await startSims(fleet, { count: cfg.probes, procs: 1, prefix: `probe${count}${durability[0]}`, probe: true });
      children.push(...probes);
      await sleep(cfg.settleMs);
      const atStart = await Promise.all(sims.map((s) => s.call('counters')));
      await probes[0].call('probeReset');
      await fleet.master.call('eldStart');
      const a = procSample(fleet.info.pid);
      await sleep(cfg.windowMs);
      const b = procSample(fleet.info.pid);
      const eld = await fleet.master.call('eldStop');
      const rtts = await probes[0].call('probeDump');
      const atEnd = await Promise.all(sims.map((s) => s.call('counters')));
      const sum = (list, f) => list.reduce((acc, c) => acc + c[f], 0);
      const status = await fleet.master.call('status');
      const row = {
        agents: count, durability, simProcesses: procs, probes: cfg.probes,
        joined: sum(atStart, 'working') + sum(atStart, 'closedAfterWelcome'), joinTimedOut: timedOut, connectMs,
        joinsPerSec: round(((sum(atStart, 'working') + sum(atStart, 'closedAfterWelcome')) / connectMs) * 1000, 1),
        connectedAtWindowStart: sum(atStart, 'working'), connectedAtWindowEnd: sum(atEnd, 'working'),
        streamsLost: sum(atEnd, 'closedAfterWelcome'), nodesDownAtEnd: status.nodes.down,
        windowMs: cfg.windowMs,
        masterCpuShareOfOneCore: round(cpuShare(a, b), 3),
        masterRssMiB: round(b.rssBytes / 2 ** 20, 1),
        masterRssIdleMiB: round(idle.rssBytes / 2 ** 20, 1),
        heartbeatRttMs: summarize(rtts),
        eventLoopDelayMs: eld,
      };
      rows.push(row);
      log(`  connected ${count} (${durability}): ${row.connectedAtWindowEnd} streams up; master CPU ${round(row.masterCpuShareOfOneCore * 100, 1)} % of a core, RSS ${row.masterRssMiB} MiB, heartbeat RTT p99 ${row.heartbeatRttMs.p99} ms (n=${row.heartbeatRttMs.n}), ${row.streamsLost} streams lost`);
    } finally {
      await stopAll(children.reverse());
    }
  }
  return rows;
}
