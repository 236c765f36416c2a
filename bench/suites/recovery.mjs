// Benchmark 4: failure recovery with real agent processes. A task (`sleep 30`, a real
// process) runs on a victim agent; the victim is SIGKILLed (its stream closes) or SIGSTOPped
// (silent); we time from the signal to the task running on the surviving agent — its
// `task.running` for the next attempt, i.e. the survivor has spawned the process and said so.
import { join } from 'node:path';
import { Child, now } from '../lib/proc.mjs';
import { script, startMaster, stopAll } from '../lib/fleet.mjs';
import { median, round, summarize } from '../lib/stats.mjs';

/** cfg: { variants: [{ label, settings }], rounds } */
export async function runRecovery(cfg, log) {
  const rows = [];
  for (const variant of cfg.variants) {
    const fleet = await startMaster({ durability: 'full', settings: variant.settings, name: `master-recovery-${variant.label}` });
    const httpUrl = fleet.info.httpUrl;
    const agent = async (name) => {
      const [token] = await fleet.master.call('tokens', 1);
      const child = new Child(script('agent-child.mjs'), {
        masterUrl: httpUrl, token, name, role: 'worker', capabilities: [], specializations: [], capacity: 4, dataDir: join(fleet.dir, name),
      }, { name });
      const joined = await child.waitEvent('joined', 60_000);
      child.nodeId = joined.nodeId;
      return child;
    };
    const survivor = await agent('survivor');
    try {
      for (const signal of ['SIGKILL', 'SIGSTOP']) {
        const samples = [];
        for (let r = 0; r < cfg.rounds; r++) {
          samples.push(await round1(fleet.master, agent, survivor, signal, `victim-${variant.label.toLowerCase()}-${signal.toLowerCase()}-${r}`));
        }
        const row = {
          variant: variant.label, settings: variant.settings, signal,
          totalMs: summarize(samples.map((s) => s.totalMs)),
          breakdownMedianMs: {
            nodeDown: round(median(samples.map((s) => s.downMs)), 1),
            requeued: round(median(samples.map((s) => s.requeuedMs)), 1),
            assigned: round(median(samples.map((s) => s.assignedMs)), 1),
            running: round(median(samples.map((s) => s.totalMs)), 1),
          },
        };
        rows.push(row);
        log(`  recovery ${variant.label} ${signal}: p50 ${row.totalMs.p50} ms (n=${row.totalMs.n}; node down at ${row.breakdownMedianMs.nodeDown} ms)`);
      }
    } finally {
      await stopAll([survivor, fleet.master]);
    }
  }
  return rows;
}

async function round1(master, agent, survivor, signal, name) {
  const victim = await agent(name);
  try {
    // Only the victim may take the task.
    await master.call('drain', 'survivor');
    const task = await master.call('submit', { command: ['sleep', '30'] });
    await master.call('trace', [task.id, victim.nodeId]);
    const first = await master.call('waitEvent', { type: 'task.running', subject: task.id, minAttempt: 1 });
    if (first.data.nodeId !== victim.nodeId) throw new Error(`task ran on ${first.data.nodeId}, not the victim`);
    await master.call('undrain', 'survivor');
    const attempt = first.data.attempt;
    const killedAt = now();
    victim.signal(signal);
    const running = await master.call('waitEvent', { type: 'task.running', subject: task.id, minAttempt: attempt + 1, timeoutMs: 60_000 });
    const trace = await master.call('traceLog');
    const at = (pred) => {
      const e = trace.find(pred);
      return e ? e.t - killedAt : null;
    };
    if (running.data.nodeId !== survivor.nodeId) throw new Error(`task moved to ${running.data.nodeId}, not the survivor`);
    await master.call('cancel', task.id);
    return {
      totalMs: running.t - killedAt,
      downMs: at((e) => e.type === 'node.status' && e.subject === victim.nodeId && e.data.to === 'down'),
      requeuedMs: at((e) => e.type === 'task.requeued' && e.subject === task.id),
      assignedMs: at((e) => e.type === 'task.assigned' && e.subject === task.id && e.data.attempt > attempt),
    };
  } finally {
    victim.signal('SIGCONT');
    victim.signal('SIGKILL');
    await victim.exited;
  }
}
