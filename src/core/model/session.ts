/** Session: a user's working period, spanning devices; carries the distribution strategy. */
import { z } from 'zod';
import { slugSchema, textSchema, userNameSchema } from '../names.js';
import type { TransitionTable } from './transitions.js';

export const SESSION_STATUSES = ['active', 'paused', 'ended'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const DISTRIBUTION_STRATEGIES = ['MasterSlave', 'PeerToPeer', 'Hierarchical', 'Dynamic'] as const;
export type DistributionStrategy = (typeof DISTRIBUTION_STRATEGIES)[number];

export const SESSION_TRANSITIONS: TransitionTable<SessionStatus> = {
  active: ['paused', 'ended'],
  paused: ['active', 'ended'],
  ended: [],
};

export const sessionSchema = z.object({
  id: z.string(),
  user: z.string().min(1).max(64),
  project: slugSchema.nullable(),
  status: z.enum(SESSION_STATUSES),
  description: textSchema(2000),
  startedAt: z.number().int(),
  endedAt: z.number().int().nullable(),
  /** Sum of paused intervals; duration is derived from this, never stored. */
  pausedMs: z.number().int().nonnegative(),
  /** Set while paused: when the current pause began. */
  pausedAt: z.number().int().nullable(),
  primaryNode: z.string().nullable(),
  participatingNodes: z.array(z.string()),
  strategy: z.enum(DISTRIBUTION_STRATEGIES),
  /** How often participants sync state, in milliseconds. */
  syncIntervalMs: z.number().int().positive(),
  lastSyncAt: z.number().int().nullable(),
});
export type Session = z.infer<typeof sessionSchema>;

export const newSessionSchema = z
  .object({
    user: userNameSchema,
    project: slugSchema.nullable().default(null),
    description: textSchema(2000).default(''),
    primaryNode: z.string().nullable().default(null),
    participatingNodes: z.array(z.string()).default([]),
    strategy: z.enum(DISTRIBUTION_STRATEGIES).default('MasterSlave'),
    syncIntervalMs: z.number().int().positive().default(5000),
  })
  .strict();
export type NewSession = z.input<typeof newSessionSchema>;

/** Working time of a session at `now`: wall time minus paused time. Derived, never stored. */
export function sessionDurationMs(session: Session, now: number): number {
  const end = session.endedAt ?? now;
  const openPause = session.pausedAt !== null ? end - session.pausedAt : 0;
  return Math.max(0, end - session.startedAt - session.pausedMs - openPause);
}
