/**
 * In-memory run states of the engine (the persisted statuses live in the logbook model).
 * Each run object walks its table with guarded transitions, so an illegal jump is a bug
 * that fails loudly (InvalidTransitionError) rather than a silently wrong display.
 */
import { assertTransition, type TransitionTable } from '../core/index.js';

export const PROJECT_RUN_STATES = ['pending', 'running', 'completed', 'failed', 'cancelled', 'stopped'] as const;
/** `stopped`: a risky topic was rejected or its approval expired. */
export type ProjectRunState = (typeof PROJECT_RUN_STATES)[number];

export const PROJECT_RUN_TRANSITIONS: TransitionTable<ProjectRunState> = {
  pending: ['running', 'failed', 'cancelled'],
  running: ['completed', 'failed', 'cancelled', 'stopped'],
  completed: [],
  failed: [],
  cancelled: [],
  stopped: [],
};

export const TOPIC_RUN_STATES = [
  'pending', 'gating', 'awaiting-approval', 'running', 'completed', 'failed', 'cancelled', 'rejected', 'expired', 'skipped',
] as const;
/** `skipped`: never started because an earlier topic of the project did not complete. */
export type TopicRunState = (typeof TOPIC_RUN_STATES)[number];

export const TOPIC_RUN_TRANSITIONS: TransitionTable<TopicRunState> = {
  pending: ['gating', 'skipped', 'cancelled', 'failed'],
  gating: ['awaiting-approval', 'running', 'failed', 'cancelled'],
  'awaiting-approval': ['running', 'rejected', 'expired', 'cancelled', 'failed'],
  // A step riskier than its topic may wait for its own approval while the topic runs.
  running: ['completed', 'failed', 'cancelled', 'rejected', 'expired'],
  completed: [],
  failed: [],
  cancelled: [],
  rejected: [],
  expired: [],
  skipped: [],
};

/** A small guarded state holder. */
export class RunState<S extends string> {
  private current: S;

  constructor(
    private readonly entity: string,
    private readonly table: TransitionTable<S>,
    initial: S,
  ) {
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  to(next: S): void {
    if (next === this.current) return;
    assertTransition(this.entity, this.table, this.current, next);
    this.current = next;
  }
}
