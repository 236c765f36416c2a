/**
 * Fleet events: the ordered log (outbox) of every state change. The live feed, audit and
 * replication read it. `seq` is assigned by the store, gap-free and increasing.
 */
import { z } from 'zod';

export const EVENT_TYPES = [
  'session.started', 'session.paused', 'session.resumed', 'session.ended', 'session.updated',
  'project.created', 'project.updated',
  'topic.created', 'topic.updated', 'topic.activated',
  'approval.requested', 'approval.decided',
  'action.logged', 'action.phase',
  'spark.added',
  'node.registered', 'node.status', 'node.role', 'node.removed', 'node.updated',
  'task.submitted', 'task.assigned', 'task.running', 'task.finished', 'task.requeued', 'task.cancelled', 'task.fenced',
  'token.created', 'token.consumed', 'token.refused', 'token.revoked',
  'config.updated', 'fleet.shutdown',
  'protocol.violation',
  // Hash-chained audit trail (src/security/audit.ts): who did what to which target, and the outcome.
  'audit',
  'kv.updated',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const fleetEventSchema = z.object({
  seq: z.number().int().positive(),
  at: z.number().int(),
  type: z.enum(EVENT_TYPES),
  /** The id the event is about (task id, node id, project slug…). */
  subject: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});
export type FleetEvent = z.infer<typeof fleetEventSchema>;

export type NewFleetEvent = Omit<FleetEvent, 'seq' | 'at'> & { at?: number };
