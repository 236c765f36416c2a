/**
 * The dashboard's live picture of the fleet: one REST snapshot per (re)connection, then the
 * WebSocket event stream, resumed from the last seq it saw. Events carry what changed; the entity
 * they name is re-read once (bursts coalesced), so there is no polling. The last picture is kept in
 * localStorage: with the master unreachable the dashboard still shows it, marked stale.
 */
import { BitacoraError, ErrorCode } from '../../src/core/index.js';
import type { Approval, FleetEvent, FleetNode, FleetStatus, Project, Task, Topic } from '../../src/core/index.js';
import type { FleetClient } from '../../src/client/index.js';

/** connecting: first contact; live: stream open and snapshot fresh; offline: showing the last known state; signed-out: the session ended. */
export type Connection = 'connecting' | 'live' | 'offline' | 'signed-out';

export interface FleetPicture {
  connection: Connection;
  /** When the shown data was last known to be current (ms). */
  syncedAt: number | null;
  lastSeq: number | null;
  status: FleetStatus | null;
  nodes: FleetNode[];
  /** The most recent tasks, newest first. */
  tasks: Task[];
  /** Pending approvals. */
  approvals: Approval[];
  projects: Project[];
  topics: Topic[];
  /** Recent fenced / requeued events seen on the stream, newest first. */
  notices: FleetEvent[];
  /** Bumped on logbook and audit events, so the views that show them re-read. */
  logbookVersion: number;
  auditVersion: number;
  error: string | null;
}

const CACHE_KEY = 'bitacora.picture';
const RECENT_TASKS = 300;
const MAX_NOTICES = 50;
/** Events of one entity arriving together are answered by one read. */
const COALESCE_MS = 120;
/** Every change is audited: the audit view (which re-verifies the chain) re-reads at most this often. */
const AUDIT_COALESCE_MS = 3000;

const EMPTY: FleetPicture = {
  connection: 'connecting', syncedAt: null, lastSeq: null, status: null, nodes: [], tasks: [], approvals: [], projects: [], topics: [],
  notices: [], logbookVersion: 0, auditVersion: 0, error: null,
};

function loadCache(): FleetPicture {
  try {
    const raw = localStorage.getItem(CACHE_KEY);
    // The seq is not kept: a new page starts from a snapshot, whatever master now answers at this URL.
    if (raw) return { ...EMPTY, ...(JSON.parse(raw) as Partial<FleetPicture>), connection: 'connecting', error: null, lastSeq: null };
  } catch {
    // no storage or a broken entry: start empty
  }
  return EMPTY;
}

const upsert = <T extends { id: string }>(list: T[], item: T): T[] => {
  const i = list.findIndex((x) => x.id === item.id);
  if (i < 0) return [item, ...list];
  const next = list.slice();
  next[i] = item;
  return next;
};

export function isUnauthenticated(err: unknown): boolean {
  return err instanceof BitacoraError && err.code === ErrorCode.Unauthenticated;
}

export class LiveFleet {
  #picture: FleetPicture = loadCache();
  readonly #listeners = new Set<(p: FleetPicture) => void>();
  readonly #pending = new Map<string, ReturnType<typeof setTimeout>>();
  #abort: AbortController | null = null;
  #saveTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly client: FleetClient) {}

  get picture(): FleetPicture {
    return this.#picture;
  }

  subscribe(listener: (p: FleetPicture) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#abort) return;
    if (this.#picture.connection === 'signed-out') this.#set({ connection: 'connecting' });
    this.#abort = new AbortController();
    void this.#watch(this.#abort.signal);
  }

  stop(): void {
    this.#abort?.abort();
    this.#abort = null;
  }

  /** Signing out: stop, and drop the kept picture so the next user of this browser does not see it. */
  forget(): void {
    this.stop();
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
    if (this.#saveTimer) clearTimeout(this.#saveTimer);
    this.#saveTimer = null;
    try {
      localStorage.removeItem(CACHE_KEY);
    } catch {
      // nothing kept
    }
    this.#picture = EMPTY;
    for (const l of this.#listeners) l(this.#picture);
  }

  /** Re-reads everything now (after an action whose effect the stream will also report). */
  refresh(): Promise<void> {
    return this.#resync();
  }

  #set(patch: Partial<FleetPicture>): void {
    this.#picture = { ...this.#picture, ...patch };
    for (const l of this.#listeners) l(this.#picture);
    this.#saveTimer ??= setTimeout(() => {
      this.#saveTimer = null;
      try {
        const { connection: _c, error: _e, ...kept } = this.#picture;
        localStorage.setItem(CACHE_KEY, JSON.stringify(kept));
      } catch {
        // storage full or disabled: the picture simply is not kept across reloads
      }
    }, 1000);
  }

  async #watch(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // One watch per log: a master whose log is behind the seq we resume from is another log; start over.
      const thisLog = new AbortController();
      const stop = () => thisLog.abort();
      signal.addEventListener('abort', stop, { once: true });
      try {
        await this.client.watchEvents(this.#picture.lastSeq, (event) => this.#onEvent(event), {
          signal: thisLog.signal,
          onConnected: (after, latestSeq) => {
            if (latestSeq !== null && latestSeq < after) {
              this.#set({ lastSeq: null });
              thisLog.abort();
              return;
            }
            // A stream without `after` starts at the master's latest seq: nothing before it is missed by the snapshot below.
            if (this.#picture.lastSeq === null || after > this.#picture.lastSeq) this.#set({ lastSeq: after });
            void this.#resync();
          },
          onDisconnected: () => this.#set({ connection: this.#picture.connection === 'signed-out' ? 'signed-out' : 'offline' }),
        });
      } catch (err) {
        if (signal.aborted) return;
        if (isUnauthenticated(err)) return this.#set({ connection: 'signed-out' });
        this.#set({ connection: 'offline', error: err instanceof Error ? err.message : String(err) });
        await new Promise((r) => setTimeout(r, 2000));
      } finally {
        signal.removeEventListener('abort', stop);
      }
    }
  }

  async #resync(): Promise<void> {
    const c = this.client;
    try {
      const [status, nodes, tasks, approvals, projects, topics] = await Promise.all([
        c.status(), c.listNodes(), c.listTasks({ limit: RECENT_TASKS, order: 'desc' }), c.logbook.listApprovals({ state: 'pending' }),
        c.logbook.listProjects(), c.logbook.listTopics(),
      ]);
      this.#set({
        connection: 'live', syncedAt: Date.now(), status, nodes, tasks, approvals, projects, topics, error: null,
        logbookVersion: this.#picture.logbookVersion + 1, auditVersion: this.#picture.auditVersion + 1,
      });
    } catch (err) {
      if (isUnauthenticated(err)) this.#set({ connection: 'signed-out' });
      else this.#set({ error: err instanceof Error ? err.message : String(err) });
    }
  }

  #onEvent(event: FleetEvent): void {
    const live = this.#picture.connection === 'live' ? { syncedAt: Date.now() } : {};
    this.#set({ lastSeq: event.seq, ...live });
    const type = event.type;
    const subject = event.subject;
    if (type === 'task.fenced' || type === 'task.requeued') this.#set({ notices: [event, ...this.#picture.notices].slice(0, MAX_NOTICES) });
    if (type.startsWith('task.') && subject) {
      this.#later(`task:${subject}`, async () => {
        const task = await this.client.getTask(subject);
        this.#set({ tasks: upsert(this.#picture.tasks, task).slice(0, RECENT_TASKS) });
      });
      this.#later('status', async () => this.#set({ status: await this.client.status() }));
    } else if (type.startsWith('node.') && subject) {
      this.#later(`node:${subject}`, async () => {
        if (type === 'node.removed') return this.#set({ nodes: this.#picture.nodes.filter((n) => n.id !== subject) });
        this.#set({ nodes: upsert(this.#picture.nodes, await this.client.getNode(subject)) });
      });
      this.#later('status', async () => this.#set({ status: await this.client.status() }));
    } else if (type === 'fleet.shutdown' || type === 'config.updated') {
      this.#later('status', async () => this.#set({ status: await this.client.status() }));
    } else if (type.startsWith('approval.')) {
      this.#later('approvals', async () => this.#set({ approvals: await this.client.logbook.listApprovals({ state: 'pending' }) }));
    } else if (type.startsWith('project.') || type.startsWith('topic.')) {
      this.#later('projects', async () => {
        const [projects, topics] = await Promise.all([this.client.logbook.listProjects(), this.client.logbook.listTopics()]);
        this.#set({ projects, topics });
      });
    }
    if (type.startsWith('session.') || type.startsWith('action.') || type === 'spark.added') this.#set({ logbookVersion: this.#picture.logbookVersion + 1 });
    if (type === 'audit') this.#later('audit', async () => this.#set({ auditVersion: this.#picture.auditVersion + 1 }), AUDIT_COALESCE_MS);
  }

  #later(key: string, read: () => Promise<void>, delayMs = COALESCE_MS): void {
    if (this.#pending.has(key)) return;
    this.#pending.set(
      key,
      setTimeout(() => {
        this.#pending.delete(key);
        read().catch((err: unknown) => {
          if (isUnauthenticated(err)) this.#set({ connection: 'signed-out' });
          // A failed read is repaired by the snapshot taken on the next (re)connection.
        });
      }, delayMs),
    );
  }
}
