/**
 * AuditWriter: appends hash-chained audit entries (security/audit) to the ordered event log
 * as 'audit' events, so the trail travels with whatever replicates that log. Fail-closed:
 * when an entry cannot be written, `record` throws AuditUnavailableError and the caller
 * refuses the privileged operation it was about to perform.
 *
 * Single writer: the coordinator is the only one appending; it keeps the chain's head in
 * memory and re-reads it from the log after any failed append.
 */
import { BitacoraError, ErrorCode, isBitacoraError, type BitacoraErrorOptions, type NewFleetEvent } from '../core/index.js';
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

interface PendingEntry {
  record: AuditRecord;
  /** Writes the entry as part of the caller's own atomic change (instead of an append of its own). */
  write?: (event: NewFleetEvent) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const auditEvent = (entry: AuditEntry, record: AuditRecord): NewFleetEvent => ({ type: 'audit', subject: record.target, data: { ...entry } });

export class AuditWriter {
  /** The last entry written; undefined until resumed from the log. */
  private head: { index: number; hash: string } | null | undefined;
  /** Records waiting for the append in flight; they go together in the next one. */
  private queue: PendingEntry[] = [];
  private writing = false;
  /** Batches taken from the queue so far, and batches settled (all their writes answered). */
  private taken = 0;
  private settledBatches = 0;
  /** `currentHead` callers, each waiting for the batch holding every entry recorded before it. */
  private headWaiters: Array<{ batch: number; resolve: (head: { index: number; hash: string } | null | undefined) => void }> = [];

  /** `trust`: the MAC key and checkpoints (null: an unkeyed chain, as before keys existed). */
  constructor(private readonly events: EventLog, private readonly now: () => number, readonly trust: AuditTrust | null = null) {}

  /**
   * The head of the chain once every entry recorded before this call has settled (re-read
   * from the log when unknown); null for an empty trail. Never a head ahead of the log.
   */
  async currentHead(): Promise<{ index: number; hash: string } | null> {
    if (!this.writing) {
      if (this.head !== undefined) return this.head;
      const before = this.taken;
      const resumed = await this.resume();
      // Cached only if no append started meanwhile (the pump then owns the head).
      if (this.taken === before && this.head === undefined) this.head = resumed;
      return resumed;
    }
    // Not the pump's end (a busy trail may never idle): the end of the batch that holds every
    // entry recorded so far — the next one when some wait in the queue, else the one in flight.
    const batch = this.queue.length > 0 ? this.taken + 1 : this.taken;
    const head = await new Promise<{ index: number; hash: string } | null | undefined>((resolve) => this.headWaiters.push({ batch, resolve }));
    // Unknown after a failed write: read it from the log (not cached: the pump may be chaining).
    return head === undefined ? this.resume() : head;
  }

  /**
   * Appends one entry; resolves once it is durable, AuditUnavailableError when the log
   * refuses the write. Entries are chained in call order. One append is in flight at a time;
   * entries recorded meanwhile are chained and appended together (one atomic `appendMany`),
   * so a failed append never leaves a later entry chained to one that is not in the log.
   */
  record(record: AuditRecord): Promise<AuditEntry> {
    return new Promise<AuditEntry>((resolve, reject) => {
      this.queue.push({ record, resolve: resolve as (value: unknown) => void, reject });
      if (!this.writing) void this.pump();
    });
  }

  /**
   * Chains the entry for `record` and hands it to `write`, which stores it in the same atomic
   * change as the operation it announces (`tasks.submitMany(…, { record })`): one commit
   * for both, and the entry lands before the change it allows or with it. Resolves with what
   * `write` resolves with. The store must keep the entry even when it refuses the operation.
   */
  recordWith<T>(record: AuditRecord, write: (event: NewFleetEvent) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ record, write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.writing) void this.pump();
    });
  }

  /** Like `record`, for denials and notices where the refusal itself must go on (logged, not thrown). */
  async tryRecord(record: AuditRecord, warn: (message: string) => void): Promise<void> {
    try {
      await this.record(record);
    } catch (err) {
      warn((err as Error).message);
    }
  }

  /** Every audit entry, oldest first, with its event seq. */
  async list(options: { afterIndex?: number; limit?: number } = {}): Promise<StoredAuditEntry[]> {
    const out: StoredAuditEntry[] = [];
    for (const stored of await this.scan()) {
      if ((stored.entry as { index?: unknown }).index !== undefined && (stored.entry.index ?? 0) <= (options.afterIndex ?? 0)) continue;
      out.push(stored);
    }
    return options.limit !== undefined ? out.slice(-options.limit) : out;
  }

  /** Chain, MACs and the checkpoint file; `checkpoints`: more to check against (one an agent kept). */
  async verify(checkpoints: readonly unknown[] = []): Promise<AuditVerification> {
    const entries = (await this.scan()).map((s) => ({ entry: s.entry, seq: s.seq }));
    if (!this.trust) return verifyAuditTrail(entries, { checkpoints });
    const { macKey, publicKey, checkpointFile } = this.trust;
    return verifyAuditTrail(entries, { macKey, publicKey, checkpointLog: checkpointFile.read(), checkpoints });
  }

  /** After a batch settled: hands the head (durable now) to the `currentHead` callers it was for. */
  private batchSettled(): void {
    this.settledBatches++;
    if (this.headWaiters.length === 0) return;
    const head = this.head;
    const ready = this.headWaiters.filter((w) => w.batch <= this.settledBatches);
    this.headWaiters = this.headWaiters.filter((w) => w.batch > this.settledBatches);
    for (const w of ready) w.resolve(head);
  }

  private async pump(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        this.taken++;
        let entries: AuditEntry[];
        try {
          if (this.head === undefined) this.head = await this.resume();
          let head = this.head;
          entries = batch.map(({ record }) => {
            const entry = chainEntry(head, record, this.now(), this.trust?.macKey);
            head = { index: entry.index, hash: entry.hash };
            return entry;
          });
          this.head = head;
        } catch (err) {
          this.head = undefined;
          for (const p of batch) p.reject(unavailable(err));
          this.batchSettled();
          continue;
        }
        // Issued in chain order in one synchronous run, so the store applies them in that order
        // (and the embedded one in one group commit): runs of plain entries as one appendMany,
        // entries that travel with their operation through that operation's own write.
        const writes: Array<Promise<unknown>> = [];
        const owners: PendingEntry[][] = [];
        let run: number[] = [];
        const flushRun = (): void => {
          if (run.length === 0) return;
          const indexes = run;
          run = [];
          writes.push(this.events.appendMany(indexes.map((i) => auditEvent(entries[i]!, batch[i]!.record))).then(() => indexes.map((i) => entries[i])));
          owners.push(indexes.map((i) => batch[i]!));
        };
        batch.forEach((pending, i) => {
          if (!pending.write) {
            run.push(i);
            return;
          }
          flushRun();
          writes.push(pending.write(auditEvent(entries[i]!, pending.record)));
          owners.push([pending]);
        });
        flushRun();
        const settled = await Promise.allSettled(writes);
        let lost = false;
        settled.forEach((outcome, w) => {
          const group = owners[w]!;
          if (outcome.status === 'fulfilled') {
            const value = outcome.value;
            group.forEach((p, k) => p.resolve(p.write ? value : (value as AuditEntry[])[k]));
            return;
          }
          // A refused operation keeps its entry (the store's promise); anything else may have lost it.
          lost = true;
          for (const p of group) p.reject(p.write ? outcome.reason : unavailable(outcome.reason));
        });
        // Re-read the head next time: a failed write may or may not have landed its entry.
        if (lost) this.head = undefined;
        this.batchSettled();
      }
    } finally {
      this.writing = false;
      // Nothing is in flight any more: whoever still waits gets the head as it stands.
      this.settledBatches = this.taken;
      const waiters = this.headWaiters;
      this.headWaiters = [];
      for (const w of waiters) w.resolve(this.head);
    }
  }

  /** Resumes the chain from the last audit event in the log (coordinator restart). */
  private async resume(): Promise<{ index: number; hash: string } | null> {
    const all = await this.scan();
    const last = all[all.length - 1];
    return last ? { index: last.entry.index, hash: last.entry.hash } : null;
  }

  // Reads the whole log: fine for the embedded store's sizes; an audit index by type is the
  // next step when logs grow (noted in the issue).
  private async scan(): Promise<StoredAuditEntry[]> {
    const out: StoredAuditEntry[] = [];
    let after = 0;
    for (;;) {
      const page = await this.events.read(after, PAGE);
      for (const event of page) if (event.type === 'audit') out.push({ seq: event.seq, entry: event.data as unknown as AuditEntry });
      if (page.length < PAGE) return out;
      after = page[page.length - 1]!.seq;
    }
  }
}

/** Why an entry could not be written, as the caller refuses its operation with it. */
function unavailable(err: unknown): BitacoraError {
  // The whole store is down (disk full, read-only): say so; the operation is refused either way.
  if (isBitacoraError(err) && err.code === ErrorCode.StoreUnavailable) return err;
  return new AuditUnavailableError(`the audit trail cannot be written (${(err as Error).message}): privileged operations are refused until it can`, { cause: err });
}
