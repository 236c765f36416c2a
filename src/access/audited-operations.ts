/**
 * AuditedOperations: `privileged` — the fail-closed wrapper every state-changing operation of
 * the master runs through: no audit entry, no operation — its variant for operations that
 * store their entry themselves, denials and notices, and the audit trail's reads.
 */
import { ErrorCode, isBitacoraError, type Logger, type NewFleetEvent } from '../core/index.js';
import type { AuditOutcome, AuditRecord, AuditVerification } from '../security/index.js';
import { AuditUnavailableError, type AuditWriter, type StoredAuditEntry } from './audit-writer.js';

/** The principal recorded when no requester is known (the coordinator's own API view, before `actingFor`). */
export const API_ACTOR = 'user:admin';

export interface AuditedOperationsDeps {
  audit: AuditWriter;
  log: Logger;
}

export class AuditedOperations {
  private readonly audit: AuditWriter;

  constructor(
    private readonly deps: AuditedOperationsDeps,
    /** Who privileged operations are recorded as when the caller names no actor; null → API_ACTOR. */
    readonly actor: string | null = null,
  ) {
    this.audit = deps.audit;
  }

  /** The same operations, recorded as done by `actor` (`user:<name>`, `node:<id>`): what `actingFor` views use. */
  as(actor: string): AuditedOperations {
    return new AuditedOperations(this.deps, actor);
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
    return this.audit.tryRecord({ actor, action, target, outcome, reason: reason.slice(0, 500), ...(details ? { details } : {}) }, (m) => this.deps.log.error(m));
  }

  async auditLog(options: { afterIndex?: number; limit?: number } = {}): Promise<StoredAuditEntry[]> {
    return this.audit.list(options);
  }

  async verifyAudit(checkpoints?: readonly unknown[]): Promise<AuditVerification> {
    return this.audit.verify(checkpoints);
  }

}
