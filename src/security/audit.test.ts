import { describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  AUDIT_GENESIS, canonicalJson, chainEntry, checkCheckpoint, signCheckpoint, verifyAuditChain, verifyAuditTrail,
  type AuditCheckpoint, type AuditEntry,
} from './audit.js';

function chain(n: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (let i = 0; i < n; i++) {
    const head = out[out.length - 1] ?? null;
    out.push(chainEntry(head, { actor: 'user:admin', action: `op.${i}`, target: `nod_${i}`, outcome: 'allowed', details: { i } }, 1000 + i));
  }
  return out;
}
const wrap = (entries: unknown[]) => entries.map((entry, i) => ({ entry, seq: 10 + i }));

describe('canonicalJson', () => {
  it('gives one string whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
});

describe('audit chain', () => {
  it('links every entry to the one before, from the genesis', () => {
    const entries = chain(3);
    expect(entries[0]!.prevHash).toBe(AUDIT_GENESIS);
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
    expect(entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(verifyAuditChain(wrap(entries))).toEqual({ ok: true, checked: 3, break: null });
  });

  it('names an edited entry', () => {
    const entries = chain(4);
    entries[2] = { ...entries[2]!, outcome: 'denied' };
    const result = verifyAuditChain(wrap(entries));
    expect(result.ok).toBe(false);
    expect(result.break).toMatchObject({ position: 2, index: 3, seq: 12, kind: 'edited' });
    expect(result.break!.message).toContain('#3');
  });

  it('names where a deleted entry was', () => {
    const entries = chain(4);
    entries.splice(1, 1);
    expect(verifyAuditChain(wrap(entries)).break).toMatchObject({ position: 1, index: 2, kind: 'deleted' });
  });

  it('names a reordered entry', () => {
    const entries = chain(4);
    [entries[1], entries[2]] = [entries[2]!, entries[1]!];
    expect(verifyAuditChain(wrap(entries)).break).toMatchObject({ position: 1, index: 3, kind: 'reordered' });
  });

  it('detects an edit that also recomputes the entry hash (the next link breaks)', () => {
    const entries = chain(3);
    const { hash: _ignored, ...rest } = { ...entries[1]!, actor: 'user:mallory' };
    entries[1] = chainEntry(entries[0]!, { actor: rest.actor, action: rest.action, target: rest.target, outcome: rest.outcome, details: rest.details }, rest.at);
    expect(verifyAuditChain(wrap(entries)).break).toMatchObject({ position: 2, index: 3, kind: 'edited' });
  });

  it('refuses something that is not an entry', () => {
    expect(verifyAuditChain(wrap([{ nope: true }])).break).toMatchObject({ position: 0, kind: 'malformed' });
  });
});

describe('keyed audit trail with signed checkpoints', () => {
  const macKey = randomBytes(32);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const record = (i: number) => ({ actor: 'user:admin', action: `op.${i}`, target: null, outcome: 'allowed' as const });
  /** n keyed entries, entry i written at 1000 + 10·i; a checkpoint after every `every` entries, signed 5 ms after its head. */
  function trail(n: number, every: number): { entries: AuditEntry[]; log: AuditCheckpoint[] } {
    const entries: AuditEntry[] = [];
    const log: AuditCheckpoint[] = [];
    for (let i = 1; i <= n; i++) {
      entries.push(chainEntry(entries[entries.length - 1] ?? null, record(i), 1000 + 10 * i, macKey));
      if (i % every === 0) log.push(signCheckpoint(entries[i - 1]!, 1005 + 10 * i, log[log.length - 1] ?? null, privateKey));
    }
    return { entries, log };
  }
  /** What someone with the database but no key can do: rewrite entries from `from` (0-based) on and recompute every hash. */
  function recomputeFrom(entries: AuditEntry[], from: number, edit: (e: AuditEntry) => Partial<AuditEntry>): AuditEntry[] {
    const out = entries.slice(0, from);
    for (const e of entries.slice(from)) {
      const changed = { ...e, ...(out.length === from ? edit(e) : {}) };
      const next = chainEntry(out[out.length - 1] ?? null, { actor: changed.actor, action: changed.action, target: changed.target, outcome: changed.outcome }, changed.at);
      out.push(e.mac ? { ...next, mac: e.mac } : next); // the old MAC kept: a new one needs the key
    }
    return out;
  }

  it('verifies an untouched trail with the MAC key, and with only the public key', () => {
    const { entries, log } = trail(9, 3);
    expect(verifyAuditTrail(wrap(entries), { macKey, publicKey, checkpointLog: log })).toMatchObject({
      ok: true, checked: 9, keyed: true, checkpoints: { checked: 3, latest: { headIndex: 9 } },
    });
    expect(verifyAuditTrail(wrap(entries), { publicKey: createPublicKey(privateKey.export({ type: 'pkcs8', format: 'pem' })), checkpointLog: log })).toMatchObject({ ok: true, keyed: false });
  });

  it('names the newest entries removed', () => {
    const { entries, log } = trail(9, 3);
    const result = verifyAuditTrail(wrap(entries.slice(0, 7)), { macKey, publicKey, checkpointLog: log });
    expect(result.break).toMatchObject({ position: 7, index: 8, kind: 'truncated' });
    expect(result.break!.message).toContain('#8–#9');
  });

  it('names the newest entries removed when the trail went on after the cut (a restarted master)', () => {
    const { entries, log } = trail(9, 3);
    const kept = entries.slice(0, 7);
    for (let i = 0; i < 3; i++) kept.push(chainEntry(kept[kept.length - 1]!, record(100 + i), 5000 + i, macKey));
    const result = verifyAuditTrail(wrap(kept), { macKey, publicKey, checkpointLog: log });
    expect(result.break).toMatchObject({ position: 7, index: 8, kind: 'truncated' });
  });

  it('names an entry deleted in the middle, and entries swapped', () => {
    const { entries, log } = trail(9, 3);
    expect(verifyAuditTrail(wrap([...entries.slice(0, 4), ...entries.slice(5)]), { macKey, publicKey, checkpointLog: log }).break)
      .toMatchObject({ position: 4, index: 5, kind: 'deleted' });
    const swapped = [...entries];
    [swapped[4], swapped[5]] = [swapped[5]!, swapped[4]!];
    expect(verifyAuditTrail(wrap(swapped), { macKey, publicKey, checkpointLog: log }).break).toMatchObject({ position: 4, index: 6, kind: 'reordered' });
  });

  it('names a chain recomputed from an edited entry: by its MAC with the key, by the checkpoints with only the public key', () => {
    const { entries, log } = trail(9, 3);
    const forged = recomputeFrom(entries, 4, () => ({ actor: 'user:mallory' }));
    expect(verifyAuditChain(wrap(forged)).ok).toBe(true); // the unkeyed chain alone is fooled
    expect(verifyAuditTrail(wrap(forged), { macKey, publicKey, checkpointLog: log }).break).toMatchObject({ position: 4, index: 5, kind: 'recomputed' });
    const publicOnly = verifyAuditTrail(wrap(forged), { publicKey, checkpointLog: log });
    expect(publicOnly.break).toMatchObject({ position: 5, index: 6, kind: 'recomputed' });
    expect(publicOnly.break!.message).toContain('after #3');
  });

  it('refuses entries without a MAC after keyed ones, and accepts an unkeyed legacy prefix', () => {
    const legacy = chain(2);
    const keyed = [...legacy];
    for (let i = 0; i < 2; i++) keyed.push(chainEntry(keyed[keyed.length - 1]!, record(i), 2000 + i, macKey));
    expect(verifyAuditTrail(wrap(keyed), { macKey }).ok).toBe(true);
    const { mac: _dropped, ...stripped } = keyed[3]!;
    expect(verifyAuditTrail(wrap([...keyed.slice(0, 3), stripped]), { macKey }).break).toMatchObject({ position: 3, kind: 'recomputed' });
  });

  it('checks a checkpoint an agent kept, and refuses forged or foreign checkpoints', () => {
    const { entries, log } = trail(9, 3);
    const held = log[2]!;
    expect(verifyAuditTrail(wrap(entries), { publicKey, checkpoints: [held] }).ok).toBe(true);
    expect(verifyAuditTrail(wrap(entries.slice(0, 8)), { publicKey, checkpoints: [held] }).break).toMatchObject({ kind: 'truncated', index: 9 });
    const forged = { ...held, headIndex: 8 };
    expect(checkCheckpoint(forged, publicKey)).toContain('signature does not verify');
    expect(verifyAuditTrail(wrap(entries), { publicKey, checkpoints: [forged] }).break).toMatchObject({ kind: 'checkpoint' });
    const other = generateKeyPairSync('ed25519');
    expect(checkCheckpoint(signCheckpoint(null, 1, null, other.privateKey), publicKey)).toContain('signed by key');
    expect(verifyAuditTrail(wrap(entries), { checkpoints: [held] }).break).toMatchObject({ kind: 'checkpoint' });
  });

  it('names a checkpoint removed from the file', () => {
    const { entries, log } = trail(9, 3);
    expect(verifyAuditTrail(wrap(entries), { publicKey, checkpointLog: [log[0]!, log[2]!] }).break).toMatchObject({ kind: 'checkpoint' });
    expect(AUDIT_GENESIS).toHaveLength(64);
  });
});
