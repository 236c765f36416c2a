/**
 * Logbook repositories — the Bitácora model on one machine: sessions, projects, topics with
 * their approvals, actions (with the persisted phases/decision of atomic actions) and sparks.
 * Every mutating call is atomic and appends its event. Written by the CLI and the engine;
 * read by the CLI, the API and the timeline (`bitacora log`).
 */
import type {
  Action, ActionDecision, ActionOutcome, ActionPhase, Approval, NewAction, NewProject, NewSession,
  NewSpark, NewTopic, Project, ProjectStatus, Session, Spark, Topic, TopicStatus,
} from '../core/index.js';

export interface SessionRepository {
  /** Starts a session (status 'active'). `project` is a label: it need not exist yet. */
  start(input: NewSession, now: number): Promise<Session>;
  get(id: string): Promise<Session | null>;
  /** Oldest first; with `limit`, the most recent `limit` (still oldest first). */
  list(filter?: { status?: Session['status']; project?: string; limit?: number }): Promise<Session[]>;
  /** The most recent session that is active or paused, if any. */
  current(): Promise<Session | null>;
  /** active → paused. Guarded by SESSION_TRANSITIONS (InvalidTransitionError). */
  pause(id: string, now: number): Promise<Session>;
  /** paused → active; adds the pause to `pausedMs`. */
  resume(id: string, now: number): Promise<Session>;
  /** active|paused → ended. */
  end(id: string, now: number): Promise<Session>;
  /** Distributed fields: participants, strategy, sync interval, lastSyncAt. */
  update(id: string, patch: Partial<Pick<Session, 'primaryNode' | 'participatingNodes' | 'strategy' | 'syncIntervalMs' | 'lastSyncAt' | 'description'>>, now: number): Promise<Session>;
}

export interface ProjectRepository {
  /** ConflictError when the name exists. `workspace` defaults to the name. */
  create(input: NewProject, now: number): Promise<Project>;
  get(name: string): Promise<Project | null>;
  list(filter?: { status?: ProjectStatus }): Promise<Project[]>;
  /** Guarded by PROJECT_TRANSITIONS when `status` changes. */
  update(name: string, patch: Partial<Pick<Project, 'description' | 'repository' | 'status' | 'pinnedNodes'>>, now: number): Promise<Project>;
}

export interface TopicRepository {
  /** NotFoundError for an unknown project or dependency; dependencies must be topics of the same project. */
  create(input: NewTopic, now: number): Promise<Topic>;
  get(id: string): Promise<Topic | null>;
  list(filter?: { project?: string; status?: TopicStatus }): Promise<Topic[]>;
  /**
   * Sets status 'in-progress'. At most one in-progress topic per project: throws
   * BitacoraError ActiveTopicExists naming the active one. Dependencies must be completed
   * (InvalidTransitionError otherwise).
   */
  activate(id: string, now: number): Promise<Topic>;
  /**
   * Guarded by TOPIC_TRANSITIONS; entering 'in-progress' goes through the same check as activate.
   * Setting the current status again (including activating the active topic) is a no-op.
   */
  setStatus(id: string, status: TopicStatus, now: number): Promise<Topic>;
  update(id: string, patch: Partial<Pick<Topic, 'description' | 'priority' | 'risk' | 'estimatedHours' | 'actualHours'>>, now: number): Promise<Topic>;
}

export interface ApprovalRepository {
  /** A pending approval for a topic run; appends 'approval.requested'. */
  request(input: { topicId: string; project: string; reason: string; expiresAt: number }, now: number): Promise<Approval>;
  get(id: string): Promise<Approval | null>;
  list(filter?: { state?: Approval['state']; project?: string }): Promise<Approval[]>;
  /**
   * pending → approved | rejected, once. A decision on an expired approval (now > expiresAt)
   * records 'expired' instead and throws BitacoraError ApprovalExpired. Deciding twice throws
   * InvalidTransitionError. Appends 'approval.decided'.
   */
  decide(id: string, decision: 'approved' | 'rejected', by: string, note: string | null, now: number): Promise<Approval>;
  /** Marks pending approvals past their expiry as 'expired'; returns them. */
  expire(now: number): Promise<Approval[]>;
}

export interface ActionRepository {
  /** Records an action (hand-logged, or about to be executed with phase 'validating'). Linked session/topic must exist. */
  create(input: NewAction, now: number): Promise<Action>;
  get(id: string): Promise<Action | null>;
  /** Oldest first; with `limit`, the most recent `limit` (still oldest first). */
  list(filter?: { sessionId?: string; topicId?: string; project?: string; limit?: number }): Promise<Action[]>;
  /**
   * Persists a phase change (guarded by ACTION_TRANSITIONS) before the engine acts on it,
   * so a crash leaves a record of how far it got. Appends 'action.phase'.
   */
  setPhase(id: string, phase: ActionPhase, now: number): Promise<Action>;
  /** Persists the commit/abort decision once; a second different decision → ConflictError. */
  decide(id: string, decision: ActionDecision, now: number): Promise<Action>;
  /** Final outcome and end time, once (a second outcome → ConflictError). */
  finish(id: string, outcome: ActionOutcome, now: number): Promise<Action>;
  /** Actions left in an IN_DOUBT_PHASES phase (by a crash), oldest first. */
  inDoubt(): Promise<Action[]>;
}

export interface SparkRepository {
  add(input: NewSpark, now: number): Promise<Spark>;
  get(id: string): Promise<Spark | null>;
  /** Oldest first; with `limit`, the most recent `limit` (still oldest first). */
  list(filter?: { sessionId?: string; project?: string; type?: Spark['type']; limit?: number }): Promise<Spark[]>;
}
