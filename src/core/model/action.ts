/**
 * Action: an atomic step of a topic (L3). Logged by hand (`bitacora action log`) or executed;
 * an executed atomic action walks the two-phase states below, persisted so that a crash
 * between prepare and commit is resolved on the next start (no decision recorded = abort).
 */
import { z } from 'zod';
import { tagSchema, textSchema } from '../names.js';
import type { TransitionTable } from './transitions.js';

export const ACTION_TYPES = [
  'code', 'debug', 'research', 'meeting', 'documentation', 'testing', 'refactor', 'deploy', 'review', 'ops', 'other',
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

/** Execution phases of an action. `logged` is a hand-written record that never ran. */
export const ACTION_PHASES = [
  'logged', 'validating', 'preparing', 'prepared', 'committing', 'committed', 'rolling-back', 'rolled-back', 'succeeded', 'failed',
] as const;
export type ActionPhase = (typeof ACTION_PHASES)[number];

export const ACTION_TRANSITIONS: TransitionTable<ActionPhase> = {
  logged: [],
  validating: ['preparing', 'succeeded', 'failed'],
  preparing: ['prepared', 'rolling-back', 'failed'],
  prepared: ['committing', 'rolling-back'],
  committing: ['committed', 'rolling-back'],
  committed: [],
  'rolling-back': ['rolled-back', 'failed'],
  'rolled-back': [],
  succeeded: [],
  failed: [],
};

/** Phases an action may be left in by a crash; recovery resolves them. */
export const IN_DOUBT_PHASES: readonly ActionPhase[] = ['validating', 'preparing', 'prepared', 'committing', 'rolling-back'];

/** The persisted decision of an atomic action; null until the coordinator decides. */
export const ACTION_DECISIONS = ['commit', 'abort'] as const;
export type ActionDecision = (typeof ACTION_DECISIONS)[number];

export const actionOutcomeSchema = z.object({
  exitCode: z.number().int().nullable(),
  durationMs: z.number().int().nonnegative(),
  error: z.string().nullable(),
  /** Human summary of what happened, e.g. "prepare ok, commit failed, rolled back". */
  summary: z.string(),
});
export type ActionOutcome = z.infer<typeof actionOutcomeSchema>;

export const actionSchema = z.object({
  id: z.string(),
  sessionId: z.string().nullable(),
  topicId: z.string().nullable(),
  project: z.string().nullable(),
  type: z.enum(ACTION_TYPES),
  description: textSchema(4000),
  tags: z.array(tagSchema),
  startedAt: z.number().int(),
  endedAt: z.number().int().nullable(),
  command: z.string().nullable(),
  /** Node ids taking part (atomic actions across nodes); empty when local. */
  participants: z.array(z.string()),
  phase: z.enum(ACTION_PHASES),
  decision: z.enum(ACTION_DECISIONS).nullable(),
  outcome: actionOutcomeSchema.nullable(),
});
export type Action = z.infer<typeof actionSchema>;

export const newActionSchema = z
  .object({
    sessionId: z.string().nullable().default(null),
    topicId: z.string().nullable().default(null),
    project: z.string().nullable().default(null),
    type: z.enum(ACTION_TYPES).default('other'),
    description: textSchema(4000),
    tags: z.array(tagSchema).default([]),
    startedAt: z.number().int().optional(),
    endedAt: z.number().int().nullable().default(null),
    command: z.string().nullable().default(null),
    participants: z.array(z.string()).default([]),
    phase: z.enum(ACTION_PHASES).default('logged'),
  })
  .strict();
export type NewAction = z.input<typeof newActionSchema>;
