import { describe, expect, it } from 'vitest';
import { AUDIT_GENESIS, canonicalJson, chainEntry, verifyAuditChain, type AuditEntry } from './audit.js';

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
    expect(verifyAuditChain(wrap(entries)).break).toMatchObject({ position: 1, index: 3, kind: 'missing-or-reordered' });
  });

  it('names a reordered entry', () => {
    const entries = chain(4);
    [entries[1], entries[2]] = [entries[2]!, entries[1]!];
    expect(verifyAuditChain(wrap(entries)).break).toMatchObject({ position: 1, index: 3, kind: 'missing-or-reordered' });
  });

  it('detects an edit that also recomputes the entry hash (the next link breaks)', () => {
    const entries = chain(3);
    const { hash: _ignored, ...rest } = { ...entries[1]!, actor: 'user:mallory' };
    entries[1] = chainEntry(entries[0]!, { actor: rest.actor, action: rest.action, target: rest.target, outcome: rest.outcome, details: rest.details }, rest.at);
    expect(verifyAuditChain(wrap(entries)).break).toMatchObject({ position: 2, index: 3, kind: 'missing-or-reordered' });
  });

  it('refuses something that is not an entry', () => {
    expect(verifyAuditChain(wrap([{ nope: true }])).break).toMatchObject({ position: 0, kind: 'malformed' });
  });
});
