/**
 * Dashboard sessions: server-side, in memory. `POST /v1/login` creates one and hands its id to
 * the browser in the `bitacora_session` cookie; only the sha256 of the id is kept as the key, so
 * a heap dump or a log line of the map never holds a usable cookie. Each session carries its
 * CSRF token. Sessions end on logout, after an idle period or an absolute lifetime, and when
 * their user is removed. With `file` they survive a restart of the master (a phone left open on
 * the dashboard catches up instead of asking for a new link); without it they end with it.
 * Reads are answered from memory; the file is written in the background, one write at a time
 * (changes made during a write are coalesced into the next), and `saved()` waits for it: login,
 * logout and user removal answer only once the file says so.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Requester } from '../security/index.js';

export type UserPrincipal = Extract<Requester, { kind: 'user' }>;

export interface DashboardSession {
  /** sha256 (hex) of the cookie value: the map key. */
  readonly key: string;
  readonly principal: UserPrincipal;
  /** Sent back as `X-CSRF-Token` on every state-changing request made with the cookie. */
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeenAt: number;
}

export interface SessionStoreOptions {
  /** A session unused for this long ends. Default 12 h. */
  idleMs?: number;
  /** A session ends this long after login, however active. Default 7 days. */
  absoluteMs?: number;
  /** At most this many live sessions; the least recently used one goes first. Default 10 000. */
  maxSessions?: number;
  now?: () => number;
  /**
   * Where sessions are kept across restarts (JSON, mode 0600: cookie hashes and CSRF tokens, never
   * a usable cookie). Default: none, sessions live in memory only.
   */
  file?: string;
  /** A write of `file` failed (the sessions stay in memory; the next change writes again). Default: ignored. */
  onWriteError?: (err: unknown) => void;
}

/** lastSeenAt is written back at most this often (a write per request would be wasteful). */
const PERSIST_SEEN_EVERY_MS = 5 * 60_000;

export const DEFAULT_SESSION_IDLE_MS = 12 * 3_600_000;
export const DEFAULT_SESSION_ABSOLUTE_MS = 7 * 86_400_000;
const DEFAULT_MAX_SESSIONS = 10_000;
/** Cookie values longer than this are not looked up (no unbounded hashing). */
const MAX_COOKIE_LENGTH = 256;

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export class SessionStore {
  readonly idleMs: number;
  readonly absoluteMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;
  /** Insertion order = least recently used first (`get` re-inserts). */
  private readonly sessions = new Map<string, DashboardSession>();
  private readonly file: string | null;
  private readonly onWriteError: (err: unknown) => void;
  private persistedAt = 0;
  /** The write in progress (or the last one), chained: writes never overlap. */
  private writing: Promise<void> = Promise.resolve();
  /** A write is queued that has not started yet: it will take every change made until it does. */
  private queued = false;

  /** A store that keeps its sessions in `options.file` (when given), with the ones saved there loaded. */
  static async open(options: SessionStoreOptions = {}): Promise<SessionStore> {
    const store = new SessionStore(options);
    if (options.file) await store.load(options.file);
    return store;
  }

  constructor(options: SessionStoreOptions = {}) {
    this.idleMs = options.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.absoluteMs = options.absoluteMs ?? DEFAULT_SESSION_ABSOLUTE_MS;
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.now = options.now ?? Date.now;
    this.file = options.file ?? null;
    this.onWriteError = options.onWriteError ?? (() => {});
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session for `principal`; `id` is the cookie value (32 random bytes), returned only here. */
  create(principal: UserPrincipal): { id: string; session: DashboardSession } {
    const now = this.now();
    this.sweep(now);
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const session: DashboardSession = {
      key: sha256(id),
      principal,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
    };
    this.sessions.set(session.key, session);
    this.persist();
    return { id, session };
  }

  /** The live session a cookie names (and marks it used), or null when unknown or expired. */
  get(id: string): DashboardSession | null {
    if (id === '' || id.length > MAX_COOKIE_LENGTH) return null;
    const key = sha256(id);
    const session = this.sessions.get(key);
    if (!session) return null;
    const now = this.now();
    if (this.expired(session, now)) {
      this.sessions.delete(key);
      return null;
    }
    session.lastSeenAt = now;
    this.sessions.delete(key);
    this.sessions.set(key, session);
    if (now - this.persistedAt >= PERSIST_SEEN_EVERY_MS) this.persist();
    return session;
  }

  /** Ends a session by its key; true when it existed. */
  delete(key: string): boolean {
    const existed = this.sessions.delete(key);
    if (existed) this.persist();
    return existed;
  }

  /** Ends every session of `user` (removed user); returns how many. */
  deleteUser(user: string): number {
    let n = 0;
    for (const [key, session] of this.sessions) {
      if (session.principal.name === user && this.sessions.delete(key)) n++;
    }
    if (n > 0) this.persist();
    return n;
  }

  /** Resolves once every change made so far is in the file (at once without one). */
  saved(): Promise<void> {
    return this.writing;
  }

  /**
   * The server is stopping: a persistent store writes what it has (the sessions go on after a
   * restart); an in-memory one forgets them.
   */
  async close(): Promise<void> {
    if (!this.file) return this.sessions.clear();
    this.persist();
    await this.writing;
  }

  clear(): void {
    this.sessions.clear();
    this.persist();
  }

  /** A missing or unreadable file is an empty store: the worst case is signing in again. */
  private async load(file: string): Promise<void> {
    let saved: unknown;
    try {
      saved = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      return;
    }
    if (!Array.isArray(saved)) return;
    const now = this.now();
    for (const entry of saved as DashboardSession[]) {
      if (typeof entry?.key !== 'string' || typeof entry.csrfToken !== 'string' || entry.principal?.kind !== 'user') continue;
      if (typeof entry.createdAt !== 'number' || typeof entry.lastSeenAt !== 'number' || this.expired(entry, now)) continue;
      this.sessions.set(entry.key, { ...entry });
    }
  }

  /** Queues a write of the current sessions (none when one is already queued: it will see them). */
  private persist(): void {
    const file = this.file;
    if (!file) return;
    this.persistedAt = this.now();
    if (this.queued) return;
    this.queued = true;
    this.writing = this.writing.then(() => this.write(file));
  }

  /**
   * Never rejects: a failed write leaves the previous file (rename is atomic) and is reported to
   * `onWriteError`; the worst case after a restart is signing in again, or a session ended since
   * (the auth hook still checks its user against the access service).
   */
  private async write(file: string): Promise<void> {
    this.queued = false;
    const tmp = `${file}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify([...this.sessions.values()]), { mode: 0o600 });
      await rename(tmp, file);
    } catch (err) {
      this.onWriteError(err);
    }
  }

  private expired(session: DashboardSession, now: number): boolean {
    return now - session.lastSeenAt >= this.idleMs || now - session.createdAt >= this.absoluteMs;
  }

  private sweep(now: number): void {
    for (const [key, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(key);
  }
}
