/**
 * Fault 8: disk trouble under the master's store. (a) The disk fills up during writes: the
 * master answers with StoreUnavailable, writes nothing half, keeps serving reads, and
 * resumes when space returns. (b) The file system turns read-only during writes (an ext4
 * error with errors=remount-ro): clear errors, nothing half-written; after the operator's
 * repair the master restarts on the same data and nothing acknowledged is lost.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Task } from '../../src/core/index.js';
import { openSqliteBackbone } from '../../src/store/sqlite/index.js';
import { waitFor } from '../helpers/processes.js';
import { canFailReadOnly, canMount, FailingDisk, SmallDisk } from '../helpers/faults/disk.js';
import { FaultFleet, FaultScope } from '../helpers/faults/fleet.js';

/** Labels that make each task take a few KB, so a full disk shows quickly. */
const BULKY = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`pad${i}`, 'x'.repeat(250)]));

/** Submits bulky batches until one is refused; returns that error. */
async function submitUntilRefused(fleet: FaultFleet): Promise<{ code: string | null; message: string }> {
  for (let i = 0; i < 400; i++) {
    const specs = Array.from({ length: 20 }, () => fleet.task('true', { labels: BULKY }));
    await fleet.recorder.submit(fleet.master, specs);
    const error = fleet.recorder.submissions.at(-1)!.error;
    if (error) return error;
  }
  throw new Error('the store kept accepting writes on a full disk');
}

async function integrity(file: string): Promise<unknown> {
  const backbone = await openSqliteBackbone({ file });
  try {
    return backbone.pragma('integrity_check');
  } finally {
    await backbone.close();
  }
}

describe('fault 8a: the disk fills up during writes', () => {
  // One scope for both tests: the second judges what the first left.
  const full = new FaultScope();
  afterAll(() => full.dispose());
  let fleet: FaultFleet | null = null;
  let inFlight: string[] = [];

  it.skipIf(!canMount())('answers StoreUnavailable, writes nothing half, resumes when space returns', { timeout: 180_000 }, async () => {
    const disk = SmallDisk.mount(full, 6 * 1024 * 1024);
    // w1 dials through a proxy only so that the test can force a reconnect at the end.
    fleet = await FaultFleet.start(full, { workers: [{ name: 'w1', capacity: 4, viaProxy: true }], masterDataDir: join(disk.path, 'master') });
    await fleet.submit(Array.from({ length: 10 }, (_, i) => fleet!.task(`echo warm ${i}`)));
    await fleet.waitIdle();
    // Work in flight when the disk fills: it finishes during the outage.
    inFlight = await fleet.submit(Array.from({ length: 3 }, () => fleet!.task('sleep 2')));
    await waitFor('three running', async () => (await fleet!.master.call<Task[]>('listTasks', { states: ['running'] })).length === 3, 30_000, 50);

    fleet.recorder.fault('disk full', 'master');
    disk.fill();
    const refused = await submitUntilRefused(fleet);
    expect(refused.code).toBe('BIT_ERR_STORE_UNAVAILABLE');
    expect(refused.message).toMatch(/SQLITE_FULL|full/i);
    // Reads still work; the running tasks end meanwhile, their results cannot be stored yet.
    expect((await fleet.master.call<{ tasks: Record<string, number> }>('status')).tasks).toBeDefined();
    await new Promise((r) => setTimeout(r, 3000));

    fleet.recorder.fault('disk space back', 'master');
    disk.free();
    const after = await fleet.submit(Array.from({ length: 5 }, (_, i) => fleet!.task(`echo after ${i}`)));
    await waitFor('new work runs again', async () => {
      const tasks = await fleet!.master.call<Task[]>('listTasks', {});
      return after.every((id) => tasks.find((t) => t.id === id)?.state === 'succeeded');
    }, 60_000, 200);
    // The results refused during the outage are still held by the agent (see the next test):
    // a reconnect makes it send them again, and they are recorded once.
    await new Promise((r) => setTimeout(r, 3000));
    const stuck = (await fleet.master.call<Task[]>('listTasks', { states: ['running'] })).map((t) => t.id);
    fleet.recorder.fault('reconnect (proxy cut)', fleet.worker('w1').nodeId);
    fleet.worker('w1').proxy!.cut();
    fleet.worker('w1').proxy!.heal();
    await fleet.waitIdle(60_000);
    const report = await fleet.expectClean();
    // The refused batches left nothing behind: every stored task was acknowledged.
    expect(report.figures.persistedUnacknowledged).toBe(0);
    expect(await integrity(join(disk.path, 'master', 'fleet.db'))).toBe('ok');
    inFlight = stuck;
  });

  // Was a known bug (RELIABILITY.md, "results refused by a failing store"): the agent now
  // re-sends results still unacknowledged after three heartbeats on the live stream.
  it('records the results refused during the outage once space returns, without a reconnect', () => {
    if (fleet === null) return; // the scenario did not run: fail loudly
    expect(inFlight, 'tasks still running 3 s after space returned, though their processes ended during the outage').toEqual([]);
  });
});

describe('fault 8c: a worker dies while the disk is full', () => {
  const scope = new FaultScope();
  afterAll(() => scope.dispose());
  let masterSurvived: boolean | null = null;

  it.skipIf(!canMount())('its tasks still move once the store can write again (restarting the master if it fell)', { timeout: 180_000 }, async () => {
    const disk = SmallDisk.mount(scope, 6 * 1024 * 1024);
    const fleet = await FaultFleet.start(scope, { workers: [{ name: 'w1' }, { name: 'w2' }], masterDataDir: join(disk.path, 'master') });
    await fleet.submit(Array.from({ length: 4 }, () => fleet.task(`case "$PWD" in */w1/*) sleep 60;; *) sleep 0.2;; esac`)));
    await waitFor('w1 runs tasks', async () => (await fleet.master.call<Task[]>('listTasks', { nodeId: fleet.worker('w1').nodeId, states: ['running'] })).length > 0, 30_000, 50);
    fleet.recorder.fault('disk full', 'master');
    disk.fill();
    expect((await submitUntilRefused(fleet)).code).toBe('BIT_ERR_STORE_UNAVAILABLE');

    await fleet.killWorker('w1');
    // Past the heartbeat deadline the master tries to mark w1 down and cannot write that.
    await waitFor('the master to fall (or 10 s)', () => !fleet.master.alive, 10_000, 100).catch(() => {});
    masterSurvived = fleet.master.alive;
    fleet.recorder.fault('disk space back', 'master');
    disk.free();
    if (!masterSurvived) await fleet.restartMaster();
    await fleet.waitNodeStatus('w1', 'down', 60_000);
    await fleet.waitIdle(90_000);
    await fleet.expectClean();
  });

  // Was a known bug (RELIABILITY.md, "master crash on a full disk"): HeartbeatMonitor.check now
  // keeps a node whose onDown failed overdue and retries it, instead of throwing from a timer.
  it('the master survives a node going down while its disk is full', () => {
    if (masterSurvived === null) return; // the scenario did not run: fail loudly
    expect(masterSurvived).toBe(true);
  });
});

describe('fault 8b: the file system turns read-only during writes', () => {
  const scope = new FaultScope();
  afterEach(() => scope.dispose());

  it.skipIf(!canFailReadOnly())('file system turns read-only during writes: clear errors, nothing half-written, nothing lost after repair', { timeout: 180_000 }, async () => {
    const disk = FailingDisk.create(scope);
    const fleet = await FaultFleet.start(scope, { workers: [{ name: 'w1', capacity: 4 }], masterDataDir: join(disk.path, 'master'), settings: { selfFenceAfterMs: 60_000 } });
    await fleet.submit(Array.from({ length: 10 }, (_, i) => fleet.task(`echo before ${i}`)));
    await fleet.waitIdle();
    await fleet.submit(Array.from({ length: 3 }, () => fleet.task('sleep 2')));
    await waitFor('three running', async () => (await fleet.master.call<Task[]>('listTasks', { states: ['running'] })).length === 3, 30_000, 50);

    // Files written at setup (CA, client.json) would be on disk long before a real failure;
    // here they are seconds old, so flush them first: this fault is about the store's writes.
    // (Without this the CA files come back empty — see RELIABILITY.md, "unsynced files".)
    execFileSync('sync');
    fleet.recorder.fault('disk read-only', 'master');
    disk.failReadOnly();
    expect(disk.readOnly).toBe(true);
    const refused = await fleet.recorder.submitOne(fleet.master, fleet.task('echo refused'));
    expect(refused.id).toBeNull();
    expect(refused.error?.code).toBe('BIT_ERR_STORE_UNAVAILABLE');
    expect(refused.error?.message).toMatch(/SQLITE_READONLY|SQLITE_IOERR|read-only/i);
    await new Promise((r) => setTimeout(r, 3000));

    // The operator's repair: stop the master, fsck and remount, start it on the same data.
    await fleet.killMaster();
    disk.repair();
    await fleet.restartMaster();
    await fleet.submit(Array.from({ length: 5 }, (_, i) => fleet.task(`echo after ${i}`)));
    await fleet.waitIdle(60_000);
    const report = await fleet.expectClean();
    expect(report.figures.persistedUnacknowledged).toBe(0);
    expect(await integrity(join(disk.path, 'master', 'fleet.db'))).toBe('ok');
  });
});
