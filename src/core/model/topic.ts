/** Topic: an ordered line of work inside a project (L2), serial, gated by its risk level. */
import { z } from 'zod';
import { slugSchema, textSchema } from '../names.js';
import type { TransitionTable } from './transitions.js';

export const TOPIC_STATUSES = ['planning', 'in-progress', 'completed', 'on-hold', 'cancelled'] as const;
export type TopicStatus = (typeof TOPIC_STATUSES)[number];

export const RISK_LEVELS = ['low', 'medium', 'high'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export const TOPIC_TRANSITIONS: TransitionTable<TopicStatus> = {
  planning: ['in-progress', 'on-hold', 'cancelled'],
  'in-progress': ['completed', 'on-hold', 'cancelled'],
  'on-hold': ['in-progress', 'planning', 'cancelled'],
  completed: ['in-progress'],
  cancelled: [],
};

export const topicSchema = z.object({
  id: z.string(),
  project: slugSchema,
  title: textSchema(200).min(1),
  description: textSchema(4000),
  status: z.enum(TOPIC_STATUSES),
  priority: z.number().int().min(0).max(10),
  risk: z.enum(RISK_LEVELS),
  estimatedHours: z.number().nonnegative().nullable(),
  actualHours: z.number().nonnegative().nullable(),
  /** Ids of topics of the same project that must complete first. */
  dependsOn: z.array(z.string()),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});
export type Topic = z.infer<typeof topicSchema>;

export const newTopicSchema = z
  .object({
    project: slugSchema,
    title: textSchema(200).min(1),
    description: textSchema(4000).default(''),
    priority: z.number().int().min(0).max(10).default(5),
    risk: z.enum(RISK_LEVELS).default('low'),
    estimatedHours: z.number().nonnegative().nullable().default(null),
    dependsOn: z.array(z.string()).default([]),
  })
  .strict();
export type NewTopic = z.input<typeof newTopicSchema>;

/** Approval of a risky topic run: requested by the engine, decided by a user, or expired. */
export const APPROVAL_STATES = ['pending', 'approved', 'rejected', 'expired'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

export const approvalSchema = z.object({
  id: z.string(),
  topicId: z.string(),
  project: slugSchema,
  reason: z.string(),
  state: z.enum(APPROVAL_STATES),
  requestedAt: z.number().int(),
  expiresAt: z.number().int(),
  decidedAt: z.number().int().nullable(),
  decidedBy: z.string().nullable(),
  note: z.string().nullable(),
});
export type Approval = z.infer<typeof approvalSchema>;
