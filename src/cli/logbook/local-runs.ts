/**
 * Registry of `pipeline run --local` processes on one data directory, kept in the backbone's
 * key-value store. Crash recovery of in-doubt actions must only run when no other local
 * engine is working on the same logbook (it would roll back that engine's live actions), so
 * a run recovers only when it registered itself as the sole live run.
 */
import { hostname } from 'node:os';
import { ConflictError, newId } from '../../core/index.js';
import type { KeyValueStore } from '../../store/backbone.js';

const KEY = 'engine/local-runs';
/** A registration not refreshed for this long belongs to a run that died on another host. */
const STALE_AFTER_MS = 30_000;
const REFRESH_MS = 10_000;
const CAS_ATTEMPTS = 20;

interface LocalRun {
  id: string;
  pid: number;
  host: string;
  startedAt: number;
  heartbeatAt: number;
}

function alive(run: LocalRun, now: number): boolean {
  if (run.host === hostname()) {
    try {
      process.kill(run.pid, 0);
      return true;
    } catch (err) {
      // EPERM: the process exists but belongs to someone else.
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  return now - run.heartbeatAt < STALE_AFTER_MS;
}

/** Read-modify-write of the run list with compare-and-set, retried when another process wins. */
async function update(kv: KeyValueStore, change: (runs: LocalRun[], now: number) => LocalRun[]): Promise<LocalRun[]> {
  for (let attempt = 0; ; attempt++) {
    const entry = await kv.get<LocalRun[]>(KEY);
    const now = Date.now();
    const next = change((entry?.value ?? []).filter((r) => alive(r, now)), now);
    try {
      await kv.put(KEY, next, { expectedRevision: entry?.revision ?? 0, quiet: true });
      return next;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= CAS_ATTEMPTS) throw err;
    }
  }
}

export interface LocalRunRegistration {
  /** True when no other live local run was registered: crash recovery is safe. */
  readonly alone: boolean;
  /**
   * Removes the registration (after a heartbeat still in flight). Idempotent; best effort,
   * never rejects (a dead run is pruned by the next one). Call it before closing the store.
   */
  release(): Promise<void>;
}

export async function registerLocalRun(kv: KeyValueStore): Promise<LocalRunRegistration> {
  const id = newId('run');
  const runs = await update(kv, (live, now) => [...live, { id, pid: process.pid, host: hostname(), startedAt: now, heartbeatAt: now }]);
  /** The heartbeat in flight, if any: one at a time, and release() waits for it. */
  let beating: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (beating) return; // the previous one is still retrying; this tick adds nothing
    beating = update(kv, (live, now) => live.map((r) => (r.id === id ? { ...r, heartbeatAt: now } : r)))
      .then(
        () => undefined,
        () => undefined, // A missed heartbeat only matters to other hosts; the next one retries.
      )
      .finally(() => {
        beating = null;
      });
  }, REFRESH_MS);
  timer.unref();
  let releasing: Promise<void> | null = null;
  return {
    alone: runs.length === 1,
    release: () =>
      (releasing ??= (async () => {
        clearInterval(timer);
        await beating;
        try {
          await update(kv, (live) => live.filter((r) => r.id !== id));
        } catch {
          // Left behind, it is pruned once this pid is gone.
        }
      })()),
  };
}
