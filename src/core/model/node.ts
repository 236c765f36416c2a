/** Node: one Bitácora instance of the fleet — master, worker or hybrid. */
import { z } from 'zod';
import { capabilitySchema, slugSchema } from '../names.js';
import type { TransitionTable } from './transitions.js';

export const NODE_ROLES = ['master', 'worker', 'hybrid'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

export const NODE_STATUSES = ['joining', 'ready', 'draining', 'down', 'left'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export const NODE_TRANSITIONS: TransitionTable<NodeStatus> = {
  joining: ['ready', 'down', 'left'],
  ready: ['draining', 'down', 'left'],
  draining: ['ready', 'down', 'left'],
  down: ['joining', 'ready', 'draining', 'left'],
  left: ['joining'],
};

export const nodeResourcesSchema = z.object({
  cpus: z.number().int().nonnegative(),
  memoryBytes: z.number().nonnegative(),
  /** 1-minute load average of the machine. */
  load: z.number().nonnegative(),
});
export type NodeResources = z.infer<typeof nodeResourcesSchema>;

export const nodeSchema = z.object({
  id: z.string(),
  name: slugSchema,
  role: z.enum(NODE_ROLES),
  capabilities: z.array(capabilitySchema),
  specializations: z.array(capabilitySchema),
  /** Concurrent tasks the node accepts. */
  capacity: z.number().int().min(0).max(1024),
  resources: nodeResourcesSchema,
  status: z.enum(NODE_STATUSES),
  /** Tasks the agent reported running at its last heartbeat. */
  runningTasks: z.number().int().nonnegative(),
  lastHeartbeatAt: z.number().int().nullable(),
  joinedAt: z.number().int(),
  agentVersion: z.string(),
  /** Remote address of the agent's connection, for display. */
  address: z.string().nullable(),
});
export type FleetNode = z.infer<typeof nodeSchema>;

/** Statuses that can receive new work. */
export function acceptsWork(node: Pick<FleetNode, 'status' | 'role'>): boolean {
  return node.status === 'ready' && (node.role === 'worker' || node.role === 'hybrid' || node.role === 'master');
}
