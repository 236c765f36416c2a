import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteBackbone, type SqliteBackbone } from '../store/sqlite/index.js';
import { PendingQueue } from './pending-queue.js';

let dir: string;
let backbone: SqliteBackbone;

async function open(): Promise<PendingQueue> {
  dir = mkdtempSync(join(tmpdir(), 'bitacora-pending-'));
  backbone = await openSqliteBackbone({ file: join(dir, 'fleet.db'), writer: 'local' });
  return new PendingQueue(backbone.tasks);
}

afterEach(async () => {
  await backbone.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('PendingQueue', () => {
  it('answers pending from memory in the store\'s FIFO order as tasks are submitted, assigned, retried and cancelled', async () => {
    const queue = await open();
    const [a, b, c] = (await queue.submitMany([{ command: ['a'] }, { command: ['b'] }, { command: ['c'] }], 1)).map((o) => o.task);
    const ids = async () => (await queue.pending(10)).map((t) => t.id);
    expect(await ids()).toEqual([a!.id, b!.id, c!.id]);
    await queue.assignMany([{ taskId: a!.id, nodeId: 'n1', expectedAttempt: 0 }, { taskId: b!.id, nodeId: 'n1', expectedAttempt: 0 }], 2);
    expect(await ids()).toEqual([c!.id]);
    // A retried task keeps its place (its seq), ahead of younger ones.
    await queue.requeueMany([{ taskId: b!.id, attempt: 1, reason: 'node lost' }], 3);
    expect(await ids()).toEqual([b!.id, c!.id]);
    await queue.cancel(c!.id, 'not needed', 4);
    expect(await ids()).toEqual([b!.id]);
    // The store agrees, and a fresh copy loads the same.
    expect((await backbone.tasks.pending(10)).map((t) => t.id)).toEqual([b!.id]);
    const reloaded = new PendingQueue(backbone.tasks);
    await reloaded.load();
    expect((await reloaded.pending(10)).map((t) => t.id)).toEqual([b!.id]);
  });

  it('re-reads a task whose assignment the store refused, so a stale copy heals', async () => {
    const queue = await open();
    const { task } = await queue.submit({ command: ['x'] }, 1);
    // Someone else (another handle on the store) assigned it meanwhile.
    await backbone.tasks.assign(task.id, 'other', 0, 2);
    const [outcome] = await queue.assignMany([{ taskId: task.id, nodeId: 'n1', expectedAttempt: 0 }], 3);
    expect(outcome?.ok).toBe(false);
    expect(await queue.pending(10)).toEqual([]);
  });

  it('stays in order when most tasks leave from the front (holes compacted)', async () => {
    const queue = await open();
    const tasks = (await queue.submitMany(Array.from({ length: 300 }, (_, i) => ({ command: [`t${i}`] })), 1)).map((o) => o.task);
    await queue.assignMany(tasks.slice(0, 250).map((t) => ({ taskId: t.id, nodeId: 'n1', expectedAttempt: 0 })), 2);
    expect((await queue.pending(100)).map((t) => t.id)).toEqual(tasks.slice(250).map((t) => t.id));
    expect(queue.size).toBe(50);
  });
});
