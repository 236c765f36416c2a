/** Reconnect delays: exponential with full jitter, capped — so a fleet of agents does not stampede a restarted master. Pure. */

export interface BackoffPolicy {
  /** First delay's upper bound. Default 200 ms. */
  initialMs: number;
  /** Largest delay. Default 5000 ms. */
  maxMs: number;
  /** Growth per failed attempt. Default 2. */
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 5000, factor: 2 };

/**
 * Delay before reconnect attempt `attempt` (0-based): uniformly random in
 * [cap/2, cap] with cap = min(maxMs, initialMs × factor^attempt) — "equal jitter", so the
 * delay grows but never collapses to zero.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt)));
  return Math.round(cap / 2 + random() * (cap / 2));
}
