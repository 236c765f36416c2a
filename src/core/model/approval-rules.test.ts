import { describe, expect, it } from 'vitest';
import { ErrorCode, InvalidTransitionError } from '../errors.js';
import type { Approval } from './topic.js';
import { isApprovalExpired, nextAfterDecision, nextAfterExpiry } from './approval-rules.js';

const T0 = 1_700_000_000_000;

function approval(overrides: Partial<Approval> = {}): Approval {
  return {
    id: 'apv_1', topicId: 'top_1', project: 'alpha', reason: 'high risk', state: 'pending', requestedAt: T0, expiresAt: T0 + 100,
    decidedAt: null, decidedBy: null, note: null, ...overrides,
  };
}

describe('isApprovalExpired', () => {
  it('is true only for a pending approval strictly past its expiry', () => {
    expect(isApprovalExpired(approval(), T0 + 100)).toBe(false);
    expect(isApprovalExpired(approval(), T0 + 101)).toBe(true);
    expect(isApprovalExpired(approval({ state: 'approved' }), T0 + 500)).toBe(false);
    expect(isApprovalExpired(approval({ state: 'expired' }), T0 + 500)).toBe(false);
  });
});

describe('nextAfterExpiry', () => {
  it('marks the approval expired at `now`, recording who came too late', () => {
    expect(nextAfterExpiry(approval(), T0 + 200, 'ana')).toEqual({
      next: approval({ state: 'expired', decidedAt: T0 + 200 }),
      event: { type: 'approval.decided', data: { topicId: 'top_1', project: 'alpha', state: 'expired', attemptedBy: 'ana' } },
    });
  });
});

describe('nextAfterDecision', () => {
  it('records a timely decision with who and why', () => {
    const change = nextAfterDecision(approval(), { state: 'approved', by: 'ana', note: 'fine' }, T0 + 100);
    expect(change).toEqual({
      next: approval({ state: 'approved', decidedAt: T0 + 100, decidedBy: 'ana', note: 'fine' }),
      event: { type: 'approval.decided', data: { topicId: 'top_1', project: 'alpha', state: 'approved', by: 'ana', note: 'fine' } },
    });
    expect(nextAfterDecision(approval(), { state: 'rejected', by: 'bob', note: null }, T0).next.state).toBe('rejected');
  });

  it('turns a late decision into the expiry plus an ApprovalExpired refusal', () => {
    const change = nextAfterDecision(approval(), { state: 'approved', by: 'ana', note: null }, T0 + 101);
    expect(change.next).toEqual(approval({ state: 'expired', decidedAt: T0 + 101 }));
    expect(change.event.data).toMatchObject({ state: 'expired', attemptedBy: 'ana' });
    expect('refusal' in change && change.refusal.code).toBe(ErrorCode.ApprovalExpired);
    expect('refusal' in change && change.refusal.details).toMatchObject({ approvalId: 'apv_1', topicId: 'top_1', expiresAt: T0 + 100 });
  });

  it('refuses to decide an approval that is no longer pending', () => {
    for (const state of ['approved', 'rejected', 'expired'] as const) {
      expect(() => nextAfterDecision(approval({ state, decidedBy: 'ana' }), { state: 'approved', by: 'bob', note: null }, T0)).toThrow(InvalidTransitionError);
    }
  });
});
