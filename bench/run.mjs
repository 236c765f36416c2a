#!/usr/bin/env node
// The benchmark suite of issue 5. `npm run bench` (build first, then this) runs the full
// suite; `-- --quick` a short one (< 2 min), `-- --smoke` a tiny one for the CI smoke test.
// Options: --only=peer,recovery,connected,scaling,atomic  --out=DIR (default bench/results)
//          --profile (masters and the atomic child run under --cpu-prof; summaries in the JSON)
// Results: <out>/<mode-prefix>latest.{json,md,svg} and a timestamped copy in <out>/history/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child, removeTempDirs } from './lib/proc.mjs';
import { diskProbe } from './lib/disk.mjs';
import { redisServerPath, redisVersion } from './lib/redis.mjs';
import { checkTargets, markdown, svg } from './lib/report.mjs';
import { summarizeProfile } from './lib/profile-summary.mjs';
import { runPeer } from './suites/peer.mjs';
import { runRecovery } from './suites/recovery.mjs';
import { runConnected } from './suites/connected.mjs';
import { runScaling } from './suites/scaling.mjs';
import { runAtomic } from './suites/atomic.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const PRESETS = {
  full: {
    peer: {
      pairs: [{ durability: 'full', appendfsync: 'always', rounds: 2 }, { durability: 'normal', appendfsync: 'everysec', rounds: 2 }],
      workers: [1, 2, 4], concurrency: 16, latencyN: 1000, latencyBlocks: 4, warmupN: 30, durationMs: 5000, batchSize: 200, maxOutstanding: 400,
    },
    recovery: {
      rounds: 5,
      variants: [{ label: 'defaults', settings: {} }, { label: 'fast', settings: { heartbeatIntervalMs: 300, missedHeartbeats: 3, reconnectGraceMs: 300, selfFenceAfterMs: 5000 } }],
    },
    connected: {
      runs: [{ agents: 100, durability: 'full' }, { agents: 1000, durability: 'full' }, { agents: 5000, durability: 'full' }],
      windowMs: 15_000, settleMs: 3000, probes: 5, agentsPerProc: 1250, maxProcs: 4, connectTimeoutMs: 240_000,
    },
    scaling: { workers: [1, 2, 4, 8, 16], taskMs: 10, durationMs: 5000, durabilities: ['full', 'normal'] },
    atomic: { n: 300, variants: [{ durability: 'full', hooks: 'in-process' }, { durability: 'normal', hooks: 'in-process' }, { durability: 'full', hooks: 'shell' }] },
  },
  quick: {
    peer: {
      pairs: [{ durability: 'full', appendfsync: 'always', rounds: 1 }],
      workers: [1, 4], concurrency: 16, latencyN: 200, latencyBlocks: 2, warmupN: 10, durationMs: 1000, batchSize: 100, maxOutstanding: 200,
    },
    recovery: { rounds: 1, variants: [{ label: 'defaults', settings: {} }] },
    connected: { runs: [{ agents: 100, durability: 'full' }], windowMs: 2500, settleMs: 800, probes: 4, agentsPerProc: 500, maxProcs: 2, connectTimeoutMs: 10_000 },
    scaling: { workers: [1, 4, 16], taskMs: 10, durationMs: 800, durabilities: ['full'] },
    atomic: { n: 30, variants: [{ durability: 'full', hooks: 'in-process' }, { durability: 'full', hooks: 'shell' }] },
  },
  smoke: {
    peer: {
      pairs: [{ durability: 'full', appendfsync: 'always', rounds: 1 }],
      workers: [1, 2], concurrency: 4, latencyN: 20, latencyBlocks: 2, warmupN: 3, durationMs: 300, batchSize: 50, maxOutstanding: 100,
    },
    // Shorter failure detection than the defaults, to keep the CI smoke test short.
    recovery: { rounds: 1, variants: [{ label: 'fast', settings: { heartbeatIntervalMs: 500, missedHeartbeats: 4, reconnectGraceMs: 500, selfFenceAfterMs: 4000 } }] },
    connected: { runs: [{ agents: 20, durability: 'full' }], windowMs: 1000, settleMs: 500, probes: 2, agentsPerProc: 20, maxProcs: 1, connectTimeoutMs: 60_000 },
    scaling: { workers: [1, 2], taskMs: 10, durationMs: 300, durabilities: ['full'] },
    atomic: { n: 10, variants: [{ durability: 'full', hooks: 'in-process' }] },
  },
};

const SUITES = ['peer', 'recovery', 'connected', 'scaling', 'atomic'];

function parseArgs(argv) {
  const args = { mode: 'full', only: SUITES, out: join(ROOT, 'bench', 'results'), profile: false, defaultOut: true };
  for (const a of argv) {
    if (a === '--quick') args.mode = 'quick';
    else if (a === '--smoke') args.mode = 'smoke';
    else if (a === '--profile') args.profile = true;
    else if (a.startsWith('--only=')) args.only = a.slice(7).split(',').filter(Boolean);
    else if (a.startsWith('--out=')) (args.out = a.slice(6)), (args.defaultOut = false);
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run bench [-- --quick | --smoke] [--only=peer,recovery,connected,scaling,atomic] [--out=DIR] [--profile]\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  for (const s of args.only) if (!SUITES.includes(s)) throw new Error(`unknown suite ${s}; one of ${SUITES.join(', ')}`);
  return args;
}

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function machineInfo(argv) {
  const redis = redisServerPath();
  const viaNpm = process.env.npm_lifecycle_event === 'bench';
  return {
    date: new Date().toISOString(),
    command: viaNpm ? `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}` : `node bench/run.mjs ${argv.join(' ')}`.trim(),
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()}`,
    node: process.version,
    gitCommit: sh('git', ['rev-parse', 'HEAD']) ?? 'unknown',
    gitDirty: (sh('git', ['status', '--porcelain']) ?? '') !== '',
    tmpFs: sh('sh', ['-c', `df -T ${JSON.stringify(tmpdir())} | awk 'NR==2 {print $2}'`]) ?? 'unknown',
    loadAvgStart: loadavg().map((x) => Math.round(x * 100) / 100),
    redis: redis ? redisVersion(redis) : null,
    bullmq: pkgVersion('bullmq'),
    ioredis: pkgVersion('ioredis'),
  };
}

function stamp(date) {
  return date.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export async function main(argv = process.argv.slice(2)) {
  const args = parseArgs(argv);
  if (!existsSync(join(ROOT, 'dist', 'bin', 'master.js'))) throw new Error('dist/ is missing: run `npm run build` first (`npm run bench` does)');
  const preset = PRESETS[args.mode];
  const started = Date.now();
  const log = (s) => process.stderr.write(`${s}\n`);
  const results = { mode: args.mode, machine: machineInfo(argv), config: preset, errors: [] };
  results.machine.disk = diskProbe();
  const profileDir = args.profile ? join(args.out, 'profiles', `${args.mode}-${stamp(results.machine.date)}`) : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  log(`bench ${args.mode}: ${args.only.join(', ')} — ${results.machine.cores} cores, load ${results.machine.loadAvgStart.join(' ')}`);

  const run = async (name, fn) => {
    if (!args.only.includes(name)) return;
    const t = Date.now();
    log(`▶ ${name}`);
    try {
      results[name] = await fn();
    } catch (err) {
      log(`✗ ${name}: ${err.stack ?? err}`);
      results.errors.push({ suite: name, message: String(err.message ?? err).slice(0, 2000) });
    } finally {
      Child.killAll();
    }
    log(`  ${name} took ${Math.round((Date.now() - t) / 1000)} s`);
  };

  const withProfile = (cfg) => ({ ...cfg, profileDir });
  await run('peer', () => (redisServerPath() ? runPeer(withProfile(preset.peer), log) : { skipped: 'redis-server not found (apt-get install -y redis-server)' }));
  await run('atomic', () => runAtomic(preset.atomic, log, profileDir));
  await run('scaling', () => runScaling(withProfile(preset.scaling), log));
  await run('recovery', () => runRecovery(preset.recovery, log));
  await run('connected', () => runConnected(withProfile(preset.connected), log));

  results.machine.loadAvgEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  results.durationMs = Date.now() - started;
  results.targets = checkTargets(results);
  if (profileDir) {
    results.profiles = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => ({ file: join(profileDir, f), ...summarizeProfile(join(profileDir, f), 15) }));
  }
  removeTempDirs();

  mkdirSync(join(args.out, 'history'), { recursive: true });
  const prefix = args.mode === 'full' ? '' : `${args.mode}-`;
  const files = { json: `${JSON.stringify(results, null, 2)}\n`, md: markdown(results), svg: svg(results) };
  const written = [];
  for (const [ext, content] of Object.entries(files)) {
    const latest = join(args.out, `${prefix}latest.${ext}`);
    writeFileSync(latest, content);
    writeFileSync(join(args.out, 'history', `${args.mode}-${stamp(results.machine.date)}.${ext}`), content);
    written.push(latest);
  }
  if (args.mode === 'full' && args.defaultOut) {
    const doc = updateBenchmarksDoc(files.md);
    if (doc) written.push(doc);
  }
  log(`\n${files.md}`);
  log(`results: ${written.join(', ')} (and history/)`);
  return { results, written, failed: results.errors.length > 0 };
}

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

/** Replaces the generated part of BENCHMARKS.md (between the markers) with the latest full run. */
function updateBenchmarksDoc(md) {
  const file = join(ROOT, 'BENCHMARKS.md');
  if (!existsSync(file)) return null;
  const doc = readFileSync(file, 'utf8');
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) return null;
  // One heading level down, and without the report's own title: it sits under a section here.
  const body = md.split('\n').filter((l) => !l.startsWith('# ')).map((l) => (l.startsWith('#') ? `#${l}` : l)).join('\n').trim();
  const chart = '![Throughput against BullMQ and scaling efficiency](bench/results/latest.svg)';
  writeFileSync(file, `${doc.slice(0, a + START.length)}\n<!-- generated by npm run bench from bench/results/latest.json; edit outside the markers -->\n\n${chart}\n\n${body}\n\n${doc.slice(b)}`);
  return file;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const cleanup = () => Child.killAll();
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  main().then(
    ({ failed }) => process.exit(failed ? 1 : 0),
    (err) => {
      cleanup();
      process.stderr.write(`${err.stack ?? err}\n`);
      process.exit(1);
    },
  );
}
