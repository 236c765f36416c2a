import { describe, expect, it } from 'vitest';
import { MasterLease } from './master-lease.js';

describe('MasterLease', () => {
  it('is expired before the first renewal', () => {
    const lease = new MasterLease();
    expect(lease.expired(1000, 15_000)).toBe(true);
    expect(lease.silenceAt(1000)).toBeNull();
  });

  it('runs from the sending time of the answered message, not from the answer', () => {
    const lease = new MasterLease();
    lease.renew(1000, 4000); // sent at 1000, answered at 4000 (slow network)
    expect(lease.silenceAt(4000)).toBe(3000);
    expect(lease.expired(16_000, 15_000)).toBe(false);
    expect(lease.expired(16_001, 15_000)).toBe(true);
  });

  it('ignores late, duplicated and reordered answers', () => {
    const lease = new MasterLease();
    lease.renew(5000, 5100);
    lease.renew(3000, 5200); // an older heartbeat answered late
    lease.renew(5000, 5300); // the same answer twice
    expect(lease.silenceAt(6000)).toBe(1000);
  });

  it('refuses an answer to a message not sent yet or a non-finite time', () => {
    const lease = new MasterLease();
    lease.renew(9000, 5000);
    lease.renew(Number.NaN, 5000);
    lease.renew(Number.POSITIVE_INFINITY, 5000);
    expect(lease.silenceAt(5000)).toBeNull();
  });
});
