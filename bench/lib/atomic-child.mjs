#!/usr/bin/env node
// Benchmark 7, the LOCAL path: cross-node two-phase commit does not exist yet (the protocol
// in src/rpc/messages.ts has no prepare/commit frames), so this times the engine's local
// AtomicAction (src/engine/atomic-action.ts) on a real SQLite backbone: an action naming 3
// participants (recorded on the action, not contacted), trivial hooks, every phase
// persisted before it acts. Hook time is measured inside the runner and reported apart.
// argv[2]: JSON { dir, durability, n, hooks: 'in-process' | 'shell' }
import { join } from 'node:path';
import { emit, now } from './proc.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const root = new URL('../../dist/', import.meta.url);
const { openSqliteBackbone } = await import(new URL('store/sqlite/index.js', root).href);
const { AtomicAction } = await import(new URL('engine/atomic-action.js', root).href);
const { ProcessRunner } = await import(new URL('agent/runner/process-runner.js', root).href);

const backbone = await openSqliteBackbone({ file: join(options.dir, 'atomic.db'), durability: options.durability });
const shell = new ProcessRunner();
let hookMs = 0;
const OK = { exitCode: 0, signal: null, error: null, durationMs: 0, output: '', outputBytes: 0, droppedBytes: 0 };
const runner = {
  async run(request) {
    const t = now();
    const result = options.hooks === 'shell' ? await shell.run(request) : OK;
    hookMs += now() - t;
    return result;
  },
};
// Group commits (one fsync each) as the store's writer counts them.
const commitCount = () => backbone.writerStats.commits;
const at = Date.now();
await backbone.projects.create({ name: 'bench' }, at);
const topic = await backbone.topics.create({ project: 'bench', title: 'atomic action benchmark' }, at);
const deps = {
  runner, clock: { now: () => Date.now() }, logbook: backbone,
  settings: { defaultTimeoutMs: null, killGraceMs: undefined, outputLimitBytes: undefined, capabilities: null, outputTailChars: 100 },
  emit: () => {},
};
const atomic = new AtomicAction(deps);
const step = {
  kind: 'action', name: 'deploy', type: 'deploy', risk: null, validate: null, prepare: 'true', commit: 'true', rollback: 'true',
  timeoutMs: null, participants: ['node-a', 'node-b', 'node-c'], env: {}, needs: [],
};
const ctx = { sessionId: null, project: 'bench', topic: { slug: 'atomic', id: topic.id }, step: 'deploy', cwd: options.dir, env: {}, signal: new AbortController().signal };

const samples = [];
for (let i = 0; i < options.n + 5; i++) {
  hookMs = 0;
  const c0 = commitCount();
  const t0 = now();
  const outcome = await atomic.execute(step, ctx);
  const total = now() - t0;
  if (!outcome.ok) throw new Error(`atomic action did not commit: ${outcome.summary}`);
  if (i >= 5) samples.push({ totalMs: total, hookMs, overheadMs: total - hookMs, commits: commitCount() - c0 });
}
await backbone.close();
emit({ event: 'done', samples });
setTimeout(() => process.exit(0), 20);
