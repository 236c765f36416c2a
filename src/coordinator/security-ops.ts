/**
 * The coordinator's security operations: node revocation (live stream closed, certificate
 * refused from then on, tasks requeued), the audit trail's reads, and `privileged` — the
 * fail-closed wrapper every state-changing FleetService operation runs through: no audit
 * entry, no operation.
 */
import { ErrorCode, isBitacoraError, NotFoundError, type FleetNode, type NewFleetEvent } from '../core/index.js';
import type { AuditOutcome, AuditRecord, AuditVerification } from '../security/index.js';
import { AuditUnavailableError, type AuditWriter, type StoredAuditEntry } from './audit-writer.js';
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
  async privileged<T>(action: string, target: string | null, fn: () => T | Promise<T>, options: { actor?: string; details?: Record<string, unknown> } = {}): Promise<T> {
    const actor = options.actor ?? this.actor ?? API_ACTOR;
    await this.audit.record({ actor, action, target, outcome: 'allowed', ...(options.details ? { details: options.details } : {}) });
    try {
      return await fn();
    } catch (err) {
      await this.note(actor, action, target, 'failed', (err as Error).message);
      throw err;
    }
  }

  /**
   * `privileged` for an operation that stores its own audit entry in the same atomic change
   * (`write` receives the entry's event): one commit for both. A refusal of the operation is
   * noted as 'failed' afterwards, like `privileged`.
   */
  async privilegedWrite<T>(action: string, target: string | null, write: (auditEvent: NewFleetEvent) => Promise<T>, options: { details?: Record<string, unknown> } = {}): Promise<T> {
    const actor = this.actor ?? API_ACTOR;
    try {
      return await this.audit.recordWith({ actor, action, target, outcome: 'allowed', ...(options.details ? { details: options.details } : {}) }, write);
    } catch (err) {
      if (!(err instanceof AuditUnavailableError) && !(isBitacoraError(err) && err.code === ErrorCode.StoreUnavailable)) {
        await this.note(actor, action, target, 'failed', (err as Error).message);
      }
      throw err;
    }
  }

  /** Appends one entry as is; AuditUnavailableError when it cannot be written (the caller then refuses its operation). */
  async record(record: AuditRecord): Promise<void> {
    await this.audit.record(record);
  }

  /** A denial or notice that must not stop the caller. */
  async note(actor: string, action: string, target: string | null, outcome: AuditOutcome, reason: string, details?: Record<string, unknown>): Promise<void> {
    return this.audit.tryRecord({ actor, action, target, outcome, reason: reason.slice(0, 500), ...(details ? { details } : {}) }, (m) => this.ctx.log.error(m));
  }

  /**
   * Revokes `node`: its certificates (node id and every serial issued) are refused from now on
   * — persisted first —, its live stream gets a fatal CertificateRevoked error and is closed
   * at once, it is marked down and its tasks are requeued, and it leaves the fleet.
   */
  async revoke(node: FleetNode, reason = 'revoked by the administrator'): Promise<FleetNode> {
    return this.privileged('node.revoke', node.id, async () => {
      const { ctx } = this;
      const now = ctx.clock.now();
      const serials = (await this.certs?.revoke(node.id, reason, now)) ?? [];
      const session = ctx.sessions.get(node.id);
      if (session) {
        ctx.sessions.delete(node.id);
        session.state = 'closed';
        session.connection.send({ type: 'error', code: ErrorCode.CertificateRevoked, message: `this node was revoked: ${reason}`, fatal: true });
        session.connection.close('node revoked');
      }
      await markNodeDown(ctx, node.id, `revoked: ${reason}`);
      const gone = ctx.roster.get(node.id)?.status === 'left' ? ctx.roster.get(node.id)! : await ctx.roster.setStatus(node.id, 'left', `revoked: ${reason}`, now);
      ctx.log.warn(`node ${node.name} revoked (${serials.length} certificate serial(s) refused from now on)`, { nodeId: node.id });
      return gone;
    }, { details: { name: node.name, reason } });
  }

  async auditLog(options: { afterIndex?: number; limit?: number } = {}): Promise<StoredAuditEntry[]> {
    return this.audit.list(options);
  }

  async verifyAudit(): Promise<AuditVerification> {
    return this.audit.verify();
  }

  requireNode(idOrName: string): FleetNode {
    const node = this.ctx.roster.find(idOrName);
    if (!node) throw new NotFoundError('node', idOrName);
    return node;
  }
}
