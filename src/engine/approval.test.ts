/** Risk gate and ApprovalWaiter: who waits, how a decision from elsewhere ends the wait, expiry. */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/index.js';
import { ApprovalWaiter, DEFAULT_RISK_POLICY, RiskGate, needsApproval } from './approval.js';
import { CancelledError } from './errors.js';
import { MemoryLogbook } from './testing/memory-logbook.js';
import { ManualClock } from './testing/fakes.js';

async function setup(options: { events?: boolean } = {}) {
  const logbook = new MemoryLogbook();
  const clock = new ManualClock();
  await logbook.projects.create({ name: 'p' }, clock.now());
  const topic = await logbook.topics.create({ project: 'p', title: 'release', risk: 'high' }, clock.now());
  const waiter = new ApprovalWaiter({
    approvals: logbook.approvals, clock, pollIntervalMs: options.events ? 60_000 : 5, ...(options.events ? { events: logbook.events } : {}),
  });
  const request = () => logbook.approvals.request({ topicId: topic.id, project: 'p', reason: 'r', expiresAt: clock.now() + 1000 }, clock.now());
  return { logbook, clock, waiter, topicId: topic.id, request };
}

describe('needsApproval', () => {
  it('asks for high always and for medium only when configured', () => {
    expect(needsApproval('low', { consultOnMedium: true })).toBe(false);
    expect(needsApproval('medium', { consultOnMedium: false })).toBe(false);
    expect(needsApproval('medium', { consultOnMedium: true })).toBe(true);
    expect(needsApproval('high', { consultOnMedium: false })).toBe(true);
  });
});

describe('ApprovalWaiter', () => {
  it('returns once someone else decides (polling)', async () => {
    const { logbook, waiter, request, clock } = await setup();
    const approval = await request();
    const waiting = waiter.wait(approval.id);
    setTimeout(() => void logbook.approvals.decide(approval.id, 'approved', 'alice', 'go', clock.now()), 20);
    expect(await waiting).toMatchObject({ state: 'approved', decidedBy: 'alice', note: 'go' });
  });

  it('wakes on the approval.decided event without waiting for the next poll', async () => {
    const { logbook, waiter, request, clock } = await setup({ events: true });
    const approval = await request();
    const waiting = waiter.wait(approval.id);
    setTimeout(() => void logbook.approvals.decide(approval.id, 'rejected', 'bob', null, clock.now()), 10);
    const t0 = Date.now();
    expect((await waiting).state).toBe('rejected');
    expect(Date.now() - t0).toBeLessThan(30_000); // far below the 60 s poll interval
  });

  it('marks the approval expired once its time has passed', async () => {
    const { logbook, waiter, request, clock } = await setup();
    const approval = await request();
    const waiting = waiter.wait(approval.id);
    setTimeout(() => clock.advance(1001), 10);
    expect((await waiting).state).toBe('expired');
    expect((await logbook.approvals.get(approval.id))!.state).toBe('expired');
  });

  it('stops waiting on cancel, and refuses unknown ids', async () => {
    const { waiter, request } = await setup();
    const controller = new AbortController();
    const waiting = waiter.wait((await request()).id, controller.signal);
    setTimeout(() => controller.abort(), 10);
    await expect(waiting).rejects.toBeInstanceOf(CancelledError);
    await expect(waiter.wait('apv_unknown')).rejects.toMatchObject({ code: ErrorCode.NotFound });
  });
});

describe('RiskGate', () => {
  const signal = new AbortController().signal;

  it('lets low and (by default) medium risk continue without an approval', async () => {
    const { logbook, waiter, clock, topicId } = await setup();
    const gate = new RiskGate({ approvals: logbook.approvals, clock, waiter }, DEFAULT_RISK_POLICY);
    for (const risk of ['low', 'medium'] as const) {
      expect(await gate.pass({ risk, topicId, project: 'p', subject: 'x', signal })).toEqual({ decision: 'continue' });
    }
    expect(await logbook.approvals.list()).toEqual([]);
  });

  it('consults on medium when configured, with the configured expiry', async () => {
    const { logbook, waiter, clock, topicId } = await setup();
    const gate = new RiskGate({ approvals: logbook.approvals, clock, waiter }, { ...DEFAULT_RISK_POLICY, consultOnMedium: true, approvalTtlMs: 5000 });
    const passing = gate.pass({
      risk: 'medium', topicId, project: 'p', subject: "topic 'x'", signal,
      onWaiting: (a) => {
        setTimeout(() => void logbook.approvals.decide(a.id, 'approved', 'alice', null, clock.now()), 5);
      },
    });
    const result = await passing;
    expect(result.decision).toBe('approved');
    const [approval] = await logbook.approvals.list();
    expect(approval).toMatchObject({ reason: "topic 'x' is medium risk", expiresAt: clock.now() + 5000, state: 'approved' });
  });

  it('records automatic approval when autoApprove is on', async () => {
    const { logbook, waiter, clock, topicId } = await setup();
    const gate = new RiskGate({ approvals: logbook.approvals, clock, waiter }, { ...DEFAULT_RISK_POLICY, autoApprove: true });
    const result = await gate.pass({ risk: 'high', topicId, project: 'p', subject: 'x', signal });
    expect(result).toMatchObject({ decision: 'approved', approval: { decidedBy: 'auto-approve', state: 'approved' } });
  });
});
