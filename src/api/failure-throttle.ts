/**
 * FailureThrottle: at most `maxFailures` failed attempts per key (a client address) within
 * `windowMs`; beyond that the key is refused until its oldest failure leaves the window. Used
 * on the public login route, where every refused token is also an audit entry: without it one
 * client could flood the trail. Pure (time is passed in), bounded (oldest keys evicted).
 */
export interface FailureThrottleOptions {
  /** Default 10. */
  maxFailures?: number;
  /** Default 60 000 ms. */
  windowMs?: number;
  /** Keys remembered at most; the least recently failing is forgotten first. Default 10 000. */
  maxKeys?: number;
}

export class FailureThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;

  constructor(options: FailureThrottleOptions = {}) {
    this.maxFailures = options.maxFailures ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  /** 0 when `key` may try now; otherwise how many ms until it may. */
  retryAfterMs(key: string, now: number): number {
    const recent = this.recent(key, now);
    if (recent.length < this.maxFailures) return 0;
    return recent[recent.length - this.maxFailures]! + this.windowMs - now;
  }

  fail(key: string, now: number): void {
    const recent = this.recent(key, now);
    recent.push(now);
    // Re-inserted, so Map order is "least recently failing first" for eviction.
    this.failures.delete(key);
    this.failures.set(key, recent.slice(-this.maxFailures));
    if (this.failures.size > this.maxKeys) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((at) => now - at < this.windowMs);
  }
}
