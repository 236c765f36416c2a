/**
 * LogbookClient — the typed client of the logbook routes (sessions, projects, topics, actions,
 * sparks, approvals). Reached as `FleetClient.logbook`; it shares the FleetClient's transport,
 * so failures are BitacoraErrors with the server's code like every other call.
 */
import { BitacoraError, ErrorCode } from '../core/index.js';
import type {
  Action, Approval, ApprovalState, NewAction, NewProject, NewSession, NewSpark, NewTopic, Project, ProjectStatus, Session,
  SessionStatus, Spark, SparkType, Topic, TopicStatus,
} from '../core/index.js';

/** The FleetClient's request function (auth, timeout, error mapping). */
export type LogbookTransport = <T>(
  method: string,
  path: string,
  options: { body?: unknown; query?: Record<string, string | number | undefined>; what: string },
) => Promise<T>;

/** A session as the API answers it: with the worked time (wall time minus pauses) at answer time. */
export type SessionView = Session & { durationMs: number };

export interface SessionListQuery {
  status?: SessionStatus;
  project?: string;
  /** The most recent N, oldest first. Default 1000, at most 10000. */
  limit?: number;
}

/** `user` defaults to the requester. */
export type StartSessionInput = Omit<NewSession, 'user'> & { user?: string };

export interface ProjectPatch {
  description?: string;
  repository?: string | null;
  status?: ProjectStatus;
  pinnedNodes?: string[];
}

export interface TopicListQuery {
  project?: string;
  status?: TopicStatus;
}

export interface ActionListQuery {
  session?: string;
  topic?: string;
  project?: string;
  /** The most recent N, oldest first. Default 1000, at most 10000. */
  limit?: number;
}

/** The API logs actions by hand: their phase is always 'logged'. */
export type LogActionInput = Omit<NewAction, 'phase'>;

export interface SparkListQuery {
  session?: string;
  project?: string;
  type?: SparkType;
  /** The most recent N, oldest first. Default 1000, at most 10000. */
  limit?: number;
}

export interface ApprovalListQuery {
  state?: ApprovalState;
  project?: string;
}

export type ApprovalDecision = 'approve' | 'reject';

export class LogbookClient {
  readonly #request: LogbookTransport;

  constructor(request: LogbookTransport) {
    this.#request = request;
  }

  #id(id: string): string {
    return encodeURIComponent(id);
  }

  // ── sessions ──
  listSessions(query: SessionListQuery = {}): Promise<SessionView[]> {
    return this.#request('GET', '/v1/sessions', { query: { status: query.status, project: query.project, limit: query.limit }, what: 'session list' });
  }
  /** The most recent active or paused session, or null when there is none. */
  async currentSession(): Promise<SessionView | null> {
    try {
      return await this.#request<SessionView>('GET', '/v1/sessions/current', { what: 'current session' });
    } catch (err) {
      if (err instanceof BitacoraError && err.code === ErrorCode.NotFound && err.details['id'] === 'current') return null;
      throw err;
    }
  }
  getSession(id: string): Promise<SessionView> {
    return this.#request('GET', `/v1/sessions/${this.#id(id)}`, { what: 'session lookup' });
  }
  startSession(input: StartSessionInput = {}): Promise<SessionView> {
    return this.#request('POST', '/v1/sessions', { body: input, what: 'session start' });
  }
  /** `id` may be `current`. */
  pauseSession(id = 'current'): Promise<SessionView> {
    return this.#request('POST', `/v1/sessions/${this.#id(id)}/pause`, { what: 'session pause' });
  }
  resumeSession(id = 'current'): Promise<SessionView> {
    return this.#request('POST', `/v1/sessions/${this.#id(id)}/resume`, { what: 'session resume' });
  }
  endSession(id = 'current'): Promise<SessionView> {
    return this.#request('POST', `/v1/sessions/${this.#id(id)}/end`, { what: 'session end' });
  }

  // ── projects ──
  listProjects(query: { status?: ProjectStatus } = {}): Promise<Project[]> {
    return this.#request('GET', '/v1/projects', { query: { status: query.status }, what: 'project list' });
  }
  getProject(name: string): Promise<Project> {
    return this.#request('GET', `/v1/projects/${this.#id(name)}`, { what: 'project lookup' });
  }
  createProject(input: NewProject): Promise<Project> {
    return this.#request('POST', '/v1/projects', { body: input, what: 'project creation' });
  }
  updateProject(name: string, patch: ProjectPatch): Promise<Project> {
    return this.#request('PATCH', `/v1/projects/${this.#id(name)}`, { body: patch, what: 'project update' });
  }

  // ── topics ──
  listTopics(query: TopicListQuery = {}): Promise<Topic[]> {
    return this.#request('GET', '/v1/topics', { query: { project: query.project, status: query.status }, what: 'topic list' });
  }
  getTopic(id: string): Promise<Topic> {
    return this.#request('GET', `/v1/topics/${this.#id(id)}`, { what: 'topic lookup' });
  }
  createTopic(input: NewTopic): Promise<Topic> {
    return this.#request('POST', '/v1/topics', { body: input, what: 'topic creation' });
  }
  /** At most one topic per project is in progress: another one → BIT_ERR_ACTIVE_TOPIC_EXISTS. */
  activateTopic(id: string): Promise<Topic> {
    return this.#request('POST', `/v1/topics/${this.#id(id)}/activate`, { what: 'topic activation' });
  }
  setTopicStatus(id: string, status: TopicStatus): Promise<Topic> {
    return this.#request('POST', `/v1/topics/${this.#id(id)}/status`, { body: { status }, what: 'topic status change' });
  }

  // ── actions ──
  listActions(query: ActionListQuery = {}): Promise<Action[]> {
    return this.#request('GET', '/v1/actions', {
      query: { session: query.session, topic: query.topic, project: query.project, limit: query.limit },
      what: 'action list',
    });
  }
  getAction(id: string): Promise<Action> {
    return this.#request('GET', `/v1/actions/${this.#id(id)}`, { what: 'action lookup' });
  }
  logAction(input: LogActionInput): Promise<Action> {
    return this.#request('POST', '/v1/actions', { body: input, what: 'action log' });
  }

  // ── sparks ──
  listSparks(query: SparkListQuery = {}): Promise<Spark[]> {
    return this.#request('GET', '/v1/sparks', {
      query: { session: query.session, project: query.project, type: query.type, limit: query.limit },
      what: 'spark list',
    });
  }
  getSpark(id: string): Promise<Spark> {
    return this.#request('GET', `/v1/sparks/${this.#id(id)}`, { what: 'spark lookup' });
  }
  addSpark(input: NewSpark): Promise<Spark> {
    return this.#request('POST', '/v1/sparks', { body: input, what: 'spark' });
  }

  // ── approvals ──
  listApprovals(query: ApprovalListQuery = {}): Promise<Approval[]> {
    return this.#request('GET', '/v1/approvals', { query: { state: query.state, project: query.project }, what: 'approval list' });
  }
  getApproval(id: string): Promise<Approval> {
    return this.#request('GET', `/v1/approvals/${this.#id(id)}`, { what: 'approval lookup' });
  }
  decideApproval(id: string, decision: ApprovalDecision, note?: string): Promise<Approval> {
    return this.#request('POST', `/v1/approvals/${this.#id(id)}/${decision}`, { body: note !== undefined ? { note } : {}, what: `approval ${decision}` });
  }
}
