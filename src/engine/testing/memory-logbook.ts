/**
 * In-memory logbook for the engine's unit and property tests: the repository contracts of
 * `store/logbook.ts` (guarded transitions, one active topic per project, decide-once,
 * approval expiry) without SQLite, so hundreds of generated runs stay fast. Asynchronous like
 * the real repositories (each call is atomic: it runs to completion inside its promise). A
 * test double, not a store: integration tests use the real SQLite backbone.
 */
import {
  ACTION_TRANSITIONS, assertTransition, BitacoraError, ConflictError, ErrorCode, IN_DOUBT_PHASES, InvalidTransitionError, newId,
  NotFoundError, PROJECT_TRANSITIONS, TOPIC_TRANSITIONS,
  type Action, type Approval, type FleetEvent, type NewFleetEvent, type Project, type Session, type Spark, type Topic,
} from '../../core/index.js';
import type {
  ActionRepository, ApprovalRepository, EventLog, ProjectRepository, SessionRepository, SparkRepository, TopicRepository,
} from '../../store/backbone.js';
import type { EngineLogbook } from '../context.js';

function need<T>(map: Map<string, T>, entity: string, id: string): T {
  const value = map.get(id);
  if (!value) throw new NotFoundError(entity, id);
  return value;
}

export class MemoryLogbook implements EngineLogbook {
  readonly log: FleetEvent[] = [];
  private readonly listeners = new Set<(e: FleetEvent) => void>();
  private readonly sessionMap = new Map<string, Session>();
  private readonly projectMap = new Map<string, Project>();
  private readonly topicMap = new Map<string, Topic>();
  private readonly approvalMap = new Map<string, Approval>();
  private readonly actionMap = new Map<string, Action>();
  private readonly sparkMap = new Map<string, Spark>();
  /**
   * Called on every topic status change with the topic and every topic as they are now
   * (synchronously, inside the change); property tests use it to watch for overlap.
   */
  onTopicStatus: ((topic: Topic, all: readonly Topic[]) => void) | null = null;

  private record(event: NewFleetEvent): FleetEvent {
    const full: FleetEvent = { seq: this.log.length + 1, at: event.at ?? 0, type: event.type, subject: event.subject, data: event.data };
    this.log.push(full);
    for (const l of [...this.listeners]) l(full);
    return full;
  }

  readonly events: EventLog = {
    append: async (event) => this.record(event),
    appendMany: async (events) => events.map((event) => this.record(event)),
    read: async (after, limit = 1000) => this.log.filter((e) => e.seq > after).slice(0, limit),
    latestSeq: async () => this.log.length,
    wait: (after, options = {}) => {
      if (this.log.length > after || options.signal?.aborted) return Promise.resolve(this.log.length);
      return new Promise<number>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.listeners.delete(done);
          options.signal?.removeEventListener('abort', done);
          resolve(this.log.length);
        };
        const timer = setTimeout(done, options.timeoutMs ?? 30_000);
        this.listeners.add(done);
        options.signal?.addEventListener('abort', done, { once: true });
      });
    },
    watch: (_after, listener) => {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    },
  };

  readonly sessions: SessionRepository = {
    start: async (input, now) => {
      const s: Session = {
        id: newId('ses'), user: input.user, project: input.project ?? null, status: 'active', description: input.description ?? '',
        startedAt: now, endedAt: null, pausedMs: 0, pausedAt: null, primaryNode: null, participatingNodes: [],
        strategy: input.strategy ?? 'MasterSlave', syncIntervalMs: input.syncIntervalMs ?? 5000, lastSyncAt: null,
      };
      this.sessionMap.set(s.id, s);
      return s;
    },
    get: async (id) => this.sessionMap.get(id) ?? null,
    list: async () => [...this.sessionMap.values()],
    current: async () => [...this.sessionMap.values()].reverse().find((s) => s.status !== 'ended') ?? null,
    pause: async (id) => need(this.sessionMap, 'session', id),
    resume: async (id) => need(this.sessionMap, 'session', id),
    end: async (id, now) => {
      const s = { ...need(this.sessionMap, 'session', id), status: 'ended' as const, endedAt: now };
      this.sessionMap.set(id, s);
      return s;
    },
    update: async (id) => need(this.sessionMap, 'session', id),
  };

  readonly projects: ProjectRepository = {
    create: async (input, now) => {
      if (this.projectMap.has(input.name)) throw new ConflictError(`project '${input.name}' exists`);
      const p: Project = {
        name: input.name, description: input.description ?? '', repository: null, status: input.status ?? 'planning',
        workspace: input.workspace ?? input.name, pinnedNodes: [], createdAt: now, updatedAt: now,
      };
      this.projectMap.set(p.name, p);
      return p;
    },
    get: async (name) => this.projectMap.get(name) ?? null,
    list: async () => [...this.projectMap.values()],
    update: async (name, patch, now) => {
      const p = need(this.projectMap, 'project', name);
      if (patch.status && patch.status !== p.status) assertTransition('project', PROJECT_TRANSITIONS, p.status, patch.status);
      const next = { ...p, ...patch, updatedAt: now };
      this.projectMap.set(name, next);
      return next;
    },
  };

  readonly topics: TopicRepository = {
    create: async (input, now) => {
      need(this.projectMap, 'project', input.project);
      for (const d of input.dependsOn ?? []) need(this.topicMap, 'topic', d);
      const t: Topic = {
        id: newId('top'), project: input.project, title: input.title, description: input.description ?? '', status: 'planning',
        priority: input.priority ?? 5, risk: input.risk ?? 'low', estimatedHours: null, actualHours: null,
        dependsOn: input.dependsOn ?? [], createdAt: now, updatedAt: now,
      };
      this.topicMap.set(t.id, t);
      return t;
    },
    get: async (id) => this.topicMap.get(id) ?? null,
    list: async (filter = {}) => [...this.topicMap.values()].filter((t) => (!filter.project || t.project === filter.project) && (!filter.status || t.status === filter.status)),
    activate: async (id, now) => this.topics.setStatus(id, 'in-progress', now),
    setStatus: async (id, status, now) => {
      const t = need(this.topicMap, 'topic', id);
      if (t.status === status) return t;
      assertTransition('topic', TOPIC_TRANSITIONS, t.status, status);
      if (status === 'in-progress') {
        const waiting = t.dependsOn.filter((d) => this.topicMap.get(d)?.status !== 'completed');
        if (waiting.length > 0) throw new InvalidTransitionError('topic', t.status, status, { details: { waiting } });
        const active = [...this.topicMap.values()].find((o) => o.project === t.project && o.status === 'in-progress' && o.id !== id);
        if (active) throw new BitacoraError(ErrorCode.ActiveTopicExists, `project '${t.project}' already has topic ${active.id} in progress`);
      }
      const next = { ...t, status, updatedAt: now };
      this.topicMap.set(id, next);
      this.onTopicStatus?.(next, [...this.topicMap.values()]);
      return next;
    },
    update: async (id, patch, now) => {
      const next = { ...need(this.topicMap, 'topic', id), ...patch, updatedAt: now };
      this.topicMap.set(id, next);
      return next;
    },
  };

  readonly approvals: ApprovalRepository = {
    request: async (input, now) => {
      need(this.topicMap, 'topic', input.topicId);
      const a: Approval = {
        id: newId('apv'), topicId: input.topicId, project: input.project, reason: input.reason, state: 'pending', requestedAt: now,
        expiresAt: input.expiresAt, decidedAt: null, decidedBy: null, note: null,
      };
      this.approvalMap.set(a.id, a);
      this.record({ type: 'approval.requested', subject: a.id, data: {}, at: now });
      return a;
    },
    get: async (id) => this.approvalMap.get(id) ?? null,
    list: async (filter = {}) => [...this.approvalMap.values()].filter((a) => (!filter.state || a.state === filter.state) && (!filter.project || a.project === filter.project)),
    decide: async (id, decision, by, note, now) => {
      const a = need(this.approvalMap, 'approval', id);
      if (a.state !== 'pending') throw new InvalidTransitionError('approval', a.state, decision);
      if (now > a.expiresAt) {
        this.approvalMap.set(id, { ...a, state: 'expired', decidedAt: now });
        throw new BitacoraError(ErrorCode.ApprovalExpired, `approval ${id} expired`);
      }
      const next: Approval = { ...a, state: decision, decidedAt: now, decidedBy: by, note };
      this.approvalMap.set(id, next);
      this.record({ type: 'approval.decided', subject: id, data: { state: decision }, at: now });
      return next;
    },
    expire: async (now) => {
      const expired: Approval[] = [];
      for (const a of this.approvalMap.values()) {
        if (a.state !== 'pending' || a.expiresAt >= now) continue;
        const next: Approval = { ...a, state: 'expired', decidedAt: now };
        this.approvalMap.set(a.id, next);
        this.record({ type: 'approval.decided', subject: a.id, data: { state: 'expired' }, at: now });
        expired.push(next);
      }
      return expired;
    },
  };

  readonly actions: ActionRepository = {
    create: async (input, now) => {
      if (input.sessionId) need(this.sessionMap, 'session', input.sessionId);
      if (input.topicId) need(this.topicMap, 'topic', input.topicId);
      const a: Action = {
        id: newId('act'), sessionId: input.sessionId ?? null, topicId: input.topicId ?? null, project: input.project ?? null,
        type: input.type ?? 'other', description: input.description, tags: input.tags ?? [], startedAt: input.startedAt ?? now,
        endedAt: input.endedAt ?? null, command: input.command ?? null, participants: input.participants ?? [],
        phase: input.phase ?? 'logged', decision: null, outcome: null,
      };
      this.actionMap.set(a.id, a);
      return a;
    },
    get: async (id) => this.actionMap.get(id) ?? null,
    list: async (filter = {}) => [...this.actionMap.values()].filter((a) => (!filter.topicId || a.topicId === filter.topicId) && (!filter.project || a.project === filter.project) && (!filter.sessionId || a.sessionId === filter.sessionId)),
    setPhase: async (id, phase) => {
      const a = need(this.actionMap, 'action', id);
      assertTransition('action', ACTION_TRANSITIONS, a.phase, phase);
      const next = { ...a, phase };
      this.actionMap.set(id, next);
      return next;
    },
    decide: async (id, decision) => {
      const a = need(this.actionMap, 'action', id);
      if (a.decision === decision) return a;
      if (a.decision !== null) throw new ConflictError(`action ${id} already decided ${a.decision}`);
      const next = { ...a, decision };
      this.actionMap.set(id, next);
      return next;
    },
    finish: async (id, outcome, now) => {
      const a = need(this.actionMap, 'action', id);
      if (a.outcome !== null) throw new ConflictError(`action ${id} already finished`);
      const next = { ...a, outcome, endedAt: now };
      this.actionMap.set(id, next);
      return next;
    },
    inDoubt: async () => [...this.actionMap.values()].filter((a) => IN_DOUBT_PHASES.includes(a.phase)),
  };

  readonly sparks: SparkRepository = {
    add: async (input, now) => {
      const s: Spark = {
        id: newId('spk'), type: input.type ?? 'note', content: input.content, tags: input.tags ?? [], sessionId: input.sessionId ?? null,
        topicId: input.topicId ?? null, project: input.project ?? null, relatedActions: input.relatedActions ?? [], createdAt: now,
        command: input.command ?? null, result: input.result ?? null,
      };
      this.sparkMap.set(s.id, s);
      return s;
    },
    get: async (id) => this.sparkMap.get(id) ?? null,
    list: async (filter = {}) => [...this.sparkMap.values()].filter((s) => !filter.project || s.project === filter.project),
  };
}
