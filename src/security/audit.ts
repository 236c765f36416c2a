/**
 * The audit trail's chain logic, pure (no I/O): entries linked by `hash = sha256(prevHash +
 * canonical JSON of the entry)`, each authenticated by `mac = HMAC-SHA256(key, hash)`, and
 * signed Ed25519 checkpoints of the head kept outside the database. The coordinator's
 * AuditWriter stores entries as 'audit' events in the ordered log.
 *
 * Why both a public hash chain and a keyed MAC: the hash chain lets anyone holding only the
 * checkpoints' public key check the trail against a signed head (so an auditor can verify
 * without being able to write), and the MAC — over a hash that commits to every earlier
 * entry — stops someone with the database but not the key from recomputing the chain after
 * an edit. The checkpoints catch what no chain can see from the inside: the newest entries
 * removed.
 */
import { createHash, createHmac, createPublicKey, sign as signBytes, timingSafeEqual, verify as verifyBytes, type KeyObject } from 'node:crypto';
import type { AuditCheckpoint, AuditCheckpointBody } from '../core/index.js';

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
  /**
   * HMAC-SHA256 of `hash` under the audit MAC key (hex). Absent only in entries written before
   * the trail was keyed (a legacy prefix, accepted as such), never after a keyed entry.
   */
  mac?: string;
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
export function auditHash(entry: Omit<AuditEntry, 'hash' | 'mac'>): string {
  const { prevHash, ...body } = entry;
  return createHash('sha256').update(prevHash).update(canonicalJson(body)).digest('hex');
}

/** The MAC of an entry's hash under `key` (hex). */
export function auditMac(key: Uint8Array, hash: string): string {
  return createHmac('sha256', key).update(hash).digest('hex');
}

/** The next entry after `head` (null: the first one), MAC'd when `macKey` is given. */
export function chainEntry(head: { index: number; hash: string } | null, record: AuditRecord, at: number, macKey?: Uint8Array): AuditEntry {
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
  const hash = auditHash(unhashed);
  return { ...unhashed, hash, ...(macKey ? { mac: auditMac(macKey, hash) } : {}) };
}

// ───────────────────────── signed checkpoints ─────────────────────────
// The checkpoint's shape is in core (the agent protocol carries it too).

export type { AuditCheckpoint, AuditCheckpointBody } from '../core/index.js';

/** The id of a public key: sha256 of its SPKI DER, first 16 hex digits. */
export function auditKeyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** Digest of a whole checkpoint (signature included): what the next one names as `previous`. */
export function checkpointDigest(checkpoint: AuditCheckpoint): string {
  return createHash('sha256').update(canonicalJson(checkpoint)).digest('hex');
}

/** Signs the head `{index, hash}` (null: the empty trail) at `at`, chained to `previous`. */
export function signCheckpoint(
  head: { index: number; hash: string } | null,
  at: number,
  previous: AuditCheckpoint | null,
  privateKey: KeyObject,
): AuditCheckpoint {
  const body: AuditCheckpointBody = {
    version: 1,
    headIndex: head?.index ?? 0,
    headHash: head?.hash ?? AUDIT_GENESIS,
    at,
    previous: previous ? checkpointDigest(previous) : null,
    keyId: auditKeyId(createPublicKey(privateKey)),
  };
  return { ...body, signature: signBytes(null, Buffer.from(canonicalJson(body)), privateKey).toString('base64') };
}

/** Null when `value` is a checkpoint signed by `publicKey`; otherwise why not. */
export function checkCheckpoint(value: unknown, publicKey: KeyObject): string | null {
  if (!isCheckpointShaped(value)) return 'it is not a well-formed audit checkpoint';
  const { signature, ...body } = value;
  if (body.keyId !== auditKeyId(publicKey)) return `it was signed by key ${body.keyId}, not by ${auditKeyId(publicKey)}`;
  let good = false;
  try {
    good = verifyBytes(null, Buffer.from(canonicalJson(body)), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    good = false;
  }
  return good ? null : 'its signature does not verify';
}

function isCheckpointShaped(v: unknown): v is AuditCheckpoint {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return (
    o['version'] === 1 && Number.isInteger(o['headIndex']) && (o['headIndex'] as number) >= 0 && typeof o['headHash'] === 'string' &&
    typeof o['at'] === 'number' && (o['previous'] === null || typeof o['previous'] === 'string') && typeof o['keyId'] === 'string' &&
    typeof o['signature'] === 'string'
  );
}

// ───────────────────────── verification ─────────────────────────

/**
 * - `edited`: an entry no longer matches its hash (or no longer chains to the one before);
 * - `deleted`: entries are missing between two that remain;
 * - `reordered`: an entry appears out of its place;
 * - `recomputed`: the hashes are consistent but were rewritten — a MAC does not match, or the
 *   chain disagrees with a signed checkpoint;
 * - `truncated`: the newest entries were removed (a signed checkpoint names a later head);
 * - `checkpoint`: a checkpoint is forged, signed by another key, or missing from the file;
 * - `malformed`: an entry is not an audit entry at all.
 */
export type AuditBreakKind = 'edited' | 'deleted' | 'reordered' | 'recomputed' | 'truncated' | 'checkpoint' | 'malformed';

export interface AuditBreak {
  /** Position in the list given (0-based); the list's length when entries are missing at its end. */
  position: number;
  /** The audit index concerned (the entry's own, or the first one missing), when known. */
  index: number | null;
  /** Where the entry lives in the event log, when the caller passes it. */
  seq: number | null;
  kind: AuditBreakKind;
  message: string;
}

export interface AuditVerification {
  ok: boolean;
  /** Entries checked before the first break (all of them when whole). */
  checked: number;
  /** The first break, or null when the trail is whole. */
  break: null | AuditBreak;
  /** True when every entry's MAC was checked (the verifier held the MAC key). */
  keyed?: boolean;
  /** Checkpoints the trail was checked against (the file's and those passed in), and the newest. */
  checkpoints?: { checked: number; latest: { headIndex: number; at: number } | null };
}

export interface AuditTrailOptions {
  /** The MAC key: every entry's MAC is checked (otherwise only hashes and checkpoints). */
  macKey?: Uint8Array;
  /** The checkpoints' public key; required to use any checkpoint. */
  publicKey?: KeyObject;
  /** The master's checkpoint file, oldest first: each must name the one before. */
  checkpointLog?: readonly unknown[];
  /** Other checkpoints (one an agent kept): signed by the same key, not chained. */
  checkpoints?: readonly unknown[];
}

/** Verifies `entries` (oldest first) from the genesis, without a key or checkpoints: hashes and order only. */
export function verifyAuditChain(entries: ReadonlyArray<{ entry: unknown; seq?: number }>): AuditVerification {
  const { keyed: _keyed, checkpoints: _checkpoints, ...result } = verifyAuditTrail(entries, {});
  return result;
}

/**
 * Verifies the trail and names its first break. Checkpoints first (a forged one proves
 * nothing), then every entry in order: shape, hash, place in the chain, MAC (with the key),
 * agreement with every checkpoint at its index; finally whether a checkpoint names a head
 * beyond the last entry. Everything after the first break is unverifiable by construction.
 */
export function verifyAuditTrail(entries: ReadonlyArray<{ entry: unknown; seq?: number }>, options: AuditTrailOptions): AuditVerification {
  const fail = (checked: number, b: AuditBreak): AuditVerification => ({ ok: false, checked, break: b, keyed: options.macKey !== undefined, checkpoints: { checked: 0, latest: null } });

  // 1. The checkpoints: signed by the key, the file's linked one to the next.
  const checkpoints: AuditCheckpoint[] = [];
  const sources: Array<{ list: readonly unknown[]; chained: boolean; what: string }> = [
    { list: options.checkpointLog ?? [], chained: true, what: 'checkpoint file' },
    { list: options.checkpoints ?? [], chained: false, what: 'checkpoint given' },
  ];
  for (const { list, chained, what } of sources) {
    if (list.length > 0 && !options.publicKey) {
      return fail(0, { position: 0, index: null, seq: null, kind: 'checkpoint', message: `the ${what} cannot be checked without the audit public key` });
    }
    let previous: AuditCheckpoint | null = null;
    for (let i = 0; i < list.length; i++) {
      const why = checkCheckpoint(list[i], options.publicKey!);
      if (why) return fail(0, { position: 0, index: null, seq: null, kind: 'checkpoint', message: `${what} #${i + 1} cannot be trusted: ${why}` });
      const cp = list[i] as AuditCheckpoint;
      if (chained) {
        const expected = previous ? checkpointDigest(previous) : null;
        // The head may go back (a restored or truncated trail, caught below by the entries): only the links count here.
        if (cp.previous !== expected) {
          return fail(0, {
            position: 0, index: null, seq: null, kind: 'checkpoint',
            message: `${what} #${i + 1} (signed ${iso(cp.at)}) does not follow the checkpoint before it: a checkpoint was removed, edited or moved`,
          });
        }
        previous = cp;
      }
      checkpoints.push(cp);
    }
  }
  const byIndex = new Map<number, AuditCheckpoint[]>();
  for (const cp of checkpoints) byIndex.set(cp.headIndex, [...(byIndex.get(cp.headIndex) ?? []), cp]);
  const newest = checkpoints.reduce<AuditCheckpoint | null>((best, cp) => (best === null || cp.headIndex > best.headIndex ? cp : best), null);
  const summary = { checked: checkpoints.length, latest: newest ? { headIndex: newest.headIndex, at: newest.at } : null };
  const broke = (checked: number, b: AuditBreak): AuditVerification => ({ ...fail(checked, b), checkpoints: summary });

  // 2. The entries.
  let prev: { index: number; hash: string } = { index: 0, hash: AUDIT_GENESIS };
  let keyedSeen = false;
  let lastMatched: AuditCheckpoint | null = null;
  for (let i = 0; i < entries.length; i++) {
    const { entry, seq } = entries[i]!;
    const where = seq ? ` (event seq ${seq})` : '';
    const at = (kind: AuditBreakKind, index: number | null, message: string): AuditVerification =>
      broke(i, { position: i, index, seq: seq ?? null, kind, message });
    if (!isEntryShaped(entry)) return at('malformed', null, `audit entry at position ${i}${where} is not a well-formed audit entry`);
    const { hash, mac, ...rest } = entry;
    if (auditHash(rest) !== hash) {
      return at('edited', entry.index, `audit entry #${entry.index}${where} was altered: its content no longer matches its hash`);
    }
    const expected = prev.index + 1;
    if (entry.index !== expected) {
      const later = entries.slice(i + 1).some((e) => isEntryShaped(e.entry) && e.entry.index === expected);
      const earlier = entry.index < expected;
      if (later || earlier) {
        return at('reordered', entry.index, `audit entry #${entry.index}${where} is out of place: entry #${expected} should come here (entries were moved)`);
      }
      const gap = entry.index - 1 === expected ? `#${expected} is` : `#${expected}–#${entry.index - 1} are`;
      return at('deleted', expected, `audit entry ${gap} missing: deleted between #${prev.index} and #${entry.index}${where}`);
    }
    if (entry.prevHash !== prev.hash) {
      return at('edited', entry.index, `audit entry #${entry.index}${where} does not chain to entry #${prev.index}: it was replaced`);
    }
    if (options.macKey) {
      if (mac === undefined) {
        if (keyedSeen) return at('recomputed', entry.index, `audit entry #${entry.index}${where} has no MAC although earlier entries do: the chain was rewritten from here on`);
      } else {
        keyedSeen = true;
        if (!macEquals(mac, auditMac(options.macKey, hash))) {
          return at('recomputed', entry.index, `audit entry #${entry.index}${where} has a MAC that does not match: it was rewritten and the chain recomputed from here on`);
        }
      }
    }
    for (const cp of byIndex.get(entry.index) ?? []) {
      if (cp.headHash === entry.hash) {
        lastMatched = cp;
        continue;
      }
      const cut = truncationPoint(entries, cp);
      if (cut) return broke(cut.position, cut);
      const since = lastMatched ? `after #${lastMatched.headIndex} (which matches the checkpoint signed ${iso(lastMatched.at)})` : 'from the start';
      return at('recomputed', entry.index, `audit entry #${entry.index}${where} differs from the checkpoint signed ${iso(cp.at)}: the chain was rewritten ${since}, at or before #${entry.index}`);
    }
    prev = { index: entry.index, hash: entry.hash };
  }
  if (newest && newest.headIndex > prev.index) {
    const cut = truncationPoint(entries, newest);
    if (cut) return broke(cut.position, cut);
    const gap = newest.headIndex === prev.index + 1 ? `#${newest.headIndex} is` : `#${prev.index + 1}–#${newest.headIndex} are`;
    return broke(entries.length, {
      position: entries.length, index: prev.index + 1, seq: null, kind: 'truncated',
      message: `the newest audit entries were removed: ${gap} gone (the checkpoint signed ${iso(newest.at)} names head #${newest.headIndex}, the trail ends at #${prev.index})`,
    });
  }
  return { ok: true, checked: entries.length, break: null, keyed: options.macKey !== undefined, checkpoints: summary };
}

/**
 * Where the newest entries were cut when the trail went on afterwards (a master restarted on a
 * truncated log): the first entry at or before `cp`'s head index written after `cp` was signed.
 */
function truncationPoint(entries: ReadonlyArray<{ entry: unknown; seq?: number }>, cp: AuditCheckpoint): AuditBreak | null {
  const position = entries.findIndex((e) => isEntryShaped(e.entry) && e.entry.index <= cp.headIndex && e.entry.at > cp.at);
  if (position < 0) return null;
  const cut = (entries[position]!.entry as AuditEntry).index;
  return {
    position, index: cut, seq: entries[position]!.seq ?? null, kind: 'truncated',
    message: `the newest audit entries were removed: #${cut}–#${cp.headIndex} (the head of the checkpoint signed ${iso(cp.at)}) are gone, and the trail went on from #${cut - 1}`,
  };
}

function macEquals(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

const iso = (ms: number): string => new Date(ms).toISOString();

function isEntryShaped(e: unknown): e is AuditEntry {
  if (e === null || typeof e !== 'object') return false;
  const o = e as Record<string, unknown>;
  return (
    typeof o['index'] === 'number' && typeof o['at'] === 'number' && typeof o['actor'] === 'string' && typeof o['action'] === 'string' &&
    (o['target'] === null || typeof o['target'] === 'string') && typeof o['outcome'] === 'string' &&
    (o['reason'] === null || typeof o['reason'] === 'string') && typeof o['details'] === 'object' && o['details'] !== null &&
    typeof o['prevHash'] === 'string' && typeof o['hash'] === 'string' && (o['mac'] === undefined || typeof o['mac'] === 'string')
  );
}
