/**
 * ApprovalRepository on SQLite: a pending approval is decided once, or expires. What a
 * decision does (and when an approval has expired) is the pure rule of core
 * (`nextAfterDecision`, `nextAfterExpiry`); this adapter reads, stores the answer and its
 * event. A decision that arrives too late commits 'expired' and only then throws
 * ApprovalExpired (`refusalAfterCommit`).
 */
import { z } from 'zod';
import {
  APPROVAL_STATES, isApprovalExpired, newId, nextAfterDecision, nextAfterExpiry, NotFoundError, parseOrThrow, slugSchema, ValidationError,
  type Approval, type ApprovalChange, type ApprovalState,
} from '../../core/index.js';
import type { ApprovalRepository } from '../logbook.js';
import { timestamp, whereOf } from './codec.js';
import { refusalAfterCommit, type SqliteDb } from './db.js';
import { recordEvent } from './events.js';
import { requireTopic } from './topics.js';
import type { Synchronous } from './synchronous.js';

const requestSchema = z
  .object({ topicId: z.string().min(1), project: slugSchema, reason: z.string().max(2000), expiresAt: z.number().int().nonnegative() })
  .strict();
const decisionSchema = z.object({ decision: z.enum(['approved', 'rejected']), by: z.string().min(1, 'must name who decides').max(200), note: z.string().max(2000).nullable() });
const listSchema = z.object({ state: z.enum(APPROVAL_STATES).optional(), project: z.string().optional() }).strict();

interface ApprovalRow {
  id: string;
  topic_id: string;
  project: string;
  reason: string;
  state: ApprovalState;
  requested_at: number;
  expires_at: number;
  decided_at: number | null;
  decided_by: string | null;
  note: string | null;
}

const COLUMNS = 'id, topic_id, project, reason, state, requested_at, expires_at, decided_at, decided_by, note';

function toApproval(row: ApprovalRow): Approval {
  return {
    id: row.id, topicId: row.topic_id, project: row.project, reason: row.reason, state: row.state, requestedAt: row.requested_at,
    expiresAt: row.expires_at, decidedAt: row.decided_at, decidedBy: row.decided_by, note: row.note,
  };
}

export class SqliteApprovalRepository implements Synchronous<ApprovalRepository> {
  constructor(private readonly db: SqliteDb) {}

  request(input: { topicId: string; project: string; reason: string; expiresAt: number }, now: number): Approval {
    const r = parseOrThrow(requestSchema, input, 'approval request');
    timestamp(now);
    return this.db.write('approval', () => {
      const topic = requireTopic(this.db, r.topicId);
      if (topic.project !== r.project) {
        const message = `topic ${topic.id} belongs to project '${topic.project}', not '${r.project}'`;
        throw new ValidationError(`invalid approval request:\nproject: ${message}`, [{ path: 'project', message }]);
      }
      const approval: Approval = {
        id: newId('apv'), topicId: r.topicId, project: r.project, reason: r.reason, state: 'pending', requestedAt: now, expiresAt: r.expiresAt,
        decidedAt: null, decidedBy: null, note: null,
      };
      this.db.stmt(`INSERT INTO approvals (${COLUMNS}) VALUES (?, ?, ?, ?, 'pending', ?, ?, NULL, NULL, NULL)`).run(
        approval.id, approval.topicId, approval.project, approval.reason, now, approval.expiresAt,
      );
      recordEvent(this.db, 'approval.requested', approval.id, { topicId: approval.topicId, project: approval.project, reason: approval.reason, expiresAt: approval.expiresAt }, now);
      return approval;
    });
  }

  get(id: string): Approval | null {
    const row = this.db.read(() => this.row(id));
    return row ? toApproval(row) : null;
  }

  /** Oldest first. */
  list(filter: { state?: Approval['state']; project?: string } = {}): Approval[] {
    const f = parseOrThrow(listSchema, filter, 'approval filter');
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (f.state !== undefined) {
      clauses.push('state = ?');
      params.push(f.state);
    }
    if (f.project !== undefined) {
      clauses.push('project = ?');
      params.push(f.project);
    }
    const sql = `SELECT ${COLUMNS} FROM approvals ${whereOf(clauses)} ORDER BY requested_at, rowid`;
    return this.db.read(() => (this.db.stmt(sql).all(...params) as ApprovalRow[]).map(toApproval));
  }

  decide(id: string, decision: 'approved' | 'rejected', by: string, note: string | null, now: number): Approval {
    const d = parseOrThrow(decisionSchema, { decision, by, note }, 'approval decision');
    timestamp(now);
    return this.db.write(`approval ${id}`, () => {
      const row = this.row(id);
      if (!row) throw new NotFoundError('approval', id);
      const change = nextAfterDecision(toApproval(row), { state: d.decision, by: d.by, note: d.note }, now);
      this.store(change, now);
      // Too late: the expiry stands (committed), the decision is refused.
      if ('refusal' in change) throw refusalAfterCommit(change.refusal);
      return change.next;
    });
  }

  expire(now: number): Approval[] {
    timestamp(now);
    return this.db.write('approval', () =>
      (this.db.stmt(`SELECT ${COLUMNS} FROM approvals WHERE state = 'pending' ORDER BY expires_at, rowid`).all() as ApprovalRow[])
        .map(toApproval)
        .filter((approval) => isApprovalExpired(approval, now))
        .map((approval) => this.store(nextAfterExpiry(approval, now, null), now)),
    );
  }

  private row(id: string): ApprovalRow | undefined {
    return this.db.stmt(`SELECT ${COLUMNS} FROM approvals WHERE id = ?`).get(id) as ApprovalRow | undefined;
  }

  /** Stores a decided or expired approval with its event. */
  private store(change: ApprovalChange, now: number): Approval {
    const { next } = change;
    this.db.stmt('UPDATE approvals SET state = ?, decided_at = ?, decided_by = ?, note = ? WHERE id = ?').run(next.state, next.decidedAt, next.decidedBy, next.note, next.id);
    recordEvent(this.db, change.event.type, next.id, change.event.data, now);
    return next;
  }
}
