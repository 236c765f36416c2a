/**
 * Approval rules — when an approval has expired and what a decision does to it, pure, so
 * every backbone adapter stores the same outcome: it reads the approval, calls these, and
 * stores `next` with its event (and, for a late decision, refuses after storing).
 */
import { BitacoraError, ErrorCode, InvalidTransitionError } from '../errors.js';
import type { EventType } from './event.js';
import type { Approval } from './topic.js';

export interface ApprovalChange {
  next: Approval;
  event: { type: EventType; data: Record<string, unknown> };
}

/** A late decision: the approval is stored expired (`next`), then the decision is refused with `refusal`. */
export interface ExpiredDecision extends ApprovalChange {
  refusal: BitacoraError;
}

/** True when `approval` is still pending but past its expiry at `now` (expiry is exclusive: `now > expiresAt`). */
export function isApprovalExpired(approval: Approval, now: number): boolean {
  return approval.state === 'pending' && now > approval.expiresAt;
}

/** pending → expired at `now`; `attemptedBy` names who decided too late (null for the sweep). */
export function nextAfterExpiry(approval: Approval, now: number, attemptedBy: string | null): ApprovalChange {
  return {
    next: { ...approval, state: 'expired', decidedAt: now },
    event: { type: 'approval.decided', data: { topicId: approval.topicId, project: approval.project, state: 'expired', attemptedBy } },
  };
}

/**
 * A user's decision on a pending approval: the decided approval, or — when it comes after
 * the expiry — the expired approval and the ApprovalExpired refusal to raise once stored.
 * Throws InvalidTransitionError when the approval is no longer pending (decided once).
 */
export function nextAfterDecision(
  approval: Approval,
  decision: { state: 'approved' | 'rejected'; by: string; note: string | null },
  now: number,
): ApprovalChange | ExpiredDecision {
  if (approval.state !== 'pending') {
    throw new InvalidTransitionError('approval', approval.state, decision.state, { details: { approvalId: approval.id, decidedBy: approval.decidedBy } });
  }
  if (isApprovalExpired(approval, now)) {
    const refusal = new BitacoraError(
      ErrorCode.ApprovalExpired,
      `approval ${approval.id} expired at ${new Date(approval.expiresAt).toISOString()}; request a new run`,
      { details: { approvalId: approval.id, topicId: approval.topicId, expiresAt: approval.expiresAt } },
    );
    return { ...nextAfterExpiry(approval, now, decision.by), refusal };
  }
  return {
    next: { ...approval, state: decision.state, decidedAt: now, decidedBy: decision.by, note: decision.note },
    event: {
      type: 'approval.decided',
      data: { topicId: approval.topicId, project: approval.project, state: decision.state, by: decision.by, note: decision.note },
    },
  };
}
