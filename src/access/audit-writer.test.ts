import { describe, expect, it } from 'vitest';
import type { FleetEvent, NewFleetEvent } from '../core/index.js';
import type { EventLog } from '../store/events.js';
import { AuditUnavailableError, AuditWriter } from './audit-writer.js';

/** An in-memory event log that can be told to refuse writes. */
function memoryLog(): EventLog & { events: FleetEvent[]; broken: boolean } {
  const store = (event: NewFleetEvent): FleetEvent => {
    const stored: FleetEvent = { seq: log.events.length + 1, at: event.at ?? 0, type: event.type, subject: event.subject, data: event.data };
    log.events.push(stored);
    return stored;
  };
  const refuseIfBroken = (): void => {
    if (log.broken) throw new Error('SQLITE_READONLY: attempt to write a readonly database');
  };
  const log = {
    events: [] as FleetEvent[],
    broken: false,
    append: async (event: NewFleetEvent) => (refuseIfBroken(), store(event)),
    appendMany: async (events: NewFleetEvent[]) => (refuseIfBroken(), events.map(store)),
    read: async (after: number, limit = 1000) => log.events.filter((e) => e.seq > after).slice(0, limit),
    latestSeq: async () => log.events.length,
    wait: async () => log.events.length,
    watch: () => () => {},
  };
  return log;
}

const record = (action: string) => ({ actor: 'user:admin', action, target: null, outcome: 'allowed' as const });

describe('AuditWriter', () => {
  it('appends chained entries as audit events and verifies them', async () => {
    const log = memoryLog();
    const writer = new AuditWriter(log, () => 5);
    await writer.record(record('a'));
    await log.append({ type: 'kv.updated', subject: null, data: {} });
    await writer.record(record('b'));
    expect(log.events.map((e) => e.type)).toEqual(['audit', 'kv.updated', 'audit']);
    expect((await writer.list()).map((s) => [s.seq, s.entry.index])).toEqual([[1, 1], [3, 2]]);
    expect((await writer.verify()).ok).toBe(true);
  });

  it('chains entries recorded concurrently in call order, appended together', async () => {
    const log = memoryLog();
    const writer = new AuditWriter(log, () => 5);
    const entries = await Promise.all(['a', 'b', 'c', 'd'].map((a) => writer.record(record(a))));
    expect(entries.map((e) => [e.index, e.action])).toEqual([[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd']]);
    expect((await writer.verify()).ok).toBe(true);
  });

  it('resumes the chain after a restart (a new writer over the same log)', async () => {
    const log = memoryLog();
    await new AuditWriter(log, () => 1).record(record('before restart'));
    const entry = await new AuditWriter(log, () => 2).record(record('after restart'));
    expect(entry.index).toBe(2);
    expect(await new AuditWriter(log, () => 3).verify()).toMatchObject({ ok: true, checked: 2 });
  });

  it('fails closed: an unwritable log raises AuditUnavailable, and recovers when writable again', async () => {
    const log = memoryLog();
    const writer = new AuditWriter(log, () => 1);
    await writer.record(record('ok'));
    log.broken = true;
    await expect(writer.record(record('refused'))).rejects.toThrow(AuditUnavailableError);
    let warned = '';
    await writer.tryRecord(record('denial'), (m) => (warned = m));
    expect(warned).toContain('audit trail cannot be written');
    log.broken = false;
    expect((await writer.record(record('again'))).index).toBe(2);
    expect((await writer.verify()).ok).toBe(true);
  });

  it('currentHead: the head once the entries recorded before it landed, even while later ones keep coming', async () => {
    const log = memoryLog();
    const writer = new AuditWriter(log, () => 1);
    expect(await writer.currentHead()).toBeNull();
    const first = [writer.record(record('a')), writer.record(record('b'))];
    const head = writer.currentHead();
    const later = writer.record(record('c')); // queued behind the head read
    const seen = await head;
    expect(seen?.index).toBeGreaterThanOrEqual(2);
    expect(log.events.some((e) => (e.data as { hash?: string }).hash === seen?.hash)).toBe(true); // never ahead of the log
    await Promise.all([...first, later]);
    expect((await writer.currentHead())?.index).toBe(3);
    log.broken = true;
    const refused = writer.record(record('refused'));
    const afterFailure = writer.currentHead();
    await expect(refused).rejects.toThrow(AuditUnavailableError);
    log.broken = false;
    expect((await afterFailure)?.index).toBe(3);
  });
});
