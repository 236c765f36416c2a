/**
 * The audit trail's chain logic, pure: entries linked by `hash = sha256(prevHash + canonical
 * JSON of the entry)`, so editing, deleting or reordering any entry breaks every hash after
 * it. The coordinator's AuditWriter stores entries as 'audit' events in the ordered log.
 */
import { createHash } from 'node:crypto';

/** Who acted: a user or API principal (`user:admin`), a node (`node:nod_…`), or the coordinator itself. */
export type AuditActor = string;
export type AuditOutcome = 'allowed' | 'denied' | 'succeeded' | 'failed';

/** What the caller supplies. Never put a secret in `details`: HMAC it first (security/tokens). */
export interface AuditRecord {
  actor: AuditActor;
  /** The operation, e.g. `node.revoke`, `node.connect`, `token.create`. */
  action: string;
  /** What it acted on (node id, token id, project), or null. */
  target: string | null;
  outcome: AuditOutcome;
  /** Why (denials) or a short summary. */
  reason?: string;
  details?: Record<string, unknown>;
}

/** A chained entry as stored. `index` counts audit entries from 1, gap-free. */
export interface AuditEntry extends Required<Omit<AuditRecord, 'reason' | 'details'>> {
  index: number;
  at: number;
  reason: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** The prevHash of the first entry. */
export const AUDIT_GENESIS = '0'.repeat(64);

/** JSON with object keys sorted at every level: one byte string per value, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The hash of `entry` (its own `hash` field excluded) chained to `entry.prevHash`. */
export function auditHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { prevHash, ...body } = entry;
  return createHash('sha256').update(prevHash).update(canonicalJson(body)).digest('hex');
}

/** The next entry after `head` (null: the first one). */
export function chainEntry(head: { index: number; hash: string } | null, record: AuditRecord, at: number): AuditEntry {
  const unhashed: Omit<AuditEntry, 'hash'> = {
    index: (head?.index ?? 0) + 1,
    at,
    actor: record.actor,
    action: record.action,
    target: record.target,
    outcome: record.outcome,
    reason: record.reason ?? null,
    details: record.details ?? {},
    prevHash: head?.hash ?? AUDIT_GENESIS,
  };
  return { ...unhashed, hash: auditHash(unhashed) };
}

export type AuditBreakKind = 'edited' | 'missing-or-reordered' | 'malformed';

export interface AuditVerification {
  ok: boolean;
  /** Entries checked. */
  checked: number;
  /** The first break, or null when the chain is whole. */
  break: null | {
    /** Position in the list given (0-based). */
    position: number;
    /** The entry's own index field, when readable. */
    index: number | null;
    /** Where the entry lives in the event log, when the caller passes it. */
    seq: number | null;
    kind: AuditBreakKind;
    message: string;
  };
}

/**
 * Verifies `entries` (oldest first) from the genesis. An edited entry no longer matches its
 * hash; a deleted or moved one leaves a prevHash or index that does not follow. Names the
 * first break only: everything after it is unverifiable by construction.
 */
export function verifyAuditChain(entries: ReadonlyArray<{ entry: unknown; seq?: number }>): AuditVerification {
  let prev: { index: number; hash: string } = { index: 0, hash: AUDIT_GENESIS };
  for (let i = 0; i < entries.length; i++) {
    const { entry, seq } = entries[i]!;
    const broke = (kind: AuditBreakKind, index: number | null, message: string): AuditVerification => ({
      ok: false,
      checked: i,
      break: { position: i, index, seq: seq ?? null, kind, message },
    });
    if (!isEntryShaped(entry)) return broke('malformed', null, `audit entry at position ${i}${seq ? ` (event seq ${seq})` : ''} is not a well-formed audit entry`);
    const { hash, ...rest } = entry;
    if (auditHash(rest) !== hash) {
      return broke('edited', entry.index, `audit entry #${entry.index}${seq ? ` (event seq ${seq})` : ''} was altered: its content no longer matches its hash`);
    }
    if (entry.prevHash !== prev.hash || entry.index !== prev.index + 1) {
      return broke(
        'missing-or-reordered',
        entry.index,
        `audit entry #${entry.index}${seq ? ` (event seq ${seq})` : ''} does not follow entry #${prev.index}: an entry was deleted, inserted or moved`,
      );
    }
    prev = { index: entry.index, hash: entry.hash };
  }
  return { ok: true, checked: entries.length, break: null };
}

function isEntryShaped(e: unknown): e is AuditEntry {
  if (e === null || typeof e !== 'object') return false;
  const o = e as Record<string, unknown>;
  return (
    typeof o['index'] === 'number' && typeof o['at'] === 'number' && typeof o['actor'] === 'string' && typeof o['action'] === 'string' &&
    (o['target'] === null || typeof o['target'] === 'string') && typeof o['outcome'] === 'string' &&
    (o['reason'] === null || typeof o['reason'] === 'string') && typeof o['details'] === 'object' && o['details'] !== null &&
    typeof o['prevHash'] === 'string' && typeof o['hash'] === 'string'
  );
}
