/**
 * Hostile input at the events WebSocket (`GET /v1/events`) of a real master: arbitrary text
 * and binary frames, oversized frames, malformed JSON, unknown ops and hostile filters, raw
 * bytes that are not even WebSocket framing, hostile query strings on the upgrade. The server
 * answers each bad frame with an error frame (stable BIT_ERR_* code) or closes with a
 * protocol/policy code, never crashes, changes nothing; a fresh valid subscription still gets
 * events afterwards.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startFuzzMaster, waitFor, type FuzzMaster } from './fuzz-master.js';
import { FUZZ_TIMEOUT_MS, liveParams } from './fuzz-support.js';

/** Close codes a server may use against a bad peer: normal, protocol error, unsupported/invalid data, policy, too big. */
const ACCEPTABLE_CLOSE = new Set([1000, 1002, 1003, 1006, 1007, 1008, 1009]);

interface Conversation {
  ws: WebSocket;
  frames: Array<Record<string, unknown>>;
  closed: { code: number; reason: string } | null;
  opened: Promise<void>;
}

function converse(url: string): Conversation {
  const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
  const c: Conversation = { ws, frames: [], closed: null, opened: new Promise(() => {}) };
  c.opened = new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  ws.on('error', () => {}); // failures show up as `closed`
  ws.on('message', (data, isBinary) => {
    expect(isBinary).toBe(false);
    c.frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
  });
  ws.on('close', (code, reason) => (c.closed = { code, reason: reason.toString() }));
  return c;
}

/** A frame the client sends: text (possibly huge or not JSON), binary, or a JSON value. */
type Out = { text: string } | { binary: Buffer };

const jsonFrame = (v: unknown): Out => ({ text: JSON.stringify(v) ?? 'null' });
const hostileFilterValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.array(fc.string({ maxLength: 30, unit: 'binary' }), { maxLength: 40 }),
  fc.constantFrom(['logs'], ['events', 'logs', 'logs'], ['nope'], null, '', 'events', ['task.'], [''], '../../etc'),
);
const outFrame: fc.Arbitrary<Out> = fc.oneof(
  fc.string({ maxLength: 200, unit: 'binary' }).map((text) => ({ text })),
  fc.jsonValue({ maxDepth: 4 }).map(jsonFrame),
  fc.record({ op: fc.oneof(fc.constantFrom('ping', 'filter', 'subscribe', 'PING', 'cancel', '__proto__', ''), fc.string({ maxLength: 10 }), fc.integer()), id: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['op'] }).map(jsonFrame),
  fc.record({ op: fc.constant('filter'), task: hostileFilterValue, types: hostileFilterValue, streams: hostileFilterValue, extra: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['op'] }).map(jsonFrame),
  fc.uint8Array({ maxLength: 300 }).map((b) => ({ binary: Buffer.from(b) })),
  fc.constantFrom<Out>(
    { text: 'x'.repeat(4097) },
    { text: JSON.stringify({ op: 'ping', id: 'y'.repeat(5000) }) },
    { text: 'z'.repeat(70 * 1024) }, // above ws maxPayload (64 KiB): a hard close
    { text: `${'['.repeat(2000)}${']'.repeat(2000)}` },
    { text: '{"op":"ping","id":"\ud800"}' },
    { text: '' },
    { binary: Buffer.alloc(0) },
  ),
);

describe('events WebSocket of a real master under hostile frames', () => {
  let fm: FuzzMaster;
  let wsUrl: string;

  beforeAll(async () => {
    fm = await startFuzzMaster('fuzz-ws');
    wsUrl = `${fm.url.replace(/^http/, 'ws')}/v1/events?token=${encodeURIComponent(fm.token)}`;
  }, 60_000);

  afterAll(async () => {
    await fm?.close();
  });

  it('answers arbitrary frames with error frames or a policy close, and keeps answering pings', async () => {
    let n = 0;
    const seen = { errors: 0, closes: new Set<number>() };
    await fc.assert(
      fc.asyncProperty(fc.array(outFrame, { minLength: 1, maxLength: 8 }), async (outs) => {
        const seq = await fm.master.backbone.events.latestSeq();
        const c = converse(wsUrl);
        await c.opened;
        try {
          await waitFor('hello frame', () => c.frames.some((f) => f.kind === 'hello'), 10_000, 5);
          for (const out of outs) {
            if (c.closed) break;
            if ('text' in out) c.ws.send(out.text);
            else c.ws.send(out.binary, { binary: true });
          }
          const id = `sync-${++n}`;
          if (!c.closed) c.ws.send(JSON.stringify({ op: 'ping', id }));
          await waitFor('pong or close', () => c.closed !== null || c.frames.some((f) => f.kind === 'pong' && f.id === id), 15_000, 5);
          for (const f of c.frames) {
            expect(['hello', 'pong', 'filter', 'error', 'event', 'log']).toContain(f.kind);
            if (f.kind === 'error') {
              const err = f.error as { code?: unknown; message?: unknown };
              expect(String(err?.code)).toMatch(/^BIT_ERR_[A-Z_]+$/);
              expect(typeof err?.message).toBe('string');
            }
          }
          if (c.closed) expect(ACCEPTABLE_CLOSE.has(c.closed.code), `close ${c.closed.code} ${c.closed.reason}`).toBe(true);
          seen.errors += c.frames.filter((f) => f.kind === 'error').length;
          if (c.closed) seen.closes.add(c.closed.code);
        } finally {
          c.ws.terminate();
        }
        expect(fm.stoppedEarly()).toBe(false);
        expect(await fm.master.backbone.events.latestSeq()).toBe(seq);
      }),
      liveParams(120),
    );
    // The generator does reach the refusal paths (guards against a suite that only pings).
    expect(seen.errors).toBeGreaterThan(0);
    expect([...seen.closes].some((code) => code === 1009 || code === 1008 || code === 1007)).toBe(true);
  }, FUZZ_TIMEOUT_MS);

  it('survives raw bytes that are not WebSocket framing after the upgrade', async () => {
    const { hostname, port } = new URL(fm.url);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 2048 }).map((b) => Buffer.from(b)),
          // Frame headers with reserved bits, bad opcodes, unmasked payloads, absurd 64-bit lengths.
          fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 64 })).map(([b0, b1, rest]) => Buffer.from([b0, b1, ...rest])),
          fc.constant(Buffer.from([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4])),
          fc.constant(Buffer.from([0x89, 0xfe, 0x01, 0x00, 1, 2, 3, 4, ...randomBytes(256)])), // a 256-byte ping: control frames max 125
        ),
        async (bytes) => {
          await new Promise<void>((resolve, reject) => {
            const socket = tcpConnect(Number(port), hostname);
            const key = randomBytes(16).toString('base64');
            let upgraded = false;
            const timer = setTimeout(() => {
              socket.destroy();
              resolve(); // the server may legitimately wait for more bytes; it must not crash
            }, 1_500);
            socket.on('error', () => {});
            socket.on('close', () => {
              clearTimeout(timer);
              resolve();
            });
            socket.once('connect', () => {
              socket.write(
                `GET /v1/events?token=${encodeURIComponent(fm.token)} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                  `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
              );
            });
            socket.on('data', (chunk) => {
              if (upgraded) return;
              if (!chunk.toString('latin1').startsWith('HTTP/1.1 101')) {
                clearTimeout(timer);
                socket.destroy();
                reject(new Error(`upgrade refused: ${chunk.toString('latin1').split('\r\n')[0]}`));
                return;
              }
              upgraded = true;
              socket.write(bytes);
            });
          });
          expect(fm.stoppedEarly()).toBe(false);
        },
      ),
      liveParams(40),
    );
  }, FUZZ_TIMEOUT_MS);

  it('refuses hostile query strings on the upgrade with a 4xx, never an upgrade or a 5xx', async () => {
    const value = fc.oneof(fc.string({ maxLength: 40, unit: 'binary' }), fc.constantFrom('-1', '1e309', 'NaN', '', ',,,', 'x'.repeat(5000), '../..', '9007199254740993'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('after', 'task', 'types', 'streams', 'token', 'zz'), value), { minLength: 1, maxLength: 4 }), async (pairs) => {
        const q = pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
        const c = converse(`${wsUrl}&${q}`);
        try {
          await c.opened;
          // Accepted (the values happened to be valid): must then behave — a hello first.
          await waitFor('hello', () => c.frames.some((f) => f.kind === 'hello') || c.closed, 10_000, 5);
          if (c.closed) expect(ACCEPTABLE_CLOSE.has(c.closed.code)).toBe(true);
        } catch (err) {
          expect((err as Error).message).toMatch(/upgrade refused: 4\d\d/);
        } finally {
          c.ws.terminate();
        }
        expect(fm.stoppedEarly()).toBe(false);
      }),
      liveParams(60),
    );
  }, FUZZ_TIMEOUT_MS);

  it('still delivers events to a fresh valid subscription', async () => {
    const c = converse(wsUrl);
    await c.opened;
    try {
      await waitFor('hello', () => c.frames.some((f) => f.kind === 'hello'), 10_000);
      const created = await fm.api('POST', '/v1/tasks', { command: ['echo', 'after-ws-fuzz'] });
      expect(created.status).toBe(201);
      const id = (created.body as { task: { id: string } }).task.id;
      await waitFor('an event about the new task', () => c.frames.some((f) => f.kind === 'event' && (f.event as { subject?: string }).subject === id), 15_000);
      c.ws.send(JSON.stringify({ op: 'ping', id: 'still-there' }));
      await waitFor('pong', () => c.frames.some((f) => f.kind === 'pong' && f.id === 'still-there'), 10_000);
      expect(c.closed).toBeNull();
    } finally {
      c.ws.terminate();
    }
  });
});
