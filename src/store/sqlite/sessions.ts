/** SessionRepository on SQLite: guarded status changes with pause bookkeeping; duration is derived, never stored. */
import { z } from 'zod';
import {
  assertTransition, newId, newSessionSchema, NotFoundError, parseOrThrow, SESSION_STATUSES, SESSION_TRANSITIONS, sessionSchema,
  type DistributionStrategy, type EventType, type NewSession, type Session, type SessionStatus,
} from '../../core/index.js';
import type { SessionRepository } from '../logbook.js';
import { fromJson, limitOf, timestamp, toJson, whereOf } from './codec.js';
import type { SqliteDb } from './db.js';
import { recordEvent } from './events.js';
import type { Synchronous } from './synchronous.js';

const updateSchema = sessionSchema
  .pick({ primaryNode: true, participatingNodes: true, strategy: true, syncIntervalMs: true, lastSyncAt: true, description: true })
  .partial()
  .strict();

const listSchema = z
  .object({ status: z.enum(SESSION_STATUSES).optional(), project: z.string().optional(), limit: z.number().int().nonnegative().optional() })
  .strict();

interface SessionRow {
  id: string;
  user: string;
  project: string | null;
  status: SessionStatus;
  description: string;
  started_at: number;
  ended_at: number | null;
  paused_ms: number;
  paused_at: number | null;
  primary_node: string | null;
  participating_nodes: string;
  strategy: DistributionStrategy;
  sync_interval_ms: number;
  last_sync_at: number | null;
}

const COLUMNS = 'id, user, project, status, description, started_at, ended_at, paused_ms, paused_at, primary_node, participating_nodes, strategy, sync_interval_ms, last_sync_at';

function toSession(row: SessionRow): Session {
  return {
    id: row.id, user: row.user, project: row.project, status: row.status, description: row.description,
    startedAt: row.started_at, endedAt: row.ended_at, pausedMs: row.paused_ms, pausedAt: row.paused_at,
    primaryNode: row.primary_node, participatingNodes: fromJson(row.participating_nodes), strategy: row.strategy,
    syncIntervalMs: row.sync_interval_ms, lastSyncAt: row.last_sync_at,
  };
}

export function requireSession(db: SqliteDb, id: string): Session {
  const row = db.stmt(`SELECT ${COLUMNS} FROM sessions WHERE id = ?`).get(id) as SessionRow | undefined;
  if (!row) throw new NotFoundError('session', id);
  return toSession(row);
}

export class SqliteSessionRepository implements Synchronous<SessionRepository> {
  constructor(private readonly db: SqliteDb) {}

  /** The project is a label and need not exist yet (a pipeline run creates it after starting its session). */
  start(input: NewSession, now: number): Session {
    const s = parseOrThrow(newSessionSchema, input, 'session');
    timestamp(now);
    return this.db.write('session', () => {
      const session: Session = {
        id: newId('ses'), user: s.user, project: s.project, status: 'active', description: s.description, startedAt: now, endedAt: null,
        pausedMs: 0, pausedAt: null, primaryNode: s.primaryNode, participatingNodes: s.participatingNodes, strategy: s.strategy,
        syncIntervalMs: s.syncIntervalMs, lastSyncAt: null,
      };
      this.db.stmt(`INSERT INTO sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        session.id, session.user, session.project, session.status, session.description, session.startedAt, session.endedAt, session.pausedMs,
        session.pausedAt, session.primaryNode, toJson(session.participatingNodes), session.strategy, session.syncIntervalMs, session.lastSyncAt,
      );
      recordEvent(this.db, 'session.started', session.id, { user: session.user, project: session.project, strategy: session.strategy }, now);
      return session;
    });
  }

  get(id: string): Session | null {
    const row = this.db.read(() => this.db.stmt(`SELECT ${COLUMNS} FROM sessions WHERE id = ?`).get(id) as SessionRow | undefined);
    return row ? toSession(row) : null;
  }

  /** Oldest first; with `limit`, the most recent `limit` sessions (still oldest first). */
  list(filter: { status?: Session['status']; project?: string; limit?: number } = {}): Session[] {
    const f = parseOrThrow(listSchema, filter, 'session filter');
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (f.status !== undefined) {
      clauses.push('status = ?');
      params.push(f.status);
    }
    if (f.project !== undefined) {
      clauses.push('project IS ?');
      params.push(f.project);
    }
    const limit = limitOf(f.limit);
    params.push(limit ?? -1);
    const sql = `SELECT * FROM (SELECT ${COLUMNS}, rowid AS rid FROM sessions ${whereOf(clauses)} ORDER BY started_at DESC, rowid DESC LIMIT ?) ORDER BY started_at, rid`;
    return this.db.read(() => (this.db.stmt(sql).all(...params) as SessionRow[]).map(toSession));
  }

  current(): Session | null {
    const row = this.db.read(
      () => this.db.stmt(`SELECT ${COLUMNS} FROM sessions WHERE status IN ('active', 'paused') ORDER BY started_at DESC, rowid DESC LIMIT 1`).get() as SessionRow | undefined,
    );
    return row ? toSession(row) : null;
  }

  pause(id: string, now: number): Session {
    return this.transition(id, 'paused', now, 'session.paused', (s) => ({ ...s, status: 'paused', pausedAt: now }));
  }

  resume(id: string, now: number): Session {
    return this.transition(id, 'active', now, 'session.resumed', (s) => ({ ...s, status: 'active', ...closePause(s, now) }));
  }

  end(id: string, now: number): Session {
    return this.transition(id, 'ended', now, 'session.ended', (s) => ({ ...s, status: 'ended', endedAt: now, ...closePause(s, now) }));
  }

  update(
    id: string,
    patch: Partial<Pick<Session, 'primaryNode' | 'participatingNodes' | 'strategy' | 'syncIntervalMs' | 'lastSyncAt' | 'description'>>,
    now: number,
  ): Session {
    const p = parseOrThrow(updateSchema, patch, 'session update');
    timestamp(now);
    return this.db.write(`session ${id}`, () => {
      const next = { ...requireSession(this.db, id), ...p };
      this.save(next);
      recordEvent(this.db, 'session.updated', id, { fields: Object.keys(p).sort() }, now);
      return next;
    });
  }

  private transition(id: string, to: SessionStatus, now: number, event: EventType, change: (s: Session) => Session): Session {
    parseOrThrow(sessionSchema.shape.status, to, 'session status');
    timestamp(now);
    return this.db.write(`session ${id}`, () => {
      const session = requireSession(this.db, id);
      assertTransition('session', SESSION_TRANSITIONS, session.status, to);
      const next = change(session);
      this.save(next);
      recordEvent(this.db, event, id, { from: session.status, to, pausedMs: next.pausedMs }, now);
      return next;
    });
  }

  private save(s: Session): void {
    this.db.stmt(
      `UPDATE sessions SET status = ?, description = ?, ended_at = ?, paused_ms = ?, paused_at = ?, primary_node = ?, participating_nodes = ?,
       strategy = ?, sync_interval_ms = ?, last_sync_at = ? WHERE id = ?`,
    ).run(s.status, s.description, s.endedAt, s.pausedMs, s.pausedAt, s.primaryNode, toJson(s.participatingNodes), s.strategy, s.syncIntervalMs, s.lastSyncAt, s.id);
  }
}

/** Ends an open pause: its length joins `pausedMs`. */
function closePause(s: Session, now: number): Pick<Session, 'pausedMs' | 'pausedAt'> {
  if (s.pausedAt === null) return { pausedMs: s.pausedMs, pausedAt: null };
  return { pausedMs: s.pausedMs + Math.max(0, now - s.pausedAt), pausedAt: null };
}
