// Our side's processes for a benchmark: one master (master-child.mjs) on loopback with a
// fresh data directory, and simulated agents (sim-agents.mjs) spread over a few processes.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Child, freePort, tempDir } from './proc.mjs';

const LIB = fileURLToPath(new URL('.', import.meta.url));
export const script = (name) => join(LIB, name);

/**
 * Starts a master. `durability`: 'full' (synchronous=FULL, the product default) or
 * 'normal'. `settings`: CoordinatorSettings overrides. `profileDir`: run it under --cpu-prof.
 */
export async function startMaster({ durability = 'full', settings = {}, profileDir = null, name = 'master' } = {}) {
  const dir = tempDir();
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const master = new Child(script('master-child.mjs'), {
    dataDir: join(dir, 'master'), httpPort: await freePort(), grpcPort: await freePort(), durability, settings,
  }, { name, nodeArgs });
  await master.waitEvent('ready', 60_000);
  const info = await master.call('info');
  return { master, info, dir };
}

/**
 * Starts `count` simulated agents in `procs` processes and waits until the master has
 * admitted all of them. Returns the sim processes. With `wait: false` it returns at once
 * with `ready`, a promise of every process's 'ready' event.
 */
export async function startSims(fleet, { count, procs = 1, capacity = 1, delayMs = 0, prefix = 'sim', probe = false, connectConcurrency = 16, timeoutMs = 300_000, wait = true }) {
  const tokens = await fleet.master.call('tokens', count);
  const sims = [];
  const per = Math.ceil(count / procs);
  for (let p = 0; p < procs; p++) {
    const agents = tokens.slice(p * per, (p + 1) * per).map((token, i) => ({ name: `${prefix}-${p}-${p * per + i}`, token }));
    if (agents.length === 0) continue;
    sims.push(new Child(script('sim-agents.mjs'), {
      address: fleet.info.grpcAddress, caCertPem: fleet.info.caCertPem, agents, capacity, delayMs, probe, connectConcurrency,
    }, { name: `${prefix}-${p}` }));
  }
  const ready = Promise.all(sims.map((s) => s.waitEvent('ready', timeoutMs)));
  if (!wait) return { sims, ready };
  const events = await ready;
  const failed = events.reduce((a, r) => a + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} of ${count} simulated agents could not join`);
  return { sims, connectMs: Math.max(...events.map((r) => r.ms)) };
}

export async function stopAll(children) {
  await Promise.all(children.filter(Boolean).map((c) => c.stop().catch(() => c.signal('SIGKILL'))));
}
