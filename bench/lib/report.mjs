// Turns a results object into the targets check, a Markdown report and an SVG chart.

const fmt = (x, digits = 1) => (x === null || x === undefined ? '—' : Number(x).toLocaleString('en-US', { maximumFractionDigits: digits }));
const pct = (x) => (x === null || x === undefined ? '—' : `${fmt(x * 100, 1)} %`);

/** The design targets of issue 5, checked against what this run measured (never asserted). */
export function checkTargets(r) {
  const t = [];
  const add = (target, measured, met, note) => t.push({ target, measured, met, note });
  const lat = r.peer?.latency?.find((x) => x.system === 'bitacora' && x.durability === 'full');
  if (lat) {
    add('dispatch p50 ≤ 1 ms', `${fmt(lat.dispatchMs.p50, 2)} ms`, lat.dispatchMs.p50 <= 1, lat.dispatchMs.p50 > 1 ? `${fmt(lat.dispatchMs.p50 / 1, 1)}× the target` : '');
    add('dispatch p99 ≤ 5 ms', `${fmt(lat.dispatchMs.p99, 2)} ms`, lat.dispatchMs.p99 <= 5, lat.dispatchMs.p99 > 5 ? `${fmt(lat.dispatchMs.p99 / 5, 1)}× the target` : '');
  }
  const tp = r.peer?.throughput ?? [];
  const fullTp = tp.filter((x) => x.durability === 'full');
  if (fullTp.length) {
    const best = Math.max(...fullTp.map((x) => x.bitacoraTasksPerSec ?? 0));
    add('≥ 10,000 tasks/s (durable, synchronous=FULL)', `${fmt(best, 0)} tasks/s (best of 1/2/4 workers, both modes)`, best >= 10_000, best < 10_000 ? `${fmt(10_000 / best, 1)}× short` : '');
    const worst = fullTp.reduce((a, x) => (a === null || (x.ratio ?? Infinity) < a.ratio ? x : a), null);
    const minRatio = worst?.ratio ?? null;
    add('≥ 2× BullMQ at equal workers and durability', `${fmt(minRatio, 2)}× at worst (${worst?.mode}, ${worst?.workers} worker(s)); ${fullTp.map((x) => `${x.mode} ${x.workers}w ${fmt(x.ratio, 2)}×`).join(', ')}`, minRatio !== null && minRatio >= 2, minRatio !== null && minRatio < 2 ? `${fmt(2 / Math.max(minRatio, 1e-9), 1)}× short of 2×` : '');
  }
  const normalTp = tp.filter((x) => x.durability === 'normal');
  if (normalTp.length) {
    const best = Math.max(...normalTp.map((x) => x.bitacoraTasksPerSec ?? 0));
    add('(for reference) ≥ 10,000 tasks/s at durability normal', `${fmt(best, 0)} tasks/s`, best >= 10_000, best < 10_000 ? `${fmt(10_000 / best, 1)}× short` : '');
  }
  const rec = (signal) => r.recovery?.find((x) => x.variant === 'defaults' && x.signal === signal);
  const kill = rec('SIGKILL');
  if (kill) add('recovery ≤ 1 s after SIGKILL (default settings)', `p50 ${fmt(kill.totalMs.p50, 0)} ms, max ${fmt(kill.totalMs.max, 0)} ms`, kill.totalMs.max <= 1000, kill.totalMs.p50 > 1000 ? `+${fmt(kill.totalMs.p50 - 1000, 0)} ms at p50` : '');
  const stop = rec('SIGSTOP');
  if (stop) add('recovery ≤ 5 s after SIGSTOP (default settings)', `p50 ${fmt(stop.totalMs.p50, 0)} ms, max ${fmt(stop.totalMs.max, 0)} ms`, stop.totalMs.max <= 5000, stop.totalMs.max > 5000 ? `+${fmt(stop.totalMs.max - 5000, 0)} ms at max` : '');
  const conn = (r.connected ?? []).filter((x) => x.durability === 'full');
  const big = conn.reduce((a, x) => (a === null || x.agents > a.agents ? x : a), null);
  if (big) {
    const held = big.connectedAtWindowEnd;
    const met = big.agents >= 5000 ? held >= 5000 && big.streamsLost === 0 && big.masterCpuShareOfOneCore < 1 : null;
    const note = big.agents < 5000 ? 'largest N in this mode is smaller' : held < big.agents ? `only ${fmt(held, 0)} of ${fmt(big.agents, 0)} agents connected (${big.streamsLost} lost)` : big.masterCpuShareOfOneCore >= 1 ? `${fmt(big.masterCpuShareOfOneCore, 2)}× one core` : '';
    add('5,000 agents under one core (durability FULL)', `${fmt(held, 0)} of ${fmt(big.agents, 0)} connected at the end of the window; master ${pct(big.masterCpuShareOfOneCore)} of one core; heartbeat RTT p99 ${fmt(big.heartbeatRttMs.p99, 0)} ms`, met, note);
  }
  const sc = (r.scaling ?? []).filter((x) => x.durability === 'full');
  for (const [workers, goal] of [[4, 0.9], [16, 0.75]]) {
    const row = sc.find((x) => x.workers === workers);
    if (row) add(`scaling efficiency ≥ ${goal * 100} % at ${workers} workers`, pct(row.efficiency), row.efficiency >= goal, row.efficiency < goal ? `${fmt((goal - row.efficiency) * 100, 1)} points short` : '');
  }
  const at = r.atomic?.find((x) => x.durability === 'full' && x.hooks === 'in-process');
  if (at) add('atomic action ≤ 5 ms beyond its hooks (local path)', `p50 ${fmt(at.beyondHooksMs.p50, 2)} ms, p99 ${fmt(at.beyondHooksMs.p99, 2)} ms`, at.beyondHooksMs.p50 <= 5, at.beyondHooksMs.p50 > 5 ? `+${fmt(at.beyondHooksMs.p50 - 5, 2)} ms at p50` : '');
  return t;
}

const lat = (s) => `${fmt(s.p50, 2)} / ${fmt(s.p95, 2)} / ${fmt(s.p99, 2)}`;

export function markdown(r) {
  const m = r.machine;
  const lines = [];
  lines.push(`# Benchmark results (${r.mode})`, '');
  lines.push(`Command: \`${m.command}\` · ${m.date} · commit \`${m.gitCommit}\`${m.gitDirty ? ' (+ uncommitted changes)' : ''}`, '');
  lines.push(`Machine: ${m.cores} × ${m.cpuModel}, ${fmt(m.memoryGiB, 1)} GiB, ${m.os}, Node ${m.node}; temp dir on ${m.tmpFs}; load average at start ${m.loadAvgStart.join(' / ')}, at end ${m.loadAvgEnd?.join(' / ') ?? '—'}. Peer: redis-server ${m.redis ?? 'not found'}, bullmq ${m.bullmq}, ioredis ${m.ioredis}.`, '');
  if (m.disk) lines.push(`Disk: a durable SQLite commit (WAL, synchronous=FULL, one small row) takes p50 ${fmt(m.disk.sqliteFullCommitMs.p50, 2)} ms / p99 ${fmt(m.disk.sqliteFullCommitMs.p99, 2)} ms here — about ${fmt(m.disk.commitsPerSecAtP50, 0)} commits/s from one writer.`, '');
  lines.push('All processes on this one machine, on 127.0.0.1. Percentiles are nearest-rank; n = samples. Latencies in ms.', '');

  if (r.targets?.length) {
    lines.push('## Targets (issue 5 — reported, never asserted)', '', '| target | measured | met | by how much |', '|---|---|---|---|');
    for (const t of r.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} | ${t.note || ''} |`);
    lines.push('');
  }
  if (r.peer?.skipped) lines.push(`## 1–3. Dispatch, throughput, peer comparison`, '', `Skipped: ${r.peer.skipped}`, '');
  if (r.peer?.latency?.length) {
    lines.push('## 1. Dispatch latency: submit → task starts on an idle worker', '');
    lines.push(`One worker (${r.peer.latency[0].concurrency} slots), one task at a time; blocks alternate between the systems. Ours: \`submitTask\` inside the master process (persisted before it returns) → the simulated agent receives \`executeTask\`. BullMQ: \`queue.add\` from a producer process → the worker's processor is called.`, '');
    lines.push('| system | durability | dispatch p50 / p95 / p99 | submit acknowledged p50 / p95 / p99 | n | store commits per task |', '|---|---|---|---|---|---|');
    for (const x of r.peer.latency) lines.push(`| ${x.system} | ${x.system === 'bitacora' ? `synchronous=${x.durability.toUpperCase()}` : `AOF appendfsync ${x.appendfsync}`} | ${lat(x.dispatchMs)} | ${lat(x.submitAckMs)} | ${x.dispatchMs.n} | ${x.storeCommitsPerTask ?? '—'} |`);
    lines.push('');
  }
  if (r.peer?.throughput?.length) {
    lines.push('## 2–3. Throughput of no-op tasks, and BullMQ in the same run', '');
    lines.push(`Workers are simulated agents (real gRPC streams) that complete \`executeTask\` at once — no process is spawned — each with ${r.peer.throughput[0].concurrency} slots; BullMQ workers have the same concurrency and a processor that returns at once. One-by-one: one durable submission per task, each acknowledged before the next. Batch: \`submitTasks\` / \`addBulk\` of ${r.config.peer.batchSize}. Each run is time-boxed (${fmt(r.config.peer.durationMs / 1000, 1)} s of submitting) and timed from the first submission to the last completion; the median of the rounds (alternating which system goes first) is shown.`, '');
    lines.push('"Commits per task": our store\'s write transactions per task (each an fsync under FULL), counted in the master — a number that does not depend on the disk.', '');
    lines.push('"CPU ms per task": CPU time (user + system, from /proc) of all the system\'s processes ÷ tasks — Bitácora: master + simulated agents; BullMQ: redis-server + producer + workers — and in brackets the coordinating process alone (our master; redis-server). Unlike rates, it barely depends on what else the machine is doing.', '');
    lines.push('| durability (ours ↔ redis) | workers | submission | Bitácora tasks/s | BullMQ tasks/s | ratio | rounds | our commits per task | CPU ms per task: Bitácora (master) | BullMQ (redis) |', '|---|---|---|---|---|---|---|---|---|---|');
    for (const x of r.peer.throughput) lines.push(`| ${x.durability.toUpperCase()} ↔ ${x.appendfsync} | ${x.workers} | ${x.mode} | ${fmt(x.bitacoraTasksPerSec, 0)} | ${fmt(x.bullmqTasksPerSec, 0)} | ${fmt(x.ratio, 2)}× | ${x.rounds} | ${fmt(x.bitacoraStoreCommitsPerTask, 2)} | ${fmt(x.cpuMsPerTask?.bitacora.all, 2)} (${fmt(x.cpuMsPerTask?.bitacora.master, 2)}) | ${fmt(x.cpuMsPerTask?.bullmq.all, 2)} (${fmt(x.cpuMsPerTask?.bullmq.redis, 2)}) |`);
    lines.push('');
  }
  if (r.recovery?.length) {
    lines.push('## 4. Failure recovery (real agent processes)', '');
    lines.push('A `sleep` task runs on the victim agent; a second agent is idle. Time from the signal to the task\'s next attempt reported running on the survivor (process spawned). Breakdown: medians of when the master declared the node down, requeued the task, assigned it again.', '');
    lines.push('| settings | signal | total p50 / p95 / max | n | node down | requeued | reassigned |', '|---|---|---|---|---|---|---|');
    for (const x of r.recovery) {
      const s = Object.keys(x.settings).length ? Object.entries(x.settings).map(([k, v]) => `${k}=${v}`).join(', ') : 'defaults (heartbeat 1000 ms × 3 missed, reconnect grace 2000 ms)';
      lines.push(`| ${s} | ${x.signal} | ${fmt(x.totalMs.p50, 0)} / ${fmt(x.totalMs.p95, 0)} / ${fmt(x.totalMs.max, 0)} | ${x.totalMs.n} | ${fmt(x.breakdownMedianMs.nodeDown, 0)} | ${fmt(x.breakdownMedianMs.requeued, 0)} | ${fmt(x.breakdownMedianMs.assigned, 0)} |`);
    }
    lines.push('');
  }
  if (r.connected?.length) {
    lines.push('## 5. Connected nodes', '');
    lines.push(`Simulated agents, each its own TLS connection and gRPC stream (enrolled with a node certificate and reconnected with mutual TLS when the build issues certificates), heartbeating every 1 s, up to ${r.config.connected.agentsPerProc} per process. Joining stops after ${fmt(r.config.connected.connectTimeoutMs / 1000, 0)} s; the window (${fmt(r.config.connected.windowMs / 1000, 0)} s) then measures whoever is connected. CPU share = master CPU time ÷ wall time over the window (100 % = one core). Heartbeat RTT: probe agents (own process) claim a non-existent task in each heartbeat; the master answers with voidTasks — the time an agent waits for its heartbeat to be handled. "Lost": streams the master closed (node declared down) after they had joined.`, '');
    lines.push('| agents asked | durability | joined (s to join, joins/s) | connected in window | master CPU (of one core) | master RSS MiB | heartbeat RTT p50 / p95 / p99 | n | event-loop delay p99 / max | lost | nodes down |', '|---|---|---|---|---|---|---|---|---|---|---|');
    for (const x of r.connected) lines.push(`| ${fmt(x.agents, 0)} | ${x.durability.toUpperCase()} | ${fmt(x.joined, 0)}${x.joinTimedOut ? ' (stopped)' : ''} (${fmt(x.connectMs / 1000, 0)} s, ${fmt(x.joinsPerSec, 1)}/s) | ${fmt(x.connectedAtWindowStart, 0)} → ${fmt(x.connectedAtWindowEnd, 0)} | ${pct(x.masterCpuShareOfOneCore)} | ${fmt(x.masterRssMiB, 0)} | ${lat(x.heartbeatRttMs)} | ${x.heartbeatRttMs.n} | ${fmt(x.eventLoopDelayMs?.p99, 1)} / ${fmt(x.eventLoopDelayMs?.max, 1)} | ${x.streamsLost} | ${x.nodesDownAtEnd} |`);
    lines.push('');
  }
  if (r.scaling?.length) {
    lines.push('## 6. Scaling efficiency (10 ms tasks)', '');
    lines.push('Simulated agents with one slot each that wait 10 ms between taskStarted and taskFinished. Efficiency = throughput(N) ÷ (N × throughput(1)); "of ideal" = throughput ÷ (N × 100/s).', '');
    lines.push('| durability | workers | tasks/s | efficiency | of ideal | n | commits per task |', '|---|---|---|---|---|---|---|');
    for (const x of r.scaling) lines.push(`| ${x.durability.toUpperCase()} | ${x.workers} | ${fmt(x.tasksPerSec, 0)} | ${pct(x.efficiency)} | ${pct(x.ofIdeal)} | ${x.n} | ${fmt(x.storeCommitsPerTask, 2)} |`);
    lines.push('');
  }
  if (r.atomic?.length) {
    lines.push('## 7. Atomic action — LOCAL path', '');
    lines.push('Cross-node two-phase commit does not exist yet, so this is the engine\'s local `AtomicAction` on a real SQLite file: an action naming 3 participants (recorded, not contacted), validate none, prepare and commit hooks trivial; every phase is persisted before it acts. "in-process" hooks return at once (the engine alone); "shell" hooks run `true` through the real ProcessRunner.', '');
    lines.push('| durability | hooks | total p50 / p95 / p99 | hooks p50 | beyond hooks p50 / p95 / p99 | n | store commits per action |', '|---|---|---|---|---|---|---|');
    for (const x of r.atomic) lines.push(`| ${x.durability.toUpperCase()} | ${x.hooks} | ${lat(x.totalMs)} | ${fmt(x.hookMs.p50, 2)} | ${lat(x.beyondHooksMs)} | ${x.totalMs.n} | ${x.storeCommitsPerAction ?? '—'} |`);
    lines.push('');
  }
  if (r.errors?.length) {
    lines.push('## Errors', '');
    for (const e of r.errors) lines.push(`- ${e.suite}: ${e.message}`);
    lines.push('');
  }
  lines.push(`Wall time of the suite: ${fmt(r.durationMs / 1000, 0)} s.`, '');
  return lines.join('\n');
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Two panels: throughput (ours vs BullMQ, log scale) and scaling efficiency. */
export function svg(r) {
  const W = 960;
  const H = 420;
  const parts = [];
  const text = (x, y, s, opts = '') => parts.push(`<text x="${x}" y="${y}" ${opts}>${esc(s)}</text>`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  text(W / 2, 24, `Bitácora Fleet benchmarks (${r.mode}) — ${r.machine.date.slice(0, 10)}, ${r.machine.cores} cores, commit ${r.machine.gitCommit.slice(0, 8)}`, 'text-anchor="middle" font-size="15" font-weight="bold"');

  // Panel 1: throughput at durability FULL ↔ appendfsync always.
  const tp = (r.peer?.throughput ?? []).filter((x) => x.durability === 'full');
  const p1 = { x: 60, y: 60, w: 520, h: 290 };
  text(p1.x + p1.w / 2, 48, 'No-op throughput, tasks/s (log scale) — synchronous=FULL vs appendfsync always', 'text-anchor="middle" font-size="12"');
  const max = Math.max(10, ...tp.flatMap((x) => [x.bitacoraTasksPerSec ?? 0, x.bullmqTasksPerSec ?? 0]), 10_000);
  const logY = (v) => p1.y + p1.h - (Math.log10(Math.max(v, 1)) / Math.log10(max * 1.2)) * p1.h;
  for (const tick of [1, 10, 100, 1000, 10_000, 100_000].filter((t) => t <= max * 1.2)) {
    const y = logY(tick);
    parts.push(`<line x1="${p1.x}" x2="${p1.x + p1.w}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    text(p1.x - 6, y + 4, fmt(tick, 0), 'text-anchor="end" font-size="10"');
  }
  const target = logY(10_000);
  parts.push(`<line x1="${p1.x}" x2="${p1.x + p1.w}" y1="${target}" y2="${target}" stroke="#c00" stroke-dasharray="4 3"/>`);
  text(p1.x + p1.w - 4, target - 4, 'target 10,000/s', 'text-anchor="end" font-size="10" fill="#c00"');
  const groupW = tp.length ? p1.w / tp.length : p1.w;
  tp.forEach((x, i) => {
    const gx = p1.x + i * groupW;
    const bw = Math.min(28, groupW / 3);
    [['bitacora', x.bitacoraTasksPerSec, '#2a6fdb'], ['bullmq', x.bullmqTasksPerSec, '#e8912d']].forEach(([, v, color], j) => {
      if (v === null) return;
      const y = logY(v);
      const bx = gx + groupW / 2 - bw + j * bw;
      parts.push(`<rect x="${bx}" y="${y}" width="${bw - 2}" height="${p1.y + p1.h - y}" fill="${color}"/>`);
      text(bx + bw / 2 - 1, y - 3, fmt(v, 0), 'text-anchor="middle" font-size="9"');
    });
    text(gx + groupW / 2, p1.y + p1.h + 14, `${x.workers}w ${x.mode === 'batch' ? 'batch' : '1-by-1'}`, 'text-anchor="middle" font-size="10"');
    text(gx + groupW / 2, p1.y + p1.h + 26, `${fmt(x.ratio, 2)}×`, 'text-anchor="middle" font-size="10" fill="#555"');
  });
  parts.push(`<rect x="${p1.x}" y="${H - 36}" width="10" height="10" fill="#2a6fdb"/>`);
  text(p1.x + 14, H - 27, 'Bitácora (SQLite FULL)', 'font-size="11"');
  parts.push(`<rect x="${p1.x + 160}" y="${H - 36}" width="10" height="10" fill="#e8912d"/>`);
  text(p1.x + 174, H - 27, 'BullMQ (Redis AOF always)', 'font-size="11"');
  text(p1.x + 340, H - 27, 'ratio = Bitácora ÷ BullMQ', 'font-size="11" fill="#555"');

  // Panel 2: scaling efficiency.
  const sc = (r.scaling ?? []).filter((x) => x.durability === 'full');
  const p2 = { x: 660, y: 60, w: 270, h: 290 };
  text(p2.x + p2.w / 2, 48, 'Scaling efficiency, 10 ms tasks (FULL)', 'text-anchor="middle" font-size="12"');
  const effY = (v) => p2.y + p2.h - Math.min(1.1, Math.max(0, v)) / 1.1 * p2.h;
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const y = effY(tick);
    parts.push(`<line x1="${p2.x}" x2="${p2.x + p2.w}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    text(p2.x - 6, y + 4, `${tick * 100}%`, 'text-anchor="end" font-size="10"');
  }
  for (const [goal, label] of [[0.9, '90 % @4'], [0.75, '75 % @16']]) {
    const y = effY(goal);
    parts.push(`<line x1="${p2.x}" x2="${p2.x + p2.w}" y1="${y}" y2="${y}" stroke="#c00" stroke-dasharray="4 3"/>`);
    text(p2.x + p2.w - 2, y - 3, label, 'text-anchor="end" font-size="9" fill="#c00"');
  }
  const sw = sc.length ? p2.w / sc.length : p2.w;
  sc.forEach((x, i) => {
    const v = x.efficiency ?? 0;
    const y = effY(v);
    const bx = p2.x + i * sw + sw * 0.2;
    parts.push(`<rect x="${bx}" y="${y}" width="${sw * 0.6}" height="${p2.y + p2.h - y}" fill="#2a6fdb"/>`);
    text(bx + sw * 0.3, y - 3, `${fmt(v * 100, 0)}%`, 'text-anchor="middle" font-size="9"');
    text(bx + sw * 0.3, p2.y + p2.h + 14, `${x.workers}`, 'text-anchor="middle" font-size="10"');
  });
  text(p2.x + p2.w / 2, p2.y + p2.h + 28, 'workers', 'text-anchor="middle" font-size="10"');

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n${parts.join('\n')}\n</svg>\n`;
}
