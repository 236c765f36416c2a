/**
 * Settings the coordinator runs with, their defaults, and validation of live configuration
 * patches (UpdateConfiguration). Compiled from the master config by src/bin.
 */
import { parseOrThrow, ValidationError } from '../core/index.js';
import { z } from 'zod';
import type { AgentConfig } from '../rpc/messages.js';

export interface CoordinatorSettings {
  /** Agents' heartbeat period; live-updatable. Default 1000 ms. */
  heartbeatIntervalMs: number;
  /** A connected node is down after this many intervals without a heartbeat. Default 3. */
  missedHeartbeats: number;
  /** A node whose stream closed is down unless it reconnects within this. Default 2000 ms. */
  reconnectGraceMs: number;
  /** Agents cut off longer than this stop their tasks; live-updatable. Default 15000 ms. */
  selfFenceAfterMs: number;
  /**
   * After a coordinator (re)start, nodes recorded as up get this long to reconnect before
   * they are declared down and their tasks requeued. Default: reconnect grace + 3 intervals
   * + 5 s, to cover agents' reconnect backoff.
   */
  startupGraceMs?: number;
  /** Most pending tasks one plan looks at. Default 4096. */
  maxPlanWindow?: number;
  /** How often learned duration estimates are persisted. Default 5000 ms. */
  estimatesFlushMs?: number;
  /** Output bytes stored per task attempt; the rest is dropped and counted. Default 1 MiB. */
  maxOutputBytesPerAttempt?: number;
  /** Refused frames recorded per connection before it is closed. Default 20. */
  maxViolationsPerConnection?: number;
  /** A connection must send hello within this. Default 10000 ms. */
  helloTimeoutMs?: number;
  /** Lifetime of a join token when the caller names none. Default 1 h. */
  joinTokenTtlMs?: number;
}

export const DEFAULT_SETTINGS: CoordinatorSettings = {
  heartbeatIntervalMs: 1000,
  missedHeartbeats: 3,
  reconnectGraceMs: 2000,
  selfFenceAfterMs: 15_000,
};

export type ResolvedSettings = Required<CoordinatorSettings>;

export function resolveSettings(s: CoordinatorSettings): ResolvedSettings {
  return {
    ...s,
    startupGraceMs: s.startupGraceMs ?? s.reconnectGraceMs + 3 * s.heartbeatIntervalMs + 5_000,
    maxPlanWindow: s.maxPlanWindow ?? 4096,
    estimatesFlushMs: s.estimatesFlushMs ?? 5_000,
    maxOutputBytesPerAttempt: s.maxOutputBytesPerAttempt ?? 1024 * 1024,
    maxViolationsPerConnection: s.maxViolationsPerConnection ?? 20,
    helloTimeoutMs: s.helloTimeoutMs ?? 10_000,
    joinTokenTtlMs: s.joinTokenTtlMs ?? 3_600_000,
  };
}

const agentConfigPatchSchema = z
  .object({
    heartbeatIntervalMs: z.number().int().min(50, 'at least 50 ms').max(600_000, 'at most 10 minutes').optional(),
    selfFenceAfterMs: z.number().int().min(500, 'at least 500 ms').max(86_400_000, 'at most a day').optional(),
  })
  .strict();

/**
 * Validates a live patch against the current config: each field in range, and the result
 * coherent — an agent must not fence itself before the master could even notice it missing.
 * Throws ValidationError naming every problem.
 */
export function applyConfigPatch(current: AgentConfig, patch: unknown, missedHeartbeats: number): AgentConfig {
  const valid = parseOrThrow(agentConfigPatchSchema, patch, 'configuration');
  const next: AgentConfig = {
    heartbeatIntervalMs: valid.heartbeatIntervalMs ?? current.heartbeatIntervalMs,
    selfFenceAfterMs: valid.selfFenceAfterMs ?? current.selfFenceAfterMs,
  };
  if (next.selfFenceAfterMs <= next.heartbeatIntervalMs * missedHeartbeats) {
    const message = `must exceed heartbeatIntervalMs × ${missedHeartbeats} (${next.heartbeatIntervalMs * missedHeartbeats} ms), or agents would stop their work before the master notices them missing`;
    throw new ValidationError(`invalid configuration:\nselfFenceAfterMs: ${message}`, [{ path: 'selfFenceAfterMs', message }]);
  }
  return next;
}
