#!/usr/bin/env node
// Benchmark master: the real composition root (dist/bin/master.js — SQLite backbone, CA, gRPC
// coordinator, REST API) plus a JSON-lines control channel whose operations run the
// workloads *inside* the master process, so submissions go straight to FleetService (the
// way an embedder or the REST handler calls it) and timestamps are taken next to the work.
// argv[2]: JSON { dataDir, httpPort, grpcPort, durability: 'full'|'normal', settings? }
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { emit, now, serve, sleep, tick } from './proc.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const root = new URL('../../dist/', import.meta.url);

const { startMaster } = await import(new URL('bin/master.js', root).href);

const stderr = (level) => (message) => process.stderr.write(`${level} [bench-master] ${message}\n`);
let master;
try {
  master = await startMaster(
    { dataDir: options.dataDir, http: `127.0.0.1:${options.httpPort}`, grpc: `127.0.0.1:${options.grpcPort}`, localWorker: false },
    { settings: options.settings ?? {}, durability: options.durability ?? 'full', log: { info() {}, warn: stderr('warn'), error: stderr('error') } },
  );
} catch (err) {
  emit({ event: 'failed', message: String(err?.stack ?? err) });
  process.exit(2);
}
const { fleet, coordinator, backbone } = master;
// Group commits (one fsync each) as the embedded store's writer counts them.
const commitCount = () => backbone.writerStats?.commits ?? 0;

// ── completion tracking through the fleet's own event stream (published after commit) ──
const finishWaiters = new Map();
let run = null;
let tracked = null;
fleet.subscribe(await backbone.events.latestSeq(), (event) => {
  if (tracked && (tracked.subjects.has(event.subject) || event.type === 'node.status')) tracked.log.push({ t: now(), type: event.type, subject: event.subject, data: event.data });
  if (event.type !== 'task.finished') return;
  const waiter = finishWaiters.get(event.subject);
  if (waiter) {
    finishWaiters.delete(event.subject);
    waiter(now());
  }
  if (run) {
    run.finished++;
    if (run.finished >= run.target) run.resolve(now());
    if (run.wake) {
      const wake = run.wake;
      run.wake = null;
      wake();
    }
  }
});

const NOOP = { command: ['noop'] };
let lastLatencyCommits = null;
let eld = null;

serve({
  info: () => {
    const join = fleet.joinInfo();
    return { pid: process.pid, grpcAddress: join.grpcAddress, caCertPem: join.caCertPem, httpUrl: master.httpUrl, groupCommit: backbone.writerStats !== undefined };
  },

  /** `n` one-time worker join tokens (issued together: the store groups them into few commits). */
  tokens: async (n) => (await Promise.all(Array.from({ length: n }, () => coordinator.createJoinToken({ role: 'worker', ttlMs: 3_600_000, createdBy: 'bench' })))).map((t) => t.token),

  /** Resolves once at least `n` nodes are ready (their hello admitted). */
  waitReady: async (n, timeoutMs = 120_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const ready = (await coordinator.status()).nodes.ready;
      if (ready >= n) return ready;
      if (Date.now() > until) throw new Error(`only ${ready} of ${n} nodes ready after ${timeoutMs} ms`);
      await sleep(50);
    }
  },

  /**
   * Dispatch latency: one task at a time on an idle fleet. Returns per task the submit time
   * (t0), the time submitTask returned (durably acknowledged) and when its finish committed;
   * the driver joins them with the worker's receipt time.
   */
  latency: async ({ n, gapMs = 2 }) => {
    const samples = [];
    const commits0 = commitCount();
    for (let i = 0; i < n; i++) {
      const t0 = now();
      const { task } = await fleet.submitTask(NOOP);
      const acked = now();
      const finished = await new Promise((resolve) => finishWaiters.set(task.id, resolve));
      samples.push({ id: task.id, t0, acked, finished });
      await sleep(gapMs);
    }
    lastLatencyCommits = (commitCount() - commits0) / n;
    return samples;
  },

  /**
   * Throughput, time-boxed: for `durationMs`, no-op tasks are submitted one-by-one (one
   * submitTask call per task, each waiting for its durable acknowledgement before the next —
   * one caller, like the BullMQ producer's awaited `add`; `concurrency` > 1 runs that many
   * such callers) or in batches (submitTasks of
   * `batchSize`, keeping at most `maxOutstanding` unfinished). Then every submitted task is
   * awaited. Timed from the first submission to the last finish committed.
   */
  throughput: async ({ mode, durationMs, batchSize = 200, maxOutstanding = 400, concurrency = 1 }) => {
    let resolveDone;
    const done = new Promise((resolve) => (resolveDone = resolve));
    run = { finished: 0, target: Infinity, resolve: resolveDone, wake: null };
    const t0 = now();
    const commits0 = commitCount();
    let submitted = 0;
    if (mode === 'batch') {
      while (now() - t0 < durationMs) {
        if (submitted - run.finished + batchSize > maxOutstanding) {
          await new Promise((resolve) => (run.wake = resolve));
          continue;
        }
        submitted += batchSize;
        // Not awaited: the next batch is prepared while this one commits (bounded by maxOutstanding).
        fleet.submitTasks(Array.from({ length: batchSize }, () => NOOP)).catch((err) => stderr('error')(`batch refused: ${err.message}`));
        await tick();
      }
    } else {
      const caller = async () => {
        while (now() - t0 < durationMs) {
          submitted++;
          await fleet.submitTask(NOOP);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, caller));
    }
    const submittedAt = now();
    run.target = submitted;
    const finished = run.finished >= submitted ? now() : await done;
    run = null;
    return { n: submitted, submitMs: submittedAt - t0, totalMs: finished - t0, commits: commitCount() - commits0 };
  },

  /** Store commits so far, and per task in the last latency run. */
  commits: () => ({ commits: commitCount(), perTaskInLastLatencyRun: lastLatencyCommits }),

  eldStart: () => {
    eld = monitorEventLoopDelay({ resolution: 1 });
    eld.enable();
    return true;
  },
  eldStop: () => {
    if (!eld) return null;
    eld.disable();
    const ms = (ns) => Math.round((ns / 1e6) * 1000) / 1000;
    const out = { p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max), mean: ms(eld.mean) };
    eld = null;
    return out;
  },

  // ── failure recovery ──
  submit: async (spec) => (await fleet.submitTask(spec)).task,
  getTask: (id) => fleet.getTask(id),
  cancel: (id) => fleet.cancelTask(id, 'benchmark round over'),
  drain: async (name) => (await fleet.drainNode(name)).status,
  undrain: async (name) => (await fleet.undrainNode(name)).status,
  removeNode: (name) => fleet.removeNode(name),
  status: () => coordinator.status(),
  /** Records (with local timestamps) the events about these subjects and every node.status. */
  trace: (subjects) => {
    tracked = { subjects: new Set(subjects), log: [] };
    return true;
  },
  traceLog: () => {
    const log = tracked?.log ?? [];
    tracked = null;
    return log;
  },
  waitEvent: async ({ type, subject, minAttempt = 0, timeoutMs = 30_000 }) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = tracked?.log.find((e) => e.type === type && (subject === undefined || e.subject === subject) && (e.data?.attempt ?? 0) >= minAttempt);
      if (hit) return hit;
      if (Date.now() > until) throw new Error(`no ${type} for ${subject} within ${timeoutMs} ms`);
      await sleep(5);
    }
  },

  close: async () => {
    await master.close();
    setTimeout(() => process.exit(0), 20);
    return true;
  },
});

emit({ event: 'ready', pid: process.pid });
process.on('SIGTERM', () => void master.close().then(() => process.exit(0)));
