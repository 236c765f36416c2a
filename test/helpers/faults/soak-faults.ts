/**
 * The soak's fault table and its seeded schedule. Each entry injects one fault into a
 * running FaultFleet and undoes it (restart, resume, heal) before it returns, recording
 * what it did in the fleet's HistoryRecorder. The schedule — which fault, when, with which
 * parameters — is a pure function of the seed (and of the machine's capabilities, see
 * below), so `BITACORA_SOAK_SEED=N` replays it.
 *
 * Adding a fault = adding one entry to SOAK_FAULTS: a name, a weight (how often it is
 * drawn), and `inject(ctx, rng)`, which must leave the fleet whole again when it returns.
 * An entry that needs something the machine may not allow (`needs: 'mount'`) is left out
 * of the table there (`soakFaults(capabilities)`): the schedule is then a pure function of
 * the seed and those capabilities.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NewTaskSpec, Task } from '../../../src/core/index.js';
import type { SmallDisk } from './disk.js';
import { crashAtomicAction, CRASH_POINTS } from './engine.js';
import type { FaultFleet } from './fleet.js';
import { RawAgent } from './raw-agent.js';

/** mulberry32: small, fast, good enough to draw a schedule. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    // Mix the seed and drop a few outputs: nearby seeds must not start with nearby draws.
    this.state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0;
    for (let i = 0; i < 4; i++) this.next();
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

export interface SoakContext {
  fleet: FaultFleet;
  /** A directory for engine logbooks and the like. */
  dir: string;
  log(message: string): void;
  /** Specs submitted with an idempotency key so far (for resubmission faults). */
  keyed: Array<{ key: string; spec: NewTaskSpec }>;
  /** The tmpfs holding the master's data directory, where mounting is possible (else null). */
  disk: SmallDisk | null;
}

/** What the machine running the soak allows; an entry that needs more is left out of the table. */
export interface SoakCapabilities {
  /** May mount file systems (`canMount()`): the master's data directory is on a SmallDisk. */
  mount: boolean;
}

export interface SoakFault {
  name: string;
  /** Relative frequency in the schedule (0 = never drawn). */
  weight: number;
  /** A capability the entry needs; without it the entry is not in the table (see `soakFaults`). */
  needs?: keyof SoakCapabilities;
  inject(ctx: SoakContext, rng: Rng): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Workers whose traffic goes through a proxy (the partition faults need one). */
function proxied(ctx: SoakContext): string[] {
  return [...ctx.fleet.workers.values()].filter((w) => w.proxy !== null).map((w) => w.name);
}

/** 64 KB of environment per task: a few batches use up whatever the store can still write. */
const BULKY_ENV = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`SOAK_PAD${i}`, 'x'.repeat(8000)]));

/**
 * Submits batches of bulky (quick) tasks until the store refuses one with StoreUnavailable;
 * returns how many tasks were acknowledged on the way. They run once space is back.
 */
async function burnStoreSlack(ctx: SoakContext): Promise<number> {
  const { fleet } = ctx;
  let acknowledged = 0;
  for (let i = 0; i < 100; i++) {
    const ids = await fleet.recorder.submit(fleet.master, Array.from({ length: 20 }, () => fleet.task('true', { env: BULKY_ENV })));
    const error = fleet.recorder.submissions.at(-1)!.error;
    if (error?.code === 'BIT_ERR_STORE_UNAVAILABLE') return acknowledged;
    if (error) throw new Error(`a bulky submission on a full disk failed otherwise: ${error.code}: ${error.message}`);
    acknowledged += ids.length;
  }
  throw new Error(`the store kept accepting writes on a full disk (${acknowledged} bulky tasks)`);
}

async function activeTasks(ctx: SoakContext): Promise<Task[]> {
  try {
    return await ctx.fleet.master.call<Task[]>('listTasks', { states: ['pending', 'assigned', 'running'] });
  } catch {
    return [];
  }
}

export const SOAK_FAULTS: SoakFault[] = [
  {
    name: 'worker SIGKILL + restart',
    weight: 3,
    async inject(ctx, rng) {
      const name = rng.pick([...ctx.fleet.workers.keys()]);
      const down = rng.int(500, 3000);
      ctx.log(`SIGKILL ${name}, restart after ${down} ms`);
      await ctx.fleet.killWorker(name);
      await sleep(down);
      await ctx.fleet.restartWorker(name);
    },
  },
  {
    name: 'worker SIGSTOP + SIGCONT',
    weight: 2,
    async inject(ctx, rng) {
      const name = rng.pick([...ctx.fleet.workers.keys()]);
      const paused = rng.int(500, 4000);
      ctx.log(`SIGSTOP ${name} for ${paused} ms`);
      ctx.fleet.pauseWorker(name);
      await sleep(paused);
      ctx.fleet.resumeWorker(name);
    },
  },
  {
    name: 'master SIGKILL + restart',
    weight: 2,
    async inject(ctx, rng) {
      const down = rng.int(200, 2000);
      ctx.log(`SIGKILL master, restart after ${down} ms`);
      await ctx.fleet.killMaster();
      await sleep(down);
      await ctx.fleet.restartMaster();
    },
  },
  {
    name: 'partition (drop) + heal',
    weight: 2,
    async inject(ctx, rng) {
      const name = rng.pick(proxied(ctx));
      const cut = rng.int(500, 6000);
      const w = ctx.fleet.worker(name);
      ctx.log(`partition ${name} (drop) for ${cut} ms`);
      ctx.fleet.recorder.fault('partition (drop)', w.nodeId, `${cut} ms`);
      w.proxy!.drop();
      await sleep(cut);
      w.proxy!.heal();
    },
  },
  {
    name: 'partition (stall) + heal',
    weight: 1,
    async inject(ctx, rng) {
      const name = rng.pick(proxied(ctx));
      const cut = rng.int(500, 4000);
      const w = ctx.fleet.worker(name);
      ctx.log(`partition ${name} (stall) for ${cut} ms`);
      ctx.fleet.recorder.fault('partition (stall)', w.nodeId, `${cut} ms`);
      w.proxy!.stall();
      await sleep(cut);
      w.proxy!.heal();
    },
  },
  {
    name: 'connection cut',
    weight: 1,
    async inject(ctx, rng) {
      const name = rng.pick(proxied(ctx));
      const w = ctx.fleet.worker(name);
      ctx.log(`cut ${name}'s connection`);
      ctx.fleet.recorder.fault('connection cut', w.nodeId);
      w.proxy!.cut();
      await sleep(rng.int(50, 1000));
      w.proxy!.heal();
    },
  },
  {
    name: 'link latency',
    weight: 1,
    async inject(ctx, rng) {
      const name = rng.pick(proxied(ctx));
      const ms = rng.int(20, 250);
      const w = ctx.fleet.worker(name);
      ctx.log(`delay ${name} by ${ms} ms`);
      ctx.fleet.recorder.fault('latency', w.nodeId, `${ms} ms`);
      w.proxy!.delay(ms);
      await sleep(rng.int(1000, 5000));
      w.proxy!.delay(0);
    },
  },
  {
    name: 'cancel an active task',
    weight: 1,
    async inject(ctx, rng) {
      const active = await activeTasks(ctx);
      if (active.length === 0) return;
      const task = rng.pick(active);
      ctx.log(`cancel ${task.id} (${task.state})`);
      ctx.fleet.recorder.fault('cancel', task.id);
      await ctx.fleet.master.call('cancelTask', task.id, 'soak').catch(() => {});
    },
  },
  {
    name: 'idempotent resubmission',
    weight: 2,
    async inject(ctx, rng) {
      if (ctx.keyed.length === 0) return;
      const { key, spec } = rng.pick(ctx.keyed);
      ctx.log(`resubmit ${key} (same payload, then another payload)`);
      ctx.fleet.recorder.fault('resubmission', key);
      await ctx.fleet.recorder.submit(ctx.fleet.master, [spec]);
      await ctx.fleet.recorder.submit(ctx.fleet.master, [{ ...spec, command: ['sh', '-c', 'echo another payload'] }]);
    },
  },
  {
    name: 'stale and duplicated reports',
    weight: 1,
    async inject(ctx, rng) {
      // A node that never held these attempts reports their results, twice: all refused.
      const tasks = (await ctx.fleet.master.call<Task[]>('listTasks', {}).catch(() => [] as Task[])).filter((t) => t.attempt > 0);
      if (tasks.length === 0) return;
      const raw = await RawAgent.connect(ctx.fleet.master, { name: `raw-${rng.int(0, 1e9)}`, capacity: 1 }).catch((err: Error) => {
        ctx.log(`raw node could not join: ${err.message.split('\n')[0]}`);
        return null;
      });
      if (!raw) return;
      ctx.fleet.recorder.nodeRevived(raw.nodeId);
      const picks = Array.from({ length: rng.int(1, 5) }, () => rng.pick(tasks));
      ctx.log(`raw node reports ${picks.length} foreign results twice`);
      ctx.fleet.recorder.fault('stale reports', raw.nodeId, picks.map((t) => `${t.id}#${t.attempt}`).join(' '));
      for (const t of picks) raw.sendDuplicated(raw.finished({ taskId: t.id, attempt: t.attempt }), 2);
      await sleep(500);
      // It leaves: whatever was assigned to it meanwhile must be requeued.
      ctx.fleet.recorder.nodeDied(raw.nodeId, 'raw node leaves');
      raw.close();
    },
  },
  {
    name: 'engine SIGKILL inside an atomic action',
    weight: 1,
    async inject(ctx, rng) {
      const point = rng.pick(CRASH_POINTS);
      const dir = join(ctx.dir, `engine-${rng.int(0, 1e9)}`);
      ctx.log(`engine crash at '${point}'`);
      ctx.fleet.recorder.fault(`engine crash at ${point}`, null);
      mkdirSync(dir, { recursive: true });
      const result = await crashAtomicAction(dir, point, ctx.fleet.tag);
      ctx.fleet.recorder.addActions([result.action], { [result.action.id]: result.effect });
    },
  },
  {
    name: 'disk full',
    weight: 1,
    needs: 'mount',
    async inject(ctx, rng) {
      // Fault 8a in the soak: the master's store runs out of space while submissions and
      // results go on. Refused submissions are recorded unacknowledged by the loader's
      // recorder; results refused meanwhile stay in the agents' outboxes and are re-sent on
      // the live stream once space is back (B3 fix).
      const disk = ctx.disk;
      if (!disk) throw new Error("'disk full' drawn without a mounted disk (the table should have left it out)");
      const fullMs = rng.int(1000, 5000);
      const { recorder } = ctx.fleet;
      const before = recorder.submissions.length;
      recorder.fault('disk full', 'master', `${fullMs} ms`);
      try {
        const filled = disk.fill();
        // SQLite reuses its WAL file's space after a checkpoint, so a full disk bites only once
        // that slack is used up: bulky submissions use it (as in fault 8a), then the load's
        // own submissions meet the full disk.
        const bulky = await burnStoreSlack(ctx);
        ctx.log(`disk full: filled the master's disk (${Math.round(filled / 1024 / 1024)} MiB), the store refused writes after ${bulky} bulky tasks; free again in ${fullMs} ms`);
        await sleep(fullMs);
      } finally {
        disk.free();
      }
      recorder.fault('disk space back', 'master');
      const spaceBack = Date.now();
      const during = recorder.submissions.slice(before);
      const refused = during.filter((s) => s.error?.code === 'BIT_ERR_STORE_UNAVAILABLE').length;
      // Undo before returning: the store takes writes again (a submission made after the
      // space came back is acknowledged), and the agents' resend window (three heartbeats)
      // has passed, so the results refused during the outage are recorded.
      const deadline = spaceBack + 30_000;
      while (!recorder.submissions.some((s) => s.at >= spaceBack && s.ackedId !== null)) {
        if (Date.now() > deadline) throw new Error('the store still refuses writes 30 s after the disk got space back');
        await sleep(100);
      }
      await sleep(2000);
      ctx.log(`disk space back: ${refused} of ${during.length} task submissions (bulky ones included) refused during the outage with BIT_ERR_STORE_UNAVAILABLE`);
    },
  },
];

/**
 * The table this machine can play: SOAK_FAULTS without the entries whose `needs` it lacks.
 * The schedule is a pure function of the seed and of these capabilities.
 */
export function soakFaults(capabilities: SoakCapabilities, table: readonly SoakFault[] = SOAK_FAULTS): SoakFault[] {
  return table.filter((f) => f.needs === undefined || capabilities[f.needs]);
}

export interface ScheduledFault {
  atMs: number;
  fault: string;
  /** Seed of the fault's own Rng (targets, durations). */
  seed: number;
}

/** The whole schedule, from the seed and the table (`soakFaults(capabilities)`) alone. */
export function scheduleFor(seed: number, durationMs: number, faults: readonly SoakFault[] = SOAK_FAULTS): ScheduledFault[] {
  const rng = new Rng(seed);
  const total = faults.reduce((n, f) => n + f.weight, 0);
  const out: ScheduledFault[] = [];
  // Leave the last stretch fault-free so the run can settle.
  for (let at = rng.int(2000, 5000); at < durationMs - 10_000; at += rng.int(3000, 9000)) {
    let draw = rng.next() * total;
    const fault = faults.find((f) => (draw -= f.weight) < 0) ?? faults[faults.length - 1]!;
    out.push({ atMs: at, fault: fault.name, seed: rng.int(0, 2 ** 31 - 1) });
  }
  return out;
}
