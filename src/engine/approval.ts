/**
 * The risk gate before a topic (or a step riskier than its topic) and the wait for a
 * human decision. A decision can come from anywhere that writes the same logbook — the
 * CLI in another terminal (`bitacora approve ID`), the API — so the waiter polls the
 * approval and, when an event log is at hand, also wakes on 'approval.decided'.
 */
import { NotFoundError, type Approval, type RiskLevel } from '../core/index.js';
import type { ApprovalRepository, EventLog } from '../store/backbone.js';
import type { Clock } from './ports.js';
import { CancelledError } from './errors.js';

export interface RiskPolicy {
  /** Medium-risk topics also wait for approval. Default false. */
  consultOnMedium: boolean;
  /** How long an approval stays open. Default 1 h. */
  approvalTtlMs: number;
  /** Approve immediately (recorded as decided by 'auto-approve'). Default false. */
  autoApprove: boolean;
}

export const DEFAULT_RISK_POLICY: RiskPolicy = { consultOnMedium: false, approvalTtlMs: 3_600_000, autoApprove: false };

/** Whether a unit of the given risk must wait for a decision under `policy`. */
export function needsApproval(risk: RiskLevel, policy: Pick<RiskPolicy, 'consultOnMedium'>): boolean {
  return risk === 'high' || (risk === 'medium' && policy.consultOnMedium);
}

const RISK_RANK: Record<RiskLevel, number> = { low: 0, medium: 1, high: 2 };
export function riskAbove(a: RiskLevel, b: RiskLevel): boolean {
  return RISK_RANK[a] > RISK_RANK[b];
}

export interface ApprovalWaiterOptions {
  approvals: Pick<ApprovalRepository, 'get' | 'expire'>;
  clock: Clock;
  /** Poll interval, default 500 ms: another process's decision is seen within it. */
  pollIntervalMs?: number;
  events?: Pick<EventLog, 'watch' | 'latestSeq'>;
}

export class ApprovalWaiter {
  private readonly pollIntervalMs: number;

  constructor(private readonly options: ApprovalWaiterOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
  }

  /**
   * Resolves with the approval once it is approved, rejected or expired (an expired one is
   * marked so in the logbook by this call). Rejects with CancelledError on abort and
   * NotFoundError for an unknown id.
   */
  async wait(approvalId: string, signal?: AbortSignal): Promise<Approval> {
    let wake: (() => void) | null = null;
    const { events } = this.options;
    // watch() replays from the seq given, so a decision committed after latestSeq() is not missed.
    const unwatch = events ? events.watch(await events.latestSeq(), (event) => {
      if (event.type === 'approval.decided' && event.subject === approvalId) wake?.();
    }) : undefined;
    try {
      for (;;) {
        if (signal?.aborted) throw new CancelledError(`waiting for approval ${approvalId}`);
        const approval = await this.options.approvals.get(approvalId);
        if (!approval) throw new NotFoundError('approval', approvalId);
        if (approval.state !== 'pending') return approval;
        const now = this.options.clock.now();
        if (now > approval.expiresAt) {
          await this.options.approvals.expire(now);
          continue;
        }
        const delay = Math.max(1, Math.min(this.pollIntervalMs, approval.expiresAt - now + 1));
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            wake = null;
            resolve();
          };
          const timer = setTimeout(done, delay);
          wake = done;
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    } finally {
      unwatch?.();
    }
  }
}

export type GateResult =
  | { decision: 'continue' }
  | { decision: 'approved' | 'rejected' | 'expired'; approval: Approval };

export interface GateRequest {
  risk: RiskLevel;
  topicId: string;
  project: string;
  /** Shown to the approver: "topic 'release'" or "step 'deploy' of topic 'release'". */
  subject: string;
  signal: AbortSignal;
  /** Called once the approval exists; the wait begins when what it returns has settled (status updates, progress). */
  onWaiting?: (approval: Approval) => void | Promise<void>;
}

export class RiskGate {
  constructor(
    private readonly deps: { approvals: ApprovalRepository; clock: Clock; waiter: ApprovalWaiter },
    readonly policy: RiskPolicy,
  ) {}

  /** Low continues; medium continues unless configured; otherwise an approval is requested and awaited. */
  async pass(request: GateRequest): Promise<GateResult> {
    if (!needsApproval(request.risk, this.policy)) return { decision: 'continue' };
    const now = this.deps.clock.now();
    let approval = await this.deps.approvals.request(
      {
        topicId: request.topicId,
        project: request.project,
        reason: `${request.subject} is ${request.risk} risk`,
        expiresAt: now + this.policy.approvalTtlMs,
      },
      now,
    );
    await request.onWaiting?.(approval);
    if (this.policy.autoApprove) {
      approval = await this.deps.approvals.decide(approval.id, 'approved', 'auto-approve', 'approved by the autoApprove option', this.deps.clock.now());
    } else {
      approval = await this.deps.waiter.wait(approval.id, request.signal);
    }
    if (approval.state === 'approved' || approval.state === 'rejected' || approval.state === 'expired') {
      return { decision: approval.state, approval };
    }
    throw new Error(`approval ${approval.id} still pending after the wait`); // unreachable: wait() only returns decided ones
  }
}
