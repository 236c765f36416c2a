/**
 * Fleet-level shapes shared by the coordinator, the agent protocol and the API client:
 * the live agent configuration, emergency tiers, status, join info and created join tokens.
 * Defined once here because the client may import only core.
 */
import type { TaskState } from './task.js';

export interface AgentConfig {
  /** Default 1000 ms. */
  heartbeatIntervalMs: number;
  /** An agent cut off longer than this stops its own tasks. Default 15000 ms. */
  selfFenceAfterMs: number;
}

export const EMERGENCY_TIERS = ['stop-dispatch', 'cancel-all', 'shutdown-nodes'] as const;
export type EmergencyTier = (typeof EMERGENCY_TIERS)[number];

export interface FleetStatus {
  nodes: { total: number; ready: number; down: number; draining: number };
  tasks: Record<TaskState, number>;
  acceptingWork: boolean;
  config: AgentConfig;
}

export interface JoinInfo {
  /** PEM of the fleet CA; the joining agent checks its sha256 against the pinned hash. */
  caCertPem: string;
  /** `sha256:<hex of the DER certificate>`. */
  caHash: string;
  /** host:port of the gRPC agent endpoint. */
  grpcAddress: string;
  protocolVersion: number;
}

export interface CreatedJoinToken {
  id: string;
  token: string;
  role: 'worker' | 'hybrid';
  expiresAt: number;
  caHash: string;
  /** The full `bitacora join …` command for another machine. */
  join: string;
}
