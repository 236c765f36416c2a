/** Conformance of EventLog: gap-free ordered outbox, reads, and watch (backlog, live, nested, unsubscribe). */
import { describe, expect, it } from 'vitest';
import { ErrorCode, type FleetEvent } from '../../core/index.js';
import { caught, eventsOf, T0, useBackbone, type OpenBackbone } from './harness.js';

export function describeEventLog(open: OpenBackbone): void {
  describe('EventLog', () => {
    const backbone = useBackbone(open);

    it('starts empty', async () => {
      expect(await backbone().events.latestSeq()).toBe(0);
      expect(await backbone().events.read(0)).toEqual([]);
    });

    it('assigns gap-free increasing sequence numbers and keeps what was appended', async () => {
      const log = backbone().events;
      const a = await log.append({ type: 'config.updated', subject: 'cfg', data: { key: 'x', nested: { list: [1, 2] } }, at: T0 });
      const b = await log.append({ type: 'fleet.shutdown', subject: null, data: {}, at: T0 + 1 });
      expect(b.seq).toBe(a.seq + 1);
      expect(await log.latestSeq()).toBe(b.seq);
      expect(await log.read(0)).toEqual([
        { seq: a.seq, at: T0, type: 'config.updated', subject: 'cfg', data: { key: 'x', nested: { list: [1, 2] } } },
        { seq: b.seq, at: T0 + 1, type: 'fleet.shutdown', subject: null, data: {} },
      ]);
    });

    it('stamps the current time when `at` is omitted', async () => {
      const before = Date.now();
      const event = await backbone().events.append({ type: 'config.updated', subject: null, data: {} });
      expect(event.at).toBeGreaterThanOrEqual(before);
      expect(event.at).toBeLessThanOrEqual(Date.now());
    });

    it('reads after a sequence number, oldest first, at most `limit`', async () => {
      const log = backbone().events;
      const seqs: number[] = [];
      for (let i = 0; i < 5; i++) seqs.push((await log.append({ type: 'config.updated', subject: String(i), data: {}, at: T0 })).seq);
      expect((await log.read(seqs[1]!)).map((e) => e.seq)).toEqual(seqs.slice(2));
      expect((await log.read(seqs[0]!, 2)).map((e) => e.seq)).toEqual(seqs.slice(1, 3));
      expect(await log.read(seqs[4]!)).toEqual([]);
    });

    it('refuses an unknown event type and appends nothing', async () => {
      const err = await caught(() => backbone().events.append({ type: 'no.such' as never, subject: null, data: {} }));
      expect(err.code).toBe(ErrorCode.Validation);
      expect(await backbone().events.latestSeq()).toBe(0);
    });

    it('records the events of every repository in one order', async () => {
      const b = backbone();
      await b.projects.create({ name: 'alpha' }, T0);
      await b.tasks.submit({ command: ['true'] }, T0);
      await b.kv.put('config/x', 1);
      expect((await eventsOf(b)).map((e) => e.type)).toEqual(['project.created', 'task.submitted', 'kv.updated']);
    });

    it('watch delivers the backlog after `afterSeq`, then live events, in order', async () => {
      const b = backbone();
      const first = await b.events.append({ type: 'config.updated', subject: '1', data: {}, at: T0 });
      await b.events.append({ type: 'config.updated', subject: '2', data: {}, at: T0 });
      const seen: FleetEvent[] = [];
      const stop = b.events.watch(first.seq, (e) => seen.push(e));
      await b.tasks.submit({ command: ['true'] }, T0);
      await b.projects.create({ name: 'alpha' }, T0);
      stop();
      expect(seen.map((e) => e.subject === '2' ? 'backlog' : e.type)).toEqual(['backlog', 'task.submitted', 'project.created']);
      expect(seen.map((e) => e.seq)).toEqual([first.seq + 1, first.seq + 2, first.seq + 3]);
    });

    it('watch from the latest sequence number delivers only new events', async () => {
      const b = backbone();
      await b.events.append({ type: 'config.updated', subject: 'old', data: {}, at: T0 });
      const seen: string[] = [];
      const stop = b.events.watch(await b.events.latestSeq(), (e) => seen.push(e.subject ?? ''));
      await b.events.append({ type: 'config.updated', subject: 'new', data: {}, at: T0 });
      stop();
      expect(seen).toEqual(['new']);
    });

    it('stops delivering after unsubscribe', async () => {
      const b = backbone();
      const seen: number[] = [];
      const stop = b.events.watch(0, (e) => seen.push(e.seq));
      await b.events.append({ type: 'config.updated', subject: null, data: {}, at: T0 });
      stop();
      await b.events.append({ type: 'config.updated', subject: null, data: {}, at: T0 });
      expect(seen).toHaveLength(1);
    });

    it('delivers every event once and in order to every watcher when a listener writes', async () => {
      const b = backbone();
      const first: number[] = [];
      const second: number[] = [];
      const reactions: Array<Promise<unknown>> = [];
      const stopReactor = b.events.watch(0, (e) => {
        first.push(e.seq);
        if (e.type === 'task.submitted') reactions.push(b.events.append({ type: 'config.updated', subject: 'reaction', data: {}, at: T0 }));
      });
      const stopObserver = b.events.watch(0, (e) => second.push(e.seq));
      await b.tasks.submitMany([{ command: ['a'] }, { command: ['b'] }], T0);
      await Promise.all(reactions);
      stopReactor();
      stopObserver();
      const all = (await eventsOf(b)).map((e) => e.seq);
      expect(all).toHaveLength(4);
      expect(first).toEqual(all);
      expect(second).toEqual(all);
    });

    it('never publishes nor keeps the events of a change that failed', async () => {
      const b = backbone();
      await b.tasks.submit({ command: ['a'], idempotencyKey: 'k' }, T0);
      const seen: FleetEvent[] = [];
      const stop = b.events.watch(await b.events.latestSeq(), (e) => seen.push(e));
      await caught(() => b.tasks.submitMany([{ command: ['new'] }, { command: ['different'], idempotencyKey: 'k' }], T0));
      await b.kv.put('after', 1);
      stop();
      expect(seen.map((e) => e.type)).toEqual(['kv.updated']);
      expect((await eventsOf(b)).map((e) => e.type)).toEqual(['task.submitted', 'kv.updated']);
      expect(seen[0]?.seq).toBe((await eventsOf(b))[1]?.seq);
    });
  });
}
