/**
 * FleetClient against a real API server on loopback (in-memory FleetService): typed calls,
 * errors coming back as BitacoraErrors with the server's code, resumable event watch, and a
 * log follower that joins stored and live output exactly once until the task ends.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/index.js';
import type { FleetStatus as ServerStatus, JoinInfo as ServerJoinInfo, CreatedJoinToken as ServerToken } from '../../src/coordinator/fleet-service.js';
import { FleetClient, type CreatedJoinToken, type FleetStatus, type JoinInfo } from '../../src/client/index.js';
import { BitacoraError, ErrorCode, ValidationError, type FleetEvent, type TaskLogChunk } from '../../src/core/index.js';
import { FakeFleet, fakeNode } from './fake-fleet.js';
import { FakeAccess } from './fake-access.js';

// The client restates a few server shapes (it may import only core): keep them in step.
type Assignable<A, B> = A extends B ? true : false;
const shapesMatch: [Assignable<ServerStatus, FleetStatus>, Assignable<ServerJoinInfo, JoinInfo>, Assignable<ServerToken, CreatedJoinToken>] = [true, true, true];
void shapesMatch;

const TOKEN = 'client-token';

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('FleetClient', () => {
  let fleet: FakeFleet;
  let server: ApiServer;
  let client: FleetClient;

  beforeEach(async () => {
    fleet = new FakeFleet();
    server = await startApiServer({ fleet, host: '127.0.0.1', port: 0, access: new FakeAccess({ adminToken: TOKEN }), latestEventSeq: () => fleet.events.length });
    client = new FleetClient({ url: `${server.url}/`, token: TOKEN });
  });
  afterEach(async () => {
    await server.close();
  });

  it('calls every route with typed results', async () => {
    const node = fakeNode('worker-1');
    fleet.nodes.push(node);
    expect(await client.health()).toEqual({ ok: true });
    expect((await client.joinInfo()).grpcAddress).toBe('127.0.0.1:7701');
    expect((await client.listNodes())[0]!.name).toBe('worker-1');
    expect((await client.getNode('worker-1')).id).toBe(node.id);
    expect((await client.drainNode('worker-1')).status).toBe('draining');
    expect((await client.undrainNode(node.id)).status).toBe('ready');
    expect((await client.setNodeRole('worker-1', 'hybrid')).role).toBe('hybrid');
    const { task, created } = await client.submitTask({ command: ['echo', 'hi'], needs: ['linux'] });
    expect(created).toBe(true);
    expect(await client.submitTasks([{ command: ['a'] }, { command: ['b'] }])).toHaveLength(2);
    expect((await client.listTasks({ states: ['pending'], order: 'desc', limit: 2 })).map((t) => t.command[0])).toEqual(['b', 'a']);
    expect((await client.getTask(task.id)).needs).toEqual(['linux']);
    expect((await client.cancelTask(task.id, 'no')).state).toBe('cancelled');
    expect(await client.taskLogs(task.id)).toEqual([]);
    expect((await client.createToken({ role: 'hybrid', ttl: '10m' })).role).toBe('hybrid');
    expect((await client.updateConfig({ heartbeatIntervalMs: 250 })).heartbeatIntervalMs).toBe(250);
    expect((await client.status()).config.heartbeatIntervalMs).toBe(250);
    expect(await client.metrics()).toMatch(/bitacora_tasks\{state="cancelled"\} 1/);
    expect(await client.shutdown('stop-dispatch')).toEqual({ tier: 'stop-dispatch', reason: 'requested through the API' });
    await client.removeNode('worker-1');
    expect(await client.listNodes()).toEqual([]);
  });

  it('turns API errors back into BitacoraErrors with the same code and issues', async () => {
    const notFound = await client.getTask('tsk_nope').catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(BitacoraError);
    expect(notFound).toMatchObject({ code: ErrorCode.NotFound, message: "task 'tsk_nope' not found" });

    const invalid = await client.submitTask({ command: [] }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as ValidationError).issues.map((i) => i.path)).toEqual(['command']);

    const unauth = await new FleetClient({ url: server.url, token: 'wrong' }).status().catch((e: unknown) => e);
    expect(unauth).toMatchObject({ code: ErrorCode.Unauthenticated });

    await server.close();
    const down = await client.status().catch((e: unknown) => e);
    expect(down).toMatchObject({ code: ErrorCode.MasterUnreachable, retryable: true });
    expect((down as Error).message).toMatch(/cannot reach the master at http:\/\/127\.0\.0\.1:\d+ .*bitacora up/);
  });

  it('watches events from a sequence and stops when aborted', async () => {
    fleet.emit({ type: 'node.updated', subject: 'a', data: {} });
    fleet.emit({ type: 'node.updated', subject: 'b', data: {} });
    const seen: FleetEvent[] = [];
    const controller = new AbortController();
    const watching = client.watchEvents(1, (e) => seen.push(e), { signal: controller.signal });
    await until(() => seen.length === 1);
    fleet.emit({ type: 'config.updated', subject: null, data: {} });
    await until(() => seen.length === 2);
    controller.abort();
    await watching;
    expect(seen.map((e) => e.seq)).toEqual([2, 3]);
  });

  it('resumes a watch after the server drops the connection, without repeats or gaps', async () => {
    const seen: number[] = [];
    const controller = new AbortController();
    let connections = 0;
    const watching = client.watchEvents(0, (e) => seen.push(e.seq), { signal: controller.signal, onConnected: () => connections++ });
    await until(() => connections === 1);
    fleet.emit({ type: 'node.updated', subject: 'x', data: {} });
    await until(() => seen.length === 1);
    // Drop every socket server-side; events emitted meanwhile must arrive after the reconnect.
    const { port } = new URL(server.url);
    await server.close();
    fleet.emit({ type: 'node.updated', subject: 'y', data: {} });
    server = await startApiServer({ fleet, host: '127.0.0.1', port: Number(port), access: new FakeAccess({ adminToken: TOKEN }) });
    await until(() => connections >= 2, 10_000);
    fleet.emit({ type: 'node.updated', subject: 'z', data: {} });
    await until(() => seen.length === 3);
    controller.abort();
    await watching;
    expect(seen).toEqual([1, 2, 3]);
  });

  it('rejects a watch the master refuses', async () => {
    const bad = new FleetClient({ url: server.url, token: 'wrong' });
    await expect(bad.watchEvents(0, () => {}, { signal: new AbortController().signal })).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
  });

  it('follows stored then live output exactly once, across attempts, until the task ends', async () => {
    const node = fakeNode('w1');
    fleet.nodes.push(node);
    const { task } = await fleet.submitTask({ command: ['build'] });
    fleet.start(task.id, node);
    fleet.emitLog(task.id, 'stored-1\n');
    const got: TaskLogChunk[] = [];
    const following = client.followTaskLogs(task.id, (c) => got.push(c), { pollMs: 50 });
    await until(() => got.length === 1);
    fleet.emitLog(task.id, 'live-1\n');
    await until(() => got.length === 2);
    // The node is lost: attempt 2 runs elsewhere and prints again from seq 0.
    fleet.start(task.id, fakeNode('w2'));
    fleet.emitLog(task.id, 'attempt-2\n', 'stderr');
    fleet.emitLog(task.id, 'tail\n');
    fleet.finish(task.id, 3);
    const final = await following;
    expect(final).toMatchObject({ state: 'failed', exitCode: 3, attempt: 2 });
    expect(got.map((c) => `${c.attempt}:${c.seq}:${c.data}`)).toEqual(['1:0:stored-1\n', '1:1:live-1\n', '2:0:attempt-2\n', '2:1:tail\n']);
  });

  it('repairs missed live output from the stored log', async () => {
    const node = fakeNode('w1');
    fleet.nodes.push(node);
    const { task } = await fleet.submitTask({ command: ['build'] });
    fleet.start(task.id, node);
    const got: string[] = [];
    const following = client.followTaskLogs(task.id, (c) => got.push(c.data), { pollMs: 50 });
    await until(() => fleet.logSubscribers === 1);
    // Stored without a live broadcast (as if the socket had dropped it), then live ones after the gap.
    fleet.logs.push({ taskId: task.id, attempt: 1, seq: 0, stream: 'stdout', data: 'missed\n', at: Date.now() });
    fleet.emitLog(task.id, 'after-gap\n');
    await until(() => got.length === 2);
    fleet.finish(task.id, 0);
    expect((await following).state).toBe('succeeded');
    expect(got).toEqual(['missed\n', 'after-gap\n']);
  });

  it('stops following when aborted, returning the task as last seen', async () => {
    const { task } = await fleet.submitTask({ command: ['sleep', '100'] });
    const controller = new AbortController();
    const following = client.followTaskLogs(task.id, () => {}, { signal: controller.signal, pollMs: 50 });
    await until(() => fleet.logSubscribers === 1);
    controller.abort();
    expect((await following).state).toBe('pending');
    await until(() => fleet.logSubscribers === 0);
  });

  it('fails a follow of an unknown task with NotFound', async () => {
    await expect(client.followTaskLogs('tsk_missing', () => {})).rejects.toMatchObject({ code: ErrorCode.NotFound });
  });
});
