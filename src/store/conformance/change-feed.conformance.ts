/**
 * Conformance of the change feed: `events.wait(after)` (at once, on a later commit, on
 * timeout, on abort) and a consumer reading by cursor through a second handle on the same
 * store, as another process or another coordinator would.
 */
import { describe, expect, it } from 'vitest';
import type { Backbone } from '../backbone.js';
import { T0, timed, useBackboneFixture, type OpenBackbone } from './harness.js';

const LONG_MS = 10_000;

function append(b: Backbone, subject: string): Promise<{ seq: number }> {
  return b.events.append({ type: 'config.updated', subject, data: {}, at: T0 });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function describeChangeFeed(open: OpenBackbone): void {
  describe('EventLog change feed', () => {
    const fixture = useBackboneFixture(open);
    const backbone = fixture.backbone;

    it('wait resolves at once with the latest seq when newer events exist', async () => {
      const b = backbone();
      await append(b, 'a');
      const latest = (await append(b, 'b')).seq;
      const { value, ms } = await timed(b.events.wait(0, { timeoutMs: LONG_MS }));
      expect(value).toBe(latest);
      expect(ms).toBeLessThan(1000);
    });

    it('wait resolves when a later write commits', async () => {
      const b = backbone();
      const after = await b.events.latestSeq();
      const waiting = timed(b.events.wait(after, { timeoutMs: LONG_MS }));
      await sleep(20);
      const { task } = await b.tasks.submit({ command: ['true'] }, T0);
      const { value, ms } = await waiting;
      expect(value).toBeGreaterThan(after);
      expect((await b.events.read(after)).map((e) => e.subject)).toContain(task.id);
      expect(ms).toBeLessThan(LONG_MS / 2);
    });

    it('wait returns the latest seq, unchanged, when nothing comes before timeoutMs', async () => {
      const b = backbone();
      const latest = (await append(b, 'only')).seq;
      const { value, ms } = await timed(b.events.wait(latest, { timeoutMs: 150 }));
      expect(value).toBe(latest);
      expect(ms).toBeGreaterThanOrEqual(100);
      expect(ms).toBeLessThan(LONG_MS / 2);
    });

    it('wait resolves, without rejecting, when its signal aborts', async () => {
      const b = backbone();
      const controller = new AbortController();
      const waiting = timed(b.events.wait(0, { timeoutMs: LONG_MS, signal: controller.signal }));
      await sleep(30);
      controller.abort();
      const { value, ms } = await waiting;
      expect(value).toBe(0);
      expect(ms).toBeLessThan(LONG_MS / 2);
      const { value: again, ms: atOnce } = await timed(b.events.wait(0, { timeoutMs: LONG_MS, signal: controller.signal }));
      expect(again).toBe(0);
      expect(atOnce).toBeLessThan(1000);
    });

    it('a second handle on the same store reads the feed by cursor and waits for the other\'s writes', async (ctx) => {
      const writer = backbone();
      const reader = await fixture.reopen();
      if (!reader) return ctx.skip();
      const first = (await append(writer, 'before')).seq;
      expect((await reader.events.read(0)).map((e) => [e.seq, e.subject])).toEqual([[first, 'before']]);
      expect(await reader.events.latestSeq()).toBe(first);

      // A consumer loop: wait past the cursor, read what came, move the cursor.
      const consumed: string[] = [];
      const consumer = (async () => {
        let cursor = first;
        while (consumed.length < 3) {
          await reader.events.wait(cursor, { timeoutMs: LONG_MS });
          for (const event of await reader.events.read(cursor)) {
            consumed.push(event.subject ?? '');
            cursor = event.seq;
          }
        }
        return cursor;
      })();
      await append(writer, 'one');
      await sleep(20);
      await writer.kv.put('config/x', 1);
      const last = (await append(writer, 'three')).seq;
      const cursor = await consumer;
      expect(consumed).toEqual(['one', 'config/x', 'three']);
      expect(cursor).toBe(last);
    });

    it('a write resolved through one handle is readable through another', async (ctx) => {
      const writer = backbone();
      const reader = await fixture.reopen();
      if (!reader) return ctx.skip();
      const outcomes = await Promise.all([1, 2, 3].map((i) => writer.tasks.submit({ command: ['echo', String(i)] }, T0)));
      expect((await reader.tasks.list()).map((t) => t.id)).toEqual(outcomes.map((o) => o.task.id));
      const written = await reader.kv.put('from/reader', 'hello');
      expect(await writer.kv.get('from/reader')).toEqual(written);
    });
  });
}
