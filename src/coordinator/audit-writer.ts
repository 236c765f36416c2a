/**
 * AuditWriter: appends hash-chained audit entries (security/audit) to the ordered event log
 * as 'audit' events, so the trail travels with whatever replicates that log. Fail-closed:
 * when an entry cannot be written, `record` throws AuditUnavailableError and the caller
 * refuses the privileged operation it was about to perform.
 *
 * Single writer: the coordinator is the only one appending, from one thread. An entry written
 * inside a store transaction that rolls back must be followed by `resync()` (the in-memory head
 * would otherwise be ahead of the log).
 */
import { BitacoraError, ErrorCode, isBitacoraError, type BitacoraErrorOptions } from '../core/index.js';
import { chainEntry, verifyAuditTrail, type AuditEntry, type AuditRecord, type AuditTrust, type AuditVerification } from '../security/index.js';
import type { EventLog } from '../store/events.js';

export class AuditUnavailableError extends BitacoraError {
  override name = 'AuditUnavailableError';
  constructor(message: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.AuditUnavailable, message, { retryable: true, ...options });
  }
}

export interface StoredAuditEntry {
  /** Position in the ordered event log. */
  seq: number;
  entry: AuditEntry;
}

const PAGE = 1000;

export class AuditWriter {
  /** The last entry written; undefined until resumed from the log. */
  private head: { index: number; hash: string } | null | undefined;

  /** `trust`: the MAC key and checkpoints (null: an unkeyed chain, as before keys existed). */
  constructor(private readonly events: EventLog, private readonly now: () => number, readonly trust: AuditTrust | null = null) {}

  /** The head of the chain now (re-read from the log when unknown); null for an empty trail. */
  currentHead(): { index: number; hash: string } | null {
    if (this.head === undefined) this.head = this.resume();
    return this.head;
  }

  /**
   * Forgets the cached head, so the next entry re-reads it from the log: call after a store
   * transaction that contained entries rolled back.
   */
  resync(): void {
    this.head = undefined;
  }

  /** Appends one entry; AuditUnavailableError when the log refuses the write. */
  record(record: AuditRecord): AuditEntry {
    try {
      if (this.head === undefined) this.head = this.resume();
      const entry = chainEntry(this.head, record, this.now(), this.trust?.macKey);
      this.events.append({ type: 'audit', subject: record.target, data: { ...entry } });
      this.head = { index: entry.index, hash: entry.hash };
      return entry;
    } catch (err) {
      // Re-read the head next time: the failed append may or may not have landed.
      this.head = undefined;
      // The whole store is down (disk full, read-only): say so — the operation is refused either way.
      if (isBitacoraError(err) && err.code === ErrorCode.StoreUnavailable) throw err;
      throw new AuditUnavailableError(`the audit trail cannot be written (${(err as Error).message}): privileged operations are refused until it can`, { cause: err });
    }
  }

  /** Like `record`, for denials and notices where the refusal itself must go on (logged, not thrown). */
  tryRecord(record: AuditRecord, warn: (message: string) => void): void {
    try {
      this.record(record);
    } catch (err) {
      warn((err as Error).message);
    }
  }

  /** Every audit entry, oldest first, with its event seq. */
  list(options: { afterIndex?: number; limit?: number } = {}): StoredAuditEntry[] {
    const out: StoredAuditEntry[] = [];
    for (const stored of this.scan()) {
      if ((stored.entry as { index?: unknown }).index !== undefined && (stored.entry.index ?? 0) <= (options.afterIndex ?? 0)) continue;
      out.push(stored);
    }
    return options.limit !== undefined ? out.slice(-options.limit) : out;
  }

  /** Chain, MACs and the checkpoint file; `checkpoints`: more to check against (one an agent kept). */
  verify(checkpoints: readonly unknown[] = []): AuditVerification {
    const entries = this.scan().map((s) => ({ entry: s.entry, seq: s.seq }));
    if (!this.trust) return verifyAuditTrail(entries, { checkpoints });
    const { macKey, publicKey, checkpointFile } = this.trust;
    return verifyAuditTrail(entries, { macKey, publicKey, checkpointLog: checkpointFile.read(), checkpoints });
  }

  /** Resumes the chain from the last audit event in the log (coordinator restart). */
  private resume(): { index: number; hash: string } | null {
    const all = this.scan();
    const last = all[all.length - 1];
    return last ? { index: last.entry.index, hash: last.entry.hash } : null;
  }

  // Reads the whole log: fine for the embedded store's sizes; an audit index by type is the
  // next step when logs grow (noted in the issue).
  private scan(): StoredAuditEntry[] {
    const out: StoredAuditEntry[] = [];
    let after = 0;
    for (;;) {
      const page = this.events.read(after, PAGE);
      for (const event of page) if (event.type === 'audit') out.push({ seq: event.seq, entry: event.data as unknown as AuditEntry });
      if (page.length < PAGE) return out;
      after = page[page.length - 1]!.seq;
    }
  }
}
