/**
 * The outbox on SQLite: `recordEvent` appends inside the caller's transaction; the EventLog
 * reads it and publishes committed events to in-process watchers, in seq order.
 */
import { z } from 'zod';
import { EVENT_TYPES, parseOrThrow, type EventType, type FleetEvent, type NewFleetEvent } from '../../core/index.js';
import type { EventLog } from '../events.js';
import { fromJson, limitOf, nonNegativeInt, toJson } from './codec.js';
import type { SqliteDb } from './db.js';
import type { Synchronous } from './synchronous.js';

const newEventSchema = z
  .object({
    type: z.enum(EVENT_TYPES),
    subject: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    at: z.number().int().nonnegative().optional(),
  })
  .strict();

/** A new event, validated (the outbox's own input check, shared with repositories that record one). */
export function parseNewEvent(event: NewFleetEvent): z.infer<typeof newEventSchema> {
  return parseOrThrow(newEventSchema, event, 'event');
}

interface EventRow {
  seq: number;
  at: number;
  type: EventType;
  subject: string | null;
  data: string;
}

const INSERT = 'INSERT INTO events (at, type, subject, data) VALUES (?, ?, ?, ?)';

/** Appends an event in the transaction in progress; it is published only if that commits. */
export function recordEvent(db: SqliteDb, type: EventType, subject: string | null, data: Record<string, unknown>, at: number): FleetEvent {
  const info = db.stmt(INSERT).run(at, type, subject, toJson(data));
  const event: FleetEvent = { seq: Number(info.lastInsertRowid), at, type, subject, data };
  db.emitted(event);
  return event;
}

function toEvent(row: EventRow): FleetEvent {
  return { seq: row.seq, at: row.at, type: row.type, subject: row.subject, data: fromJson(row.data) };
}

interface Watcher {
  listener: (event: FleetEvent) => void;
  /** Highest seq delivered (or skipped as not wanted). */
  lastSeq: number;
  /** While true the watcher reads its backlog from the table; live delivery skips it. */
  catchingUp: boolean;
  active: boolean;
}

/**
 * EventLog on the `events` table. `watch` delivers the backlog from the table, then events
 * committed through this backbone instance (other processes writing the same file are not
 * observed live; read() sees them). Delivery is serialized through one queue, so a listener
 * that writes (and so triggers a nested publication) still sees every event once, in order.
 */
export class SqliteEventLog implements Omit<Synchronous<EventLog>, 'wait'> {
  private readonly watchers = new Set<Watcher>();
  /** Committed events not yet delivered to every watcher, oldest first. */
  private readonly queue: FleetEvent[] = [];
  private delivering = false;

  constructor(
    private readonly db: SqliteDb,
    private readonly onListenerError: (error: unknown, event: FleetEvent) => void = warnListenerError,
  ) {
    db.setCommitListener((events) => this.publish(events));
  }

  append(event: NewFleetEvent): FleetEvent {
    const input = parseOrThrow(newEventSchema, event, 'event');
    const at = input.at ?? Date.now();
    return this.db.write('event', () => recordEvent(this.db, input.type, input.subject, input.data, at));
  }

  appendMany(events: NewFleetEvent[]): FleetEvent[] {
    const inputs = events.map((event) => parseOrThrow(newEventSchema, event, 'event'));
    const now = Date.now();
    return this.db.write('events', () => inputs.map((input) => recordEvent(this.db, input.type, input.subject, input.data, input.at ?? now)));
  }

  read(afterSeq: number, limit = 1000): FleetEvent[] {
    const after = nonNegativeInt(afterSeq, 'afterSeq');
    const max = limitOf(limit) ?? 1000;
    return this.db.read(() =>
      (this.db.stmt('SELECT seq, at, type, subject, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?').all(after, max) as EventRow[]).map(toEvent),
    );
  }

  latestSeq(): number {
    return this.db.read(() => (this.db.stmt('SELECT coalesce(max(seq), 0) AS seq FROM events').get() as { seq: number }).seq);
  }

  watch(afterSeq: number, listener: (event: FleetEvent) => void): () => void {
    const watcher: Watcher = { listener, lastSeq: nonNegativeInt(afterSeq, 'afterSeq'), catchingUp: true, active: true };
    this.watchers.add(watcher);
    try {
      // Backlog from the table, page by page, until caught up with everything committed.
      for (;;) {
        const page = this.read(watcher.lastSeq, 500);
        if (page.length === 0 || !watcher.active) break;
        for (const event of page) {
          if (!watcher.active) break;
          this.deliver(watcher, event);
        }
      }
    } finally {
      watcher.catchingUp = false;
    }
    return () => {
      watcher.active = false;
      this.watchers.delete(watcher);
    };
  }

  /**
   * Delivers committed events to this process's watchers, in seq order. Called for commits
   * on this connection, and by the backbone for commits its writer thread made.
   */
  publish(events: FleetEvent[]): void {
    if (this.watchers.size === 0) return; // a later watcher reads its backlog from the table
    for (const event of events) this.queue.push(event);
    if (this.delivering) return; // the loop below (further up the stack) will reach them
    this.delivering = true;
    try {
      for (let i = 0; i < this.queue.length; i++) {
        const event = this.queue[i]!;
        for (const watcher of [...this.watchers]) {
          if (watcher.active && !watcher.catchingUp) this.deliver(watcher, event);
        }
      }
    } finally {
      this.queue.length = 0;
      this.delivering = false;
    }
  }

  private deliver(watcher: Watcher, event: FleetEvent): void {
    if (event.seq <= watcher.lastSeq) return;
    watcher.lastSeq = event.seq;
    try {
      watcher.listener(event);
    } catch (err) {
      // A listener must not throw; the write it observes has committed, so report and go on.
      this.onListenerError(err, event);
    }
  }
}

function warnListenerError(err: unknown, event: FleetEvent): void {
  process.emitWarning(`event watcher threw on ${event.type} #${event.seq}: ${err instanceof Error ? err.message : String(err)}`, 'BitacoraWatchWarning');
}
