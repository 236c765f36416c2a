/**
 * The coordinator's security operations: node revocation (live stream closed, certificate
 * refused from then on, tasks requeued), the audit trail's reads, and `privileged` — the
 * fail-closed wrapper every state-changing FleetService operation runs through: no audit
 * entry, no operation.
 */
import { ErrorCode, NotFoundError, type FleetNode } from '../core/index.js';
import type { AuditOutcome, AuditRecord, AuditVerification } from '../security/index.js';
import type { AuditWriter, StoredAuditEntry } from './audit-writer.js';
import type { CoordinatorContext } from './context.js';
import { markNodeDown } from './failover.js';
import type { NodeCertificates } from './node-certs.js';

/** The principal recorded when no requester is known (the coordinator's own API view, before `actingFor`). */
export const API_ACTOR = 'user:admin';

export class SecurityOps {
  constructor(
    private readonly ctx: CoordinatorContext,
    private readonly audit: AuditWriter,
    private readonly certs: NodeCertificates | null,
    /** Who privileged operations are recorded as when the caller names no actor; null → API_ACTOR. */
    readonly actor: string | null = null,
  ) {}

  /** The same operations, recorded as done by `actor` (`user:<name>`, `node:<id>`): what `actingFor` views use. */
  as(actor: string): SecurityOps {
    return new SecurityOps(this.ctx, this.audit, this.certs, actor);
  }

  /**
   * Runs `fn` only once an 'allowed' entry for it is in the audit trail (AuditUnavailableError
   * otherwise, and nothing happens); a failure of `fn` itself is recorded too (best effort).
   */
  privileged<T>(action: string, target: string | null, fn: () => T, options: { actor?: string; details?: Record<string, unknown> } = {}): T {
    const actor = options.actor ?? this.actor ?? API_ACTOR;
    this.audit.record({ actor, action, target, outcome: 'allowed', ...(options.details ? { details: options.details } : {}) });
    try {
      return fn();
    } catch (err) {
      this.note(actor, action, target, 'failed', (err as Error).message);
      throw err;
    }
  }

  /** Appends one entry as is; AuditUnavailableError when it cannot be written (the caller then refuses its operation). */
  record(record: AuditRecord): void {
    this.audit.record(record);
  }

  /**
   * `privileged` inside one store transaction with the operation itself (`batch`), so the audit
   * entry costs no extra fsync; if the transaction rolls back, so does the entry, and the
   * failure is noted afterwards.
   */
  privilegedInBatch<T>(batch: <R>(fn: () => R) => R, action: string, target: string | null, fn: () => T, options: { details?: Record<string, unknown> } = {}): T {
    try {
      return batch(() => this.privileged(action, target, fn, options));
    } catch (err) {
      this.audit.resync();
      this.note(this.actor ?? API_ACTOR, action, target, 'failed', (err as Error).message);
      throw err;
    }
  }

  /** A denial or notice that must not stop the caller. */
  note(actor: string, action: string, target: string | null, outcome: AuditOutcome, reason: string, details?: Record<string, unknown>): void {
    this.audit.tryRecord({ actor, action, target, outcome, reason: reason.slice(0, 500), ...(details ? { details } : {}) }, (m) => this.ctx.log.error(m));
  }

  /**
   * Revokes `node`: its certificates (node id and every serial issued) are refused from now on
   * — persisted first —, its live stream gets a fatal CertificateRevoked error and is closed
   * at once, it is marked down and its tasks are requeued, and it leaves the fleet.
   */
  revoke(node: FleetNode, reason = 'revoked by the administrator'): FleetNode {
    return this.privileged('node.revoke', node.id, () => {
      const { ctx } = this;
      const now = ctx.clock.now();
      const serials = this.certs?.revoke(node.id, reason, now) ?? [];
      const session = ctx.sessions.get(node.id);
      if (session) {
        ctx.sessions.delete(node.id);
        session.state = 'closed';
        session.connection.send({ type: 'error', code: ErrorCode.CertificateRevoked, message: `this node was revoked: ${reason}`, fatal: true });
        session.connection.close('node revoked');
      }
      markNodeDown(ctx, node.id, `revoked: ${reason}`);
      const gone = ctx.roster.get(node.id)?.status === 'left' ? ctx.roster.get(node.id)! : ctx.roster.setStatus(node.id, 'left', `revoked: ${reason}`, now);
      ctx.log.warn(`node ${node.name} revoked (${serials.length} certificate serial(s) refused from now on)`, { nodeId: node.id });
      return gone;
    }, { details: { name: node.name, reason } });
  }

  auditLog(options: { afterIndex?: number; limit?: number } = {}): StoredAuditEntry[] {
    return this.audit.list(options);
  }

  verifyAudit(checkpoints?: readonly unknown[]): AuditVerification {
    return this.audit.verify(checkpoints);
  }

  requireNode(idOrName: string): FleetNode {
    const node = this.ctx.roster.find(idOrName);
    if (!node) throw new NotFoundError('node', idOrName);
    return node;
  }
}
