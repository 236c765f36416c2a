/**
 * ActionRepository on SQLite: hand-logged and executed actions. Phases of atomic actions and
 * their commit/abort decision are persisted before the engine acts, so recovery after a crash
 * finds the in-doubt ones (`inDoubt()`).
 */
import { z } from 'zod';
import {
  ACTION_DECISIONS, ACTION_PHASES, ACTION_TRANSITIONS, actionOutcomeSchema, assertTransition, ConflictError, IN_DOUBT_PHASES, newActionSchema,
  newId, NotFoundError, parseOrThrow,
  type Action, type ActionDecision, type ActionOutcome, type ActionPhase, type ActionType, type NewAction,
} from '../../core/index.js';
import type { ActionRepository } from '../logbook.js';
import { fromJson, limitOf, timestamp, toJson, whereOf } from './codec.js';
import type { SqliteDb } from './db.js';
import { recordEvent } from './events.js';
import { requireSession } from './sessions.js';
import { requireTopic } from './topics.js';
import type { Synchronous } from './synchronous.js';

const listSchema = z
  .object({ sessionId: z.string().optional(), topicId: z.string().optional(), project: z.string().optional(), limit: z.number().int().nonnegative().optional() })
  .strict();

interface ActionRow {
  id: string;
  session_id: string | null;
  topic_id: string | null;
  project: string | null;
  type: ActionType;
  description: string;
  tags: string;
  started_at: number;
  ended_at: number | null;
  command: string | null;
  participants: string;
  phase: ActionPhase;
  decision: ActionDecision | null;
  outcome: string | null;
}

const COLUMNS = 'id, session_id, topic_id, project, type, description, tags, started_at, ended_at, command, participants, phase, decision, outcome';
const IN_DOUBT_SQL = IN_DOUBT_PHASES.map((p) => `'${p}'`).join(', ');

function toAction(row: ActionRow): Action {
  return {
    id: row.id, sessionId: row.session_id, topicId: row.topic_id, project: row.project, type: row.type, description: row.description,
    tags: fromJson(row.tags), startedAt: row.started_at, endedAt: row.ended_at, command: row.command, participants: fromJson(row.participants),
    phase: row.phase, decision: row.decision, outcome: row.outcome === null ? null : fromJson<ActionOutcome>(row.outcome),
  };
}

export class SqliteActionRepository implements Synchronous<ActionRepository> {
  constructor(private readonly db: SqliteDb) {}

  create(input: NewAction, now: number): Action {
    const a = parseOrThrow(newActionSchema, input, 'action');
    timestamp(now);
    return this.db.write('action', () => {
      if (a.sessionId !== null) requireSession(this.db, a.sessionId);
      if (a.topicId !== null) requireTopic(this.db, a.topicId);
      const action: Action = {
        id: newId('act'), sessionId: a.sessionId, topicId: a.topicId, project: a.project, type: a.type, description: a.description, tags: a.tags,
        startedAt: a.startedAt ?? now, endedAt: a.endedAt, command: a.command, participants: a.participants, phase: a.phase, decision: null, outcome: null,
      };
      this.db.stmt(`INSERT INTO actions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`).run(
        action.id, action.sessionId, action.topicId, action.project, action.type, action.description, toJson(action.tags), action.startedAt,
        action.endedAt, action.command, toJson(action.participants), action.phase,
      );
      recordEvent(this.db, 'action.logged', action.id, {
        type: action.type, phase: action.phase, sessionId: action.sessionId, topicId: action.topicId, project: action.project,
      }, now);
      return action;
    });
  }

  get(id: string): Action | null {
    const row = this.db.read(() => this.row(id));
    return row ? toAction(row) : null;
  }

  /** Oldest first; with `limit`, the most recent `limit` actions (still oldest first). */
  list(filter: { sessionId?: string; topicId?: string; project?: string; limit?: number } = {}): Action[] {
    const f = parseOrThrow(listSchema, filter, 'action filter');
    const clauses: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [['session_id', f.sessionId], ['topic_id', f.topicId], ['project', f.project]] as const) {
      if (value === undefined) continue;
      clauses.push(`${column} = ?`);
      params.push(value);
    }
    params.push(limitOf(f.limit) ?? -1);
    const sql = `SELECT * FROM (SELECT ${COLUMNS}, rowid AS rid FROM actions ${whereOf(clauses)} ORDER BY started_at DESC, rowid DESC LIMIT ?) ORDER BY started_at, rid`;
    return this.db.read(() => (this.db.stmt(sql).all(...params) as ActionRow[]).map(toAction));
  }

  setPhase(id: string, phase: ActionPhase, now: number): Action {
    parseOrThrow(z.enum(ACTION_PHASES), phase, 'action phase');
    timestamp(now);
    return this.db.write(`action ${id}`, () => {
      const action = this.require(id);
      assertTransition('action', ACTION_TRANSITIONS, action.phase, phase);
      this.db.stmt('UPDATE actions SET phase = ? WHERE id = ?').run(phase, id);
      recordEvent(this.db, 'action.phase', id, { from: action.phase, to: phase, topicId: action.topicId, project: action.project }, now);
      return { ...action, phase };
    });
  }

  /** Deciding the same again returns the action unchanged. */
  decide(id: string, decision: ActionDecision, now: number): Action {
    parseOrThrow(z.enum(ACTION_DECISIONS), decision, 'action decision');
    timestamp(now);
    return this.db.write(`action ${id}`, () => {
      const action = this.require(id);
      if (action.decision === decision) return action;
      if (action.decision !== null) {
        throw new ConflictError(`action ${id} is already decided '${action.decision}'; it cannot become '${decision}'`, {
          details: { actionId: id, decision: action.decision, requested: decision },
        });
      }
      this.db.stmt('UPDATE actions SET decision = ? WHERE id = ?').run(decision, id);
      recordEvent(this.db, 'action.phase', id, { phase: action.phase, decision, topicId: action.topicId, project: action.project }, now);
      return { ...action, decision };
    });
  }

  /** Once: a second outcome is a ConflictError. */
  finish(id: string, outcome: ActionOutcome, now: number): Action {
    const o = parseOrThrow(actionOutcomeSchema, outcome, 'action outcome');
    timestamp(now);
    return this.db.write(`action ${id}`, () => {
      const action = this.require(id);
      if (action.outcome !== null) throw new ConflictError(`action ${id} already has its outcome`, { details: { actionId: id } });
      this.db.stmt('UPDATE actions SET outcome = ?, ended_at = ? WHERE id = ?').run(toJson(o), now, id);
      recordEvent(this.db, 'action.phase', id, {
        phase: action.phase, finished: true, exitCode: o.exitCode, error: o.error, summary: o.summary, topicId: action.topicId, project: action.project,
      }, now);
      return { ...action, outcome: o, endedAt: now };
    });
  }

  inDoubt(): Action[] {
    return this.db.read(() =>
      (this.db.stmt(`SELECT ${COLUMNS} FROM actions WHERE phase IN (${IN_DOUBT_SQL}) ORDER BY started_at, rowid`).all() as ActionRow[]).map(toAction),
    );
  }

  private row(id: string): ActionRow | undefined {
    return this.db.stmt(`SELECT ${COLUMNS} FROM actions WHERE id = ?`).get(id) as ActionRow | undefined;
  }

  private require(id: string): Action {
    const row = this.row(id);
    if (!row) throw new NotFoundError('action', id);
    return toAction(row);
  }
}
