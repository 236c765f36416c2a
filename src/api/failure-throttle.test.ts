import { describe, expect, it } from 'vitest';
import { FailureThrottle } from './failure-throttle.js';

describe('FailureThrottle', () => {
  it('refuses a key after maxFailures within the window, until the oldest failure leaves it', () => {
    const throttle = new FailureThrottle({ maxFailures: 3, windowMs: 1000 });
    for (const at of [0, 100, 200]) {
      expect(throttle.retryAfterMs('a', at)).toBe(0);
      throttle.fail('a', at);
    }
    expect(throttle.retryAfterMs('a', 300)).toBe(700);
    expect(throttle.retryAfterMs('b', 300)).toBe(0);
    expect(throttle.retryAfterMs('a', 1000)).toBe(0);
  });

  it('forgets a key on success and stays bounded', () => {
    const throttle = new FailureThrottle({ maxFailures: 1, windowMs: 1000, maxKeys: 2 });
    throttle.fail('a', 0);
    throttle.succeed('a');
    expect(throttle.retryAfterMs('a', 1)).toBe(0);
    throttle.fail('x', 0);
    throttle.fail('y', 0);
    throttle.fail('z', 0);
    expect(throttle.retryAfterMs('x', 1)).toBe(0); // evicted
    expect(throttle.retryAfterMs('z', 1)).toBeGreaterThan(0);
  });
});
