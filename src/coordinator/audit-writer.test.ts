import { describe, expect, it } from 'vitest';
import type { FleetEvent, NewFleetEvent } from '../core/index.js';
import type { EventLog } from '../store/events.js';
import { AuditUnavailableError, AuditWriter } from './audit-writer.js';

/** An in-memory event log that can be told to refuse writes. */
function memoryLog(): EventLog & { events: FleetEvent[]; broken: boolean } {
  const log = {
    events: [] as FleetEvent[],
    broken: false,
    append(event: NewFleetEvent): FleetEvent {
      if (log.broken) throw new Error('SQLITE_READONLY: attempt to write a readonly database');
      const stored: FleetEvent = { seq: log.events.length + 1, at: event.at ?? 0, type: event.type, subject: event.subject, data: event.data };
      log.events.push(stored);
      return stored;
    },
    read: (after: number, limit = 1000) => log.events.filter((e) => e.seq > after).slice(0, limit),
    latestSeq: () => log.events.length,
    watch: () => () => {},
  };
  return log;
}

const record = (action: string) => ({ actor: 'user:admin', action, target: null, outcome: 'allowed' as const });

describe('AuditWriter', () => {
  it('appends chained entries as audit events and verifies them', () => {
    const log = memoryLog();
    const writer = new AuditWriter(log, () => 5);
    writer.record(record('a'));
    log.append({ type: 'kv.updated', subject: null, data: {} });
    writer.record(record('b'));
    expect(log.events.map((e) => e.type)).toEqual(['audit', 'kv.updated', 'audit']);
    expect(writer.list().map((s) => [s.seq, s.entry.index])).toEqual([[1, 1], [3, 2]]);
    expect(writer.verify().ok).toBe(true);
  });

  it('resumes the chain after a restart (a new writer over the same log)', () => {
    const log = memoryLog();
    new AuditWriter(log, () => 1).record(record('before restart'));
    const entry = new AuditWriter(log, () => 2).record(record('after restart'));
    expect(entry.index).toBe(2);
    expect(new AuditWriter(log, () => 3).verify()).toMatchObject({ ok: true, checked: 2 });
  });

  it('fails closed: an unwritable log raises AuditUnavailable, and recovers when writable again', () => {
    const log = memoryLog();
    const writer = new AuditWriter(log, () => 1);
    writer.record(record('ok'));
    log.broken = true;
    expect(() => writer.record(record('refused'))).toThrow(AuditUnavailableError);
    let warned = '';
    writer.tryRecord(record('denial'), (m) => (warned = m));
    expect(warned).toContain('audit trail cannot be written');
    log.broken = false;
    expect(writer.record(record('again')).index).toBe(2);
    expect(writer.verify().ok).toBe(true);
  });
});
