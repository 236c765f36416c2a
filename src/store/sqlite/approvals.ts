/**
 * ApprovalRepository on SQLite: a pending approval is decided once, or expires. A decision
 * that arrives too late commits 'expired' and only then throws ApprovalExpired.
 */
import { z } from 'zod';
import {
  APPROVAL_STATES, BitacoraError, ErrorCode, InvalidTransitionError, newId, NotFoundError, parseOrThrow, slugSchema, ValidationError,
  type Approval, type ApprovalState,
} from '../../core/index.js';
import type { ApprovalRepository } from '../logbook.js';
import { timestamp, whereOf } from './codec.js';
import type { SqliteDb } from './db.js';
import { recordEvent } from './events.js';
import { requireTopic } from './topics.js';

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

export class SqliteApprovalRepository implements ApprovalRepository {
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
    // The expiry is committed by this transaction; the error is thrown after it, outside.
    const outcome = this.db.write(`approval ${id}`, () => {
      const row = this.row(id);
      if (!row) throw new NotFoundError('approval', id);
      const approval = toApproval(row);
      if (approval.state !== 'pending') {
        throw new InvalidTransitionError('approval', approval.state, d.decision, { details: { approvalId: id, decidedBy: approval.decidedBy } });
      }
      if (now > approval.expiresAt) return { approval: this.markExpired(approval, now, d.by), expired: true };
      const next: Approval = { ...approval, state: d.decision, decidedAt: now, decidedBy: d.by, note: d.note };
      this.db.stmt('UPDATE approvals SET state = ?, decided_at = ?, decided_by = ?, note = ? WHERE id = ?').run(next.state, now, d.by, d.note, id);
      recordEvent(this.db, 'approval.decided', id, { topicId: next.topicId, project: next.project, state: next.state, by: d.by, note: d.note }, now);
      return { approval: next, expired: false };
    });
    if (outcome.expired) {
      throw new BitacoraError(ErrorCode.ApprovalExpired, `approval ${id} expired at ${new Date(outcome.approval.expiresAt).toISOString()}; request a new run`, {
        details: { approvalId: id, topicId: outcome.approval.topicId, expiresAt: outcome.approval.expiresAt },
      });
    }
    return outcome.approval;
  }

  expire(now: number): Approval[] {
    timestamp(now);
    return this.db.write('approval', () =>
      (this.db.stmt(`SELECT ${COLUMNS} FROM approvals WHERE state = 'pending' AND expires_at < ? ORDER BY expires_at, rowid`).all(now) as ApprovalRow[])
        .map((row) => this.markExpired(toApproval(row), now, null)),
    );
  }

  private row(id: string): ApprovalRow | undefined {
    return this.db.stmt(`SELECT ${COLUMNS} FROM approvals WHERE id = ?`).get(id) as ApprovalRow | undefined;
  }

  private markExpired(approval: Approval, now: number, attemptedBy: string | null): Approval {
    this.db.stmt("UPDATE approvals SET state = 'expired', decided_at = ? WHERE id = ?").run(now, approval.id);
    recordEvent(this.db, 'approval.decided', approval.id, { topicId: approval.topicId, project: approval.project, state: 'expired', attemptedBy }, now);
    return { ...approval, state: 'expired', decidedAt: now };
  }
}
