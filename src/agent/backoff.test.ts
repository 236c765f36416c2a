import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';

describe('backoffDelay', () => {
  it('grows exponentially and stays within [cap/2, cap]', () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0)).toBe(100);
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 1)).toBe(200);
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 1)).toBe(1600);
  });

  it('never exceeds maxMs however many attempts failed', () => {
    for (let attempt = 0; attempt < 100; attempt++) expect(backoffDelay(attempt, DEFAULT_BACKOFF)).toBeLessThanOrEqual(DEFAULT_BACKOFF.maxMs);
    expect(backoffDelay(50, DEFAULT_BACKOFF, () => 0)).toBe(DEFAULT_BACKOFF.maxMs / 2);
  });
});
