/**
 * The WebSocket feed over a real server and a real `ws` client: authentication, resume from a
 * sequence, filters, live task output, bad frames, slow consumers, cleanup of subscriptions.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startApiServer, type ApiServer } from '../../src/api/index.js';
import { ErrorCode } from '../../src/core/index.js';
import { FakeFleet, fakeNode } from './fake-fleet.js';
import { FakeAccess } from './fake-access.js';

const TOKEN = 'ws-token';

interface Conn {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  next(kind: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

function connect(url: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<Conn> {
  const ws = new WebSocket(url, { headers });
  const frames: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let read = 0;
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)));
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  // Frames are consumed in order: `next(kind)` skips over frames of other kinds.
  const next = async (kind: string, timeoutMs = 3000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (read < frames.length) {
        const frame = frames[read++]!;
        if (frame['kind'] === kind) return frame;
      }
      if (Date.now() > deadline) throw new Error(`no '${kind}' frame; got ${JSON.stringify(frames)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, frames, next, closed }));
    ws.once('error', reject);
  });
}

describe('API server (WebSocket events)', () => {
  let fleet: FakeFleet;
  let server: ApiServer;
  let wsUrl: string;

  beforeEach(async () => {
    fleet = new FakeFleet();
    server = await startApiServer({ fleet, host: '127.0.0.1', port: 0, access: new FakeAccess({ adminToken: TOKEN }), latestEventSeq: () => fleet.events.length });
    wsUrl = `${server.url.replace('http', 'ws')}/v1/events`;
  });
  afterEach(async () => {
    await server.close();
  });

  it('refuses the upgrade without a valid token, and accepts ?token= for browsers', async () => {
    await expect(connect(wsUrl, {})).rejects.toThrow(/401/);
    await expect(connect(`${wsUrl}?token=wrong`, {})).rejects.toThrow(/401/);
    const conn = await connect(`${wsUrl}?token=${TOKEN}`, {});
    expect((await conn.next('hello'))['streams']).toEqual(['events', 'logs']);
    conn.ws.close();
  });

  it('answers a plain GET and a bad query with readable HTTP errors', async () => {
    const plain = await fetch(`${server.url}/v1/events`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { error: { message: string } }).error.message).toMatch(/WebSocket/);
    await expect(connect(`${wsUrl}?after=-3&streams=video`)).rejects.toThrow(/400/);
  });

  it('resumes after a sequence number, then streams new events in order', async () => {
    for (let i = 0; i < 5; i++) fleet.emit({ type: 'node.updated', subject: `n${i}`, data: {} });
    const conn = await connect(`${wsUrl}?after=3`);
    expect(await conn.next('hello')).toMatchObject({ after: 3, latestSeq: 5 });
    expect(((await conn.next('event'))['event'] as { seq: number }).seq).toBe(4);
    expect(((await conn.next('event'))['event'] as { seq: number }).seq).toBe(5);
    fleet.emit({ type: 'config.updated', subject: null, data: {} });
    expect(((await conn.next('event'))['event'] as { seq: number }).seq).toBe(6);
    conn.ws.close();
  });

  it('sends only new events when no sequence is given', async () => {
    fleet.emit({ type: 'node.updated', subject: 'old', data: {} });
    const conn = await connect(wsUrl);
    await conn.next('hello');
    fleet.emit({ type: 'node.updated', subject: 'new', data: {} });
    expect(((await conn.next('event'))['event'] as { subject: string }).subject).toBe('new');
    conn.ws.close();
  });

  it('delivers live task output and filters by task and event type', async () => {
    const node = fakeNode('w');
    fleet.nodes.push(node);
    const a = (await fleet.submitTask({ command: ['a'] })).task;
    const b = (await fleet.submitTask({ command: ['b'] })).task;
    fleet.start(a.id, node);
    fleet.start(b.id, node);
    const conn = await connect(`${wsUrl}?task=${a.id}&types=task.finished`);
    await conn.next('hello');
    fleet.emitLog(b.id, 'not mine');
    fleet.emitLog(a.id, 'hello from a\n');
    fleet.finish(b.id, 0);
    fleet.finish(a.id, 0);
    const log = await conn.next('log');
    expect(log['chunk']).toMatchObject({ taskId: a.id, attempt: 1, seq: 0, data: 'hello from a\n' });
    const event = await conn.next('event');
    expect(event['event']).toMatchObject({ type: 'task.finished', subject: a.id });
    expect(conn.frames.filter((f) => f['kind'] === 'log')).toHaveLength(1);
    expect(conn.frames.filter((f) => f['kind'] === 'event')).toHaveLength(1);
    conn.ws.close();
  });

  it('answers bad frames with error frames and keeps serving', async () => {
    const conn = await connect(wsUrl);
    await conn.next('hello');
    conn.ws.send('not json');
    expect(((await conn.next('error'))['error'] as { code: string }).code).toBe(ErrorCode.Validation);
    conn.ws.send(JSON.stringify({ op: 'launch-missiles' }));
    expect(((await conn.next('error'))['error'] as { message: string }).message).toMatch(/invalid frame/);
    conn.ws.send(JSON.stringify({ op: 'ping', id: 'x'.repeat(5000) }));
    expect(((await conn.next('error'))['error'] as { code: string }).code).toBe(ErrorCode.PayloadTooLarge);
    conn.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(((await conn.next('error'))['error'] as { message: string }).message).toMatch(/binary/);
    conn.ws.send(JSON.stringify({ op: 'ping', id: 7 }));
    expect(await conn.next('pong')).toEqual({ kind: 'pong', id: 7 });
    conn.ws.send(JSON.stringify({ op: 'filter', types: ['node.'] }));
    expect((await conn.next('filter'))['types']).toEqual(['node.']);
    fleet.emit({ type: 'task.submitted', subject: 't', data: {} });
    fleet.emit({ type: 'node.status', subject: 'n', data: {} });
    expect(((await conn.next('event'))['event'] as { type: string }).type).toBe('node.status');
    conn.ws.close();
  });

  it('closes a peer that keeps sending bad frames', async () => {
    const conn = await connect(wsUrl);
    for (let i = 0; i < 25; i++) conn.ws.send('{');
    expect((await conn.closed).code).toBe(1008);
  });

  it('closes a slow consumer with a resume point instead of buffering without bound', async () => {
    const conn = await connect(wsUrl);
    await conn.next('hello');
    // Stop reading: the kernel buffers fill, then the server's send buffer grows.
    (conn.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 400 && fleet.eventSubscribers > 0; i++) fleet.emit({ type: 'node.updated', subject: 'n', data: { big } });
    expect(fleet.eventSubscribers).toBe(0);
    (conn.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await conn.closed;
    expect(closed.code).toBe(1013);
    expect(closed.reason).toMatch(/after=\d+/);
  });

  it('releases its subscriptions when the client goes away and when the server closes', async () => {
    const conn = await connect(wsUrl);
    await conn.next('hello');
    expect(fleet.eventSubscribers).toBe(1);
    expect(fleet.logSubscribers).toBe(1);
    conn.ws.close();
    await conn.closed;
    await new Promise((r) => setTimeout(r, 50));
    expect(fleet.eventSubscribers).toBe(0);
    expect(fleet.logSubscribers).toBe(0);

    const other = await connect(wsUrl);
    await other.next('hello');
    const started = Date.now();
    await server.close();
    expect((await other.closed).code).toBe(1001);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(fleet.eventSubscribers).toBe(0);
  });
});
