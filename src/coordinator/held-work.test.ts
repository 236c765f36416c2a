import { describe, expect, it } from 'vitest';
import { HeldWork, LEASE_MARGIN_MS, leaseEndsAt, LeaseTerms } from './held-work.js';

describe('leaseEndsAt', () => {
  it('is the last time heard plus the lease plus the margin', () => {
    expect(leaseEndsAt(10_000, 15_000)).toBe(25_000 + LEASE_MARGIN_MS);
  });
});

describe('HeldWork', () => {
  it('hands out entries once their time has come, once', () => {
    const held = new HeldWork();
    held.hold('n1', 100, 'missed 3 heartbeats');
    held.hold('n2', 200, 'revoked');
    expect(held.due(99)).toEqual([]);
    expect(held.due(150)).toEqual([{ nodeId: 'n1', until: 100, reason: 'missed 3 heartbeats' }]);
    expect(held.due(150)).toEqual([]);
    expect(held.size).toBe(1);
  });

  it('keeps the later time when a node is held twice', () => {
    const held = new HeldWork();
    held.hold('n1', 300, 'first');
    held.hold('n1', 200, 'second');
    expect(held.get('n1')).toEqual({ nodeId: 'n1', until: 300, reason: 'second' });
  });

  it('forgets a released node (it came back: SyncState decides)', () => {
    const held = new HeldWork();
    held.hold('n1', 100, 'x');
    held.release('n1');
    expect(held.due(1000)).toEqual([]);
  });
});

describe('LeaseTerms', () => {
  it('uses a longer lease at once', () => {
    const terms = new LeaseTerms(5000);
    terms.change(20_000, 1000, ['n1']);
    expect(terms.for('n1', 1000)).toBe(20_000);
  });

  it('keeps a shortened lease in force for known nodes until a lease granted under it has ended', () => {
    const terms = new LeaseTerms(15_000);
    terms.change(4000, 10_000, ['n1']);
    expect(terms.for('n1', 10_000)).toBe(15_000);
    expect(terms.for('n1', 10_000 + 15_000 + LEASE_MARGIN_MS - 1)).toBe(15_000);
    expect(terms.for('n1', 10_000 + 15_000 + LEASE_MARGIN_MS)).toBe(4000);
    // A node that joins after the change got the short lease in its welcome.
    expect(terms.for('n2', 10_000)).toBe(4000);
  });

  it('ends the longer lease of a node once it is welcomed again', () => {
    const terms = new LeaseTerms(15_000);
    terms.change(4000, 0, ['n1']);
    terms.welcomed('n1');
    expect(terms.for('n1', 1)).toBe(4000);
  });

  it('shortened twice in a row, the longest still holds (counted, conservatively, from the second change)', () => {
    const terms = new LeaseTerms(30_000);
    terms.change(10_000, 0, ['n1']);
    terms.change(5000, 1000, ['n1']);
    expect(terms.for('n1', 20_000)).toBe(30_000);
    expect(terms.for('n1', 1000 + 30_000 + LEASE_MARGIN_MS - 1)).toBe(30_000);
    expect(terms.for('n1', 1000 + 30_000 + LEASE_MARGIN_MS)).toBe(5000);
  });
});
