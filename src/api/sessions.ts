/**
 * Dashboard sessions: server-side, in memory. `POST /v1/login` creates one and hands its id to
 * the browser in the `bitacora_session` cookie; only the sha256 of the id is kept as the key, so
 * a heap dump or a log line of the map never holds a usable cookie. Each session carries its
 * CSRF token. Sessions end on logout, after an idle period or an absolute lifetime, and when
 * their user is removed. With `file` they survive a restart of the master (a phone left open on
 * the dashboard catches up instead of asking for a new link); without it they end with it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
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
  private persistedAt = 0;

  constructor(options: SessionStoreOptions = {}) {
    this.idleMs = options.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.absoluteMs = options.absoluteMs ?? DEFAULT_SESSION_ABSOLUTE_MS;
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.now = options.now ?? Date.now;
    this.file = options.file ?? null;
    if (this.file) this.load(this.file);
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

  /**
   * The server is stopping: a persistent store writes what it has (the sessions go on after a
   * restart); an in-memory one forgets them.
   */
  close(): void {
    if (this.file) this.persist();
    else this.sessions.clear();
  }

  clear(): void {
    this.sessions.clear();
    this.persist();
  }

  /** A missing or unreadable file is an empty store: the worst case is signing in again. */
  private load(file: string): void {
    let saved: unknown;
    try {
      saved = JSON.parse(readFileSync(file, 'utf8'));
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

  private persist(): void {
    if (!this.file) return;
    this.persistedAt = this.now();
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.sessions.values()]), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  private expired(session: DashboardSession, now: number): boolean {
    return now - session.lastSeenAt >= this.idleMs || now - session.createdAt >= this.absoluteMs;
  }

  private sweep(now: number): void {
    for (const [key, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(key);
  }
}
