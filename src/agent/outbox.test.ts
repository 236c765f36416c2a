import { describe, expect, it } from 'vitest';
import type { TaskLogChunk } from '../core/index.js';
import { Outbox } from './outbox.js';

const ref = { taskId: 'tsk_a', attempt: 2 };
const ok = { exitCode: 0, error: null, durationMs: 5 };

type Reported = { type: 'started' | 'finished' } | ({ type: 'output' } & TaskLogChunk);

/** Attaches a sink that records what the Outbox reports, in order. */
function connected(outbox: Outbox): Reported[] {
  const sent: Reported[] = [];
  outbox.attach({
    started: () => sent.push({ type: 'started' }),
    output: (chunk) => sent.push({ type: 'output', ...chunk }),
    finished: () => sent.push({ type: 'finished' }),
  });
  return sent;
}

describe('Outbox', () => {
  it('reports output before the result, gathered into one hand-over', () => {
    const outbox = new Outbox({ now: () => 1 });
    const sent = connected(outbox);
    outbox.begin(ref, 0);
    outbox.output(ref, 'stdout', 'a');
    outbox.output(ref, 'stderr', 'b');
    outbox.finish(ref, ok);
    expect(sent.map((m) => m.type)).toEqual(['started', 'output', 'output', 'finished']);
    const output = sent.filter((m): m is Extract<Reported, { type: 'output' }> => m.type === 'output');
    expect(output.map((c) => [c.seq, c.stream, c.data])).toEqual([[0, 'stdout', 'a'], [1, 'stderr', 'b']]);
  });

  it('holds output and results while disconnected and re-sends them after reconnect until acked', () => {
    const outbox = new Outbox({ now: () => 1 });
    outbox.begin(ref, 0);
    outbox.output(ref, 'stdout', 'x');
    outbox.finish(ref, ok);
    expect(outbox.unacknowledged()).toEqual([ref]);
    const sent = connected(outbox);
    outbox.resendAll();
    expect(sent.map((m) => m.type)).toEqual(['output', 'finished']);
    outbox.ack(ref);
    expect(outbox.unacknowledged()).toEqual([]);
    sent.length = 0;
    outbox.resendAll();
    expect(sent).toEqual([]);
  });

  it('re-sends a result still unacknowledged after the given time, on the live stream, until acked', () => {
    let now = 0;
    const outbox = new Outbox({ now: () => now });
    const sent = connected(outbox);
    outbox.begin(ref, 0);
    outbox.output(ref, 'stdout', 'x');
    outbox.finish(ref, ok);
    sent.length = 0;
    now = 2000;
    expect(outbox.resendStale(3000)).toBe(0);
    now = 3500;
    expect(outbox.resendStale(3000)).toBe(1);
    expect(sent.map((m) => m.type)).toEqual(['output', 'finished']);
    expect(outbox.resendStale(3000)).toBe(0);
    outbox.ack(ref);
    now = 10_000;
    expect(outbox.resendStale(3000)).toBe(0);
  });

  it('drops a voided attempt unsent', () => {
    const outbox = new Outbox({ now: () => 1 });
    outbox.begin(ref, 0);
    outbox.finish(ref, ok);
    outbox.discard([ref]);
    const sent = connected(outbox);
    outbox.resendAll();
    expect(sent).toEqual([]);
    expect(outbox.size).toBe(0);
  });

  it('ignores an ack for an attempt that is still running', () => {
    const outbox = new Outbox({ now: () => 1 });
    connected(outbox);
    outbox.begin(ref, 0);
    outbox.ack(ref);
    expect(outbox.size).toBe(1);
  });
});
