/**
 * AccessControl — the master's AccessService: users, their API tokens and one-time login
 * tokens, and the live ACL policy, with `authorize` as the one check every entry point runs.
 *
 * Storage is the backbone's KV (a JetStream KV bucket in NATS mode): users under
 * `auth/users/<name>`, API and login tokens under `auth/api-tokens/<id>` holding only the
 * sha256 of the secret. An in-memory hash → id index, built by `start` and kept current here
 * (the coordinator is the single writer), finds a bearer's record in O(1); the stored hash is
 * then compared in constant time. Every change runs through `AuditedOperations.privileged` (no audit
 * entry, no change); every denial is recorded through the non-throwing path.
 *
 * Call order: construct → `start()` (loads the index and the policy file; a bad policy file
 * throws ValidationError and the master refuses to start) → any method → `close()` (stops the
 * policy file watcher; idempotent). Methods are synchronous and run on the coordinator's thread.
 */
import { z } from 'zod';
import {
  BitacoraError, ConflictError, ErrorCode, newId, NotFoundError, parseOrThrow, slugSchema, textSchema, USER_ROLE_NAMES, ValidationError,
  type BitacoraErrorOptions, type CreatedApiToken, type NewApiToken, type NewUser, type TokenView, type UserRoleName, type UserView,
} from '../core/index.js';
import {
  authorize as decide, DEFAULT_ACL_POLICY, generateSecret, hashSecret, parseAclPolicy, secretsEqual,
  type AclPolicy, type AuditRecord, type Operation, type Requester, type Target,
} from '../security/index.js';
import type { KeyValueStore } from '../store/kv.js';
import type { JoinTokenRecord, JoinTokenRepository } from '../store/tokens.js';
import type { Logger } from '../core/index.js';
import type { AccessService } from './access-service.js';
import { PolicyFile } from './policy-file.js';
import type { AuditedOperations } from './audited-operations.js';

export const USERS_PREFIX = 'auth/users/';
export const API_TOKENS_PREFIX = 'auth/api-tokens/';
/** Lifetime of a login token when the caller names none: 15 minutes. */
export const LOGIN_TOKEN_TTL_MS = 15 * 60_000;
const DAY = 86_400_000;
/** Bearers longer than this are not even hashed. */
const MAX_BEARER_LENGTH = 512;

/** The requester may not do this (ACL denial, or a role above what the caller may grant). */
export class ForbiddenError extends BitacoraError {
  override name = 'ForbiddenError';
  constructor(message: string, options: BitacoraErrorOptions = {}) {
    super(ErrorCode.Forbidden, message, options);
  }
}

/** The master itself acting (first-start bootstrap, migrations): recorded as `system:<name>`. */
export interface SystemActor {
  kind: 'system';
  name: string;
}
export type Actor = Requester | SystemActor;

/** A user as stored: exactly what `user list` shows. */
type UserRecord = UserView;

/** What is stored per API or login token: its TokenView without the derived state, plus the hash. */
type ApiTokenRecord = Omit<TokenView, 'kind' | 'user' | 'role' | 'state'> & {
  kind: 'api' | 'login';
  /** sha256 hex of the secret; the secret itself is never stored. */
  hash: string;
  user: string;
  role: UserRoleName;
};

const RANK: Record<UserRoleName, number> = { viewer: 0, operator: 1, admin: 2 };

const userNameSchema = slugSchema.describe('user name');
const roleSchema = z.enum(USER_ROLE_NAMES, { error: `must be one of ${USER_ROLE_NAMES.join(', ')}` });
const newUserSchema = z.strictObject({
  name: userNameSchema,
  role: roleSchema,
  projects: z.array(slugSchema).max(256, 'at most 256 projects').optional(),
});
const newApiTokenSchema = z.strictObject({
  user: userNameSchema,
  role: roleSchema.optional(),
  ttlMs: z.number().int().min(1000, 'at least 1 s').max(365 * DAY, 'at most 365 days').optional(),
  label: textSchema(100).min(1, 'must not be empty').optional(),
});
const loginTtlSchema = z.number().int().min(1000, 'at least 1 s').max(DAY, 'at most 1 day');
const tokenIdSchema = z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters').regex(/^[A-Za-z0-9_-]+$/, 'must be a token id like tok_…');

export interface AccessControlOptions {
  kv: KeyValueStore;
  joinTokens: JoinTokenRepository;
  /** The fail-closed audited wrapper (privileged) and the non-throwing notes (denials). */
  security: AuditedOperations;
  now: () => number;
  log: Logger;
  /** The policy file; null keeps the policy in memory only (tests). */
  policyFile: string | null;
  /** The policy when there is no file. Default DEFAULT_ACL_POLICY. */
  defaultPolicy?: AclPolicy;
  /** Poll period of the policy file watcher. Default 1000 ms. */
  policyPollMs?: number;
}

export class AccessControl implements AccessService {
  private policy: AclPolicy;
  /** sha256(secret) → token id, for every API/login token in KV. */
  private readonly byHash = new Map<string, string>();
  private readonly file: PolicyFile | null;
  /** The policy file's text as last loaded or written: a watcher tick with the same text is not an edit. */
  private fileText: string | null = null;
  private state: 'created' | 'running' | 'closed' = 'created';

  constructor(private readonly options: AccessControlOptions) {
    this.policy = options.defaultPolicy ?? DEFAULT_ACL_POLICY;
    this.file = options.policyFile ? new PolicyFile(options.policyFile) : null;
  }

  /** The policy file in use (null: in memory only). */
  get policyFile(): string | null {
    return this.file?.path ?? null;
  }

  /** Builds the token index and loads the policy file (ValidationError when it is invalid), then watches it. */
  async start(): Promise<void> {
    if (this.state !== 'created') return;
    this.byHash.clear();
    for (const entry of await this.options.kv.list<ApiTokenRecord>(API_TOKENS_PREFIX)) this.byHash.set(entry.value.hash, entry.value.id);
    if (this.file) {
      this.fileText = this.file.readText();
      const loaded = this.file.load();
      if (loaded) {
        this.policy = loaded;
        this.options.log.info(`ACL policy loaded from ${this.file.path}`);
      }
      this.file.watch(() => void this.fileChanged(), this.options.policyPollMs);
    }
    this.state = 'running';
  }

  close(): void {
    this.file?.close();
    this.state = 'closed';
  }

  // ───────────────────────── authentication ─────────────────────────

  async authenticate(bearer: string): Promise<Requester | null> {
    try {
      const record = await this.recordFor(bearer);
      if (!record || record.kind !== 'api' || stateOf(record, this.options.now()) !== 'active') return null;
      const user = await this.user(record.user);
      return user ? requesterOf(user, record.role) : null;
    } catch (err) {
      this.options.log.error(`token check failed (refused): ${(err as Error).message}`);
      return null;
    }
  }

  async login(token: string): Promise<Requester> {
    const record = await this.recordFor(token);
    if (!record) {
      await this.options.security.note('anonymous', 'user.login', null, 'denied', 'unknown token');
      throw new BitacoraError(ErrorCode.TokenInvalid, 'the login token is not valid; create one with `bitacora token create --user <name> --login`');
    }
    const actor = `user:${record.user}`;
    const now = this.options.now();
    const user = await this.user(record.user);
    const refusal = !user
      ? new BitacoraError(ErrorCode.TokenRevoked, `token ${record.id} is void: its user '${record.user}' was removed`, { details: { tokenId: record.id } })
      : refusalFor(record, now);
    if (refusal || !user) {
      await this.options.security.note(actor, 'user.login', record.id, 'denied', refusal?.message ?? 'refused');
      throw refusal ?? new BitacoraError(ErrorCode.TokenInvalid, 'the login token is not valid');
    }
    return this.options.security.privileged('user.login', record.id, async () => {
      if (record.kind === 'login') {
        // One-time: consumed here (compare-and-set, so a concurrent writer cannot reuse it).
        const entry = (await this.options.kv.get<ApiTokenRecord>(tokenKey(record.id)))!;
        await this.options.kv.put(tokenKey(record.id), { ...entry.value, usedAt: now, usedBy: 'dashboard' }, { expectedRevision: entry.revision });
      }
      return requesterOf(user, record.role);
    }, { actor, details: { kind: record.kind } });
  }

  // ───────────────────────── authorization ─────────────────────────

  async authorize(operation: Operation, requester: Requester, targets: readonly Target[]): Promise<void> {
    const list: readonly Target[] = targets.length > 0 ? targets : [{ kind: 'fleet' }];
    for (const target of list) {
      const decision = decide(operation, requester, target, this.policy);
      if (decision.allowed) continue;
      const where = targetString(target);
      await this.options.security.note(actorOf(requester), operation, where, 'denied', decision.reason);
      throw new ForbiddenError(`forbidden: ${decision.reason}`, { details: { operation, target: where } });
    }
  }

  // ───────────────────────── users ─────────────────────────

  async listUsers(): Promise<UserView[]> {
    return (await this.options.kv.list<UserRecord>(USERS_PREFIX)).map((e) => viewOfUser(e.value));
  }

  async addUser(user: NewUser, by: Actor): Promise<UserView> {
    const valid = parseOrThrow(newUserSchema, user, 'user');
    if (await this.user(valid.name)) throw new ConflictError(`user '${valid.name}' already exists`, { details: { user: valid.name } });
    this.ceiling(by, valid.role, `create a user with role ${valid.role}`, 'ManageUsers');
    const record: UserRecord = {
      name: valid.name,
      role: valid.role,
      ...(valid.projects ? { projects: [...new Set(valid.projects)] } : {}),
      createdAt: this.options.now(),
      createdBy: actorOf(by),
    };
    return this.options.security.privileged('user.add', `user:${valid.name}`, async () => {
      await this.options.kv.put(userKey(valid.name), record, { expectedRevision: 0 });
      return viewOfUser(record);
    }, { actor: actorOf(by), details: { role: valid.role, ...(record.projects ? { projects: record.projects } : {}) } });
  }

  async removeUser(name: string, by: Actor): Promise<void> {
    const valid = parseOrThrow(userNameSchema, name, 'user name');
    const user = await this.user(valid);
    if (!user) throw new NotFoundError('user', valid);
    if (user.role === 'admin' && (await this.listUsers()).filter((u) => u.role === 'admin').length <= 1) {
      throw new ConflictError(`cannot remove '${valid}': it is the last admin (add another admin first)`, { details: { user: valid } });
    }
    this.ceiling(by, user.role, `remove a user with role ${user.role}`, 'ManageUsers');
    await this.options.security.privileged('user.remove', `user:${valid}`, async () => {
      const now = this.options.now();
      for (const entry of await this.options.kv.list<ApiTokenRecord>(API_TOKENS_PREFIX)) {
        if (entry.value.user === valid && entry.value.revokedAt === null) {
          await this.options.kv.put(entry.key, { ...entry.value, revokedAt: now }, { expectedRevision: entry.revision });
        }
      }
      await this.options.kv.delete(userKey(valid));
    }, { actor: actorOf(by) });
  }

  // ───────────────────────── tokens ─────────────────────────

  async createApiToken(options: NewApiToken, by: Actor): Promise<CreatedApiToken> {
    const valid = parseOrThrow(newApiTokenSchema, options, 'API token');
    const user = await this.requireUser(valid.user);
    const role = valid.role ?? user.role;
    if (RANK[role] > RANK[user.role]) {
      throw new ForbiddenError(`a token of user '${user.name}' cannot have role ${role}: above the user's own role (${user.role})`, {
        details: { operation: 'ManageTokens', target: `user:${user.name}` },
      });
    }
    this.ceiling(by, role, `create a token with role ${role}`, 'ManageTokens');
    const expiresAt = valid.ttlMs !== undefined ? this.options.now() + valid.ttlMs : null;
    return this.issue('api', user.name, role, valid.label ?? null, expiresAt, by);
  }

  async createLoginToken(name: string, by: Actor, ttlMs?: number): Promise<CreatedApiToken> {
    const user = await this.requireUser(parseOrThrow(userNameSchema, name, 'user name'));
    const ttl = ttlMs === undefined ? LOGIN_TOKEN_TTL_MS : parseOrThrow(loginTtlSchema, ttlMs, 'login token ttl');
    this.ceiling(by, user.role, `create a login token for a user with role ${user.role}`, 'ManageTokens');
    return this.issue('login', user.name, user.role, 'dashboard login', this.options.now() + ttl, by);
  }

  /**
   * Keeps an existing API secret valid by its hash (data directories from before users existed:
   * the CLI's token in client.json was only an `auth/admin` hash). Bootstrap only.
   */
  async importApiToken(hash: string, user: string, label: string, by: Actor): Promise<TokenView> {
    const owner = await this.requireUser(user);
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new ValidationError('token hash: not a sha256 hex digest', [{ path: 'hash', message: 'not a sha256 hex digest' }]);
    const known = this.byHash.get(hash);
    if (known) return viewOfToken((await this.token(known))!, this.options.now());
    const record = this.newRecord('api', hash, owner.name, owner.role, label, null, by);
    return this.options.security.privileged('token.import', `user:${owner.name}`, async () => {
      await this.options.kv.put(tokenKey(record.id), record, { expectedRevision: 0 });
      this.byHash.set(hash, record.id);
      return viewOfToken(record, this.options.now());
    }, { actor: actorOf(by), details: { kind: 'api', role: owner.role, tokenId: record.id } });
  }

  async listTokens(): Promise<TokenView[]> {
    const now = this.options.now();
    const join = (await this.options.joinTokens.list()).map((t) => viewOfJoinToken(t, now));
    const api = (await this.options.kv.list<ApiTokenRecord>(API_TOKENS_PREFIX)).map((e) => viewOfToken(e.value, now));
    return [...join, ...api].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  }

  async revokeToken(id: string, by: Actor): Promise<TokenView> {
    const valid = parseOrThrow(tokenIdSchema, id, 'token id');
    const entry = await this.options.kv.get<ApiTokenRecord>(tokenKey(valid));
    if (entry) {
      if (entry.value.revokedAt !== null) return viewOfToken(entry.value, this.options.now());
      return this.options.security.privileged('token.revoke', valid, async () => {
        const revoked = { ...entry.value, revokedAt: this.options.now() };
        await this.options.kv.put(entry.key, revoked, { expectedRevision: entry.revision });
        return viewOfToken(revoked, this.options.now());
      }, { actor: actorOf(by), details: { kind: entry.value.kind, user: entry.value.user } });
    }
    const join = (await this.options.joinTokens.list()).find((t) => t.id === valid);
    if (!join) throw new NotFoundError('token', valid);
    if (join.revokedAt !== null) return viewOfJoinToken(join, this.options.now());
    return this.options.security.privileged('token.revoke', valid, async () => viewOfJoinToken(await this.options.joinTokens.revoke(valid, this.options.now()), this.options.now()), {
      actor: actorOf(by),
      details: { kind: 'join' },
    });
  }

  // ───────────────────────── policy ─────────────────────────

  async record(record: AuditRecord): Promise<void> {
    return this.options.security.record(record);
  }

  aclPolicy(): AclPolicy {
    return this.policy;
  }

  async setAclPolicy(policy: unknown, by: Actor): Promise<AclPolicy> {
    const valid = parseAclPolicy(policy);
    return this.options.security.privileged('acl.set', this.file?.path ?? 'acl', () => {
      if (this.file) this.fileText = this.file.write(valid);
      this.policy = valid;
      return valid;
    }, { actor: actorOf(by) });
  }

  /** A hand edit of the policy file: valid → applied (audited, fail-closed); invalid → the old policy stays, logged and audited as 'failed'. */
  private async fileChanged(): Promise<void> {
    const file = this.file;
    if (!file || this.state !== 'running') return;
    const actor = `file:${file.path}`;
    let text: string | null;
    try {
      text = file.readText();
    } catch (err) {
      this.options.log.error(`cannot read the ACL policy ${file.path} (keeping the current policy): ${(err as Error).message}`);
      return;
    }
    if (text === this.fileText) return;
    if (text === null) {
      this.fileText = null;
      this.options.log.warn(`the ACL policy file ${file.path} was removed; the current policy stays in force until the next start`);
      return;
    }
    let next: AclPolicy;
    try {
      next = file.load() ?? this.policy;
    } catch (err) {
      this.fileText = text;
      const message = (err as Error).message;
      this.options.log.error(`the edited ACL policy is invalid; keeping the previous policy. ${message}`);
      await this.options.security.note(actor, 'acl.reload', file.path, 'failed', message);
      return;
    }
    try {
      await this.options.security.privileged('acl.reload', file.path, () => {
        this.policy = next;
      }, { actor });
      this.fileText = text;
      this.options.log.info(`ACL policy reloaded from ${file.path}`);
    } catch (err) {
      this.options.log.error(`the edited ACL policy was not applied: ${(err as Error).message}`);
    }
  }

  // ───────────────────────── internals ─────────────────────────

  private async issue(kind: 'api' | 'login', user: string, role: UserRoleName, label: string | null, expiresAt: number | null, by: Actor): Promise<CreatedApiToken> {
    const token = generateSecret('bat_');
    const record = this.newRecord(kind, hashSecret(token), user, role, label, expiresAt, by);
    return this.options.security.privileged('token.create', `user:${user}`, async () => {
      await this.options.kv.put(tokenKey(record.id), record, { expectedRevision: 0 });
      this.byHash.set(record.hash, record.id);
      return { id: record.id, token, user, role, expiresAt };
    }, { actor: actorOf(by), details: { kind, role, tokenId: record.id, ...(expiresAt !== null ? { expiresAt } : {}) } });
  }

  private newRecord(kind: 'api' | 'login', hash: string, user: string, role: UserRoleName, label: string | null, expiresAt: number | null, by: Actor): ApiTokenRecord {
    return {
      id: newId('tok'), kind, hash, user, role, label,
      createdAt: this.options.now(), createdBy: actorOf(by), expiresAt, revokedAt: null, usedAt: null, usedBy: null,
    };
  }

  /** A user requester may not hand out more than it holds (a custom policy may let operators manage tokens). */
  private ceiling(by: Actor, role: UserRoleName, what: string, operation: Operation): void {
    if (by.kind === 'user' && RANK[role] > RANK[by.role]) {
      throw new ForbiddenError(`user ${by.name} (${by.role}) may not ${what}: above its own role`, { details: { operation, target: 'fleet' } });
    }
  }

  private async recordFor(secret: string): Promise<ApiTokenRecord | null> {
    if (typeof secret !== 'string' || secret.length === 0 || secret.length > MAX_BEARER_LENGTH) return null;
    const hash = hashSecret(secret);
    const id = this.byHash.get(hash);
    const record = id ? await this.token(id) : null;
    return record && secretsEqual(record.hash, hash) ? record : null;
  }

  private async token(id: string): Promise<ApiTokenRecord | null> {
    return (await this.options.kv.get<ApiTokenRecord>(tokenKey(id)))?.value ?? null;
  }

  private async user(name: string): Promise<UserRecord | null> {
    return (await this.options.kv.get<UserRecord>(userKey(name)))?.value ?? null;
  }

  private async requireUser(name: string): Promise<UserRecord> {
    const user = await this.user(name);
    if (!user) throw new NotFoundError('user', name);
    return user;
  }
}

const userKey = (name: string): string => `${USERS_PREFIX}${name}`;
const tokenKey = (id: string): string => `${API_TOKENS_PREFIX}${id}`;

/** How the audit trail names a requester: `user:<name>`, `node:<id>`, `system:<name>`. */
export function actorOf(actor: Actor): string {
  return actor.kind === 'user' ? `user:${actor.name}` : actor.kind === 'node' ? `node:${actor.nodeId}` : `system:${actor.name}`;
}

function targetString(target: Target): string {
  return target.kind === 'fleet' ? 'fleet' : target.kind === 'node' ? `node:${target.nodeId}` : `project:${target.project}`;
}

/** A token never acts above its user's current role. */
function requesterOf(user: UserRecord, tokenRole: UserRoleName): Requester {
  const role = RANK[tokenRole] <= RANK[user.role] ? tokenRole : user.role;
  return { kind: 'user', name: user.name, role, ...(user.projects ? { projects: [...user.projects] } : {}) };
}

function stateOf(t: { revokedAt: number | null; usedAt: number | null; expiresAt: number | null }, now: number): TokenView['state'] {
  if (t.revokedAt !== null) return 'revoked';
  if (t.usedAt !== null) return 'used';
  if (t.expiresAt !== null && now >= t.expiresAt) return 'expired';
  return 'active';
}

function refusalFor(record: ApiTokenRecord, now: number): BitacoraError | null {
  const details = { tokenId: record.id };
  switch (stateOf(record, now)) {
    case 'revoked':
      return new BitacoraError(ErrorCode.TokenRevoked, `token ${record.id} was revoked`, { details });
    case 'used':
      return new BitacoraError(ErrorCode.TokenUsed, `login token ${record.id} was already used; login tokens are one-time, create a new one with \`bitacora token create --user ${record.user} --login\``, { details });
    case 'expired':
      return new BitacoraError(ErrorCode.TokenExpired, `token ${record.id} expired at ${new Date(record.expiresAt ?? 0).toISOString()}`, { details });
    default:
      return null;
  }
}

function viewOfUser(u: UserRecord): UserView {
  return { name: u.name, role: u.role, ...(u.projects ? { projects: [...u.projects] } : {}), createdAt: u.createdAt, createdBy: u.createdBy };
}

function viewOfToken(t: ApiTokenRecord, now: number): TokenView {
  return {
    id: t.id, kind: t.kind, role: t.role, user: t.user, label: t.label, createdAt: t.createdAt, createdBy: t.createdBy,
    expiresAt: t.expiresAt, revokedAt: t.revokedAt, usedAt: t.usedAt, usedBy: t.usedBy, state: stateOf(t, now),
  };
}

function viewOfJoinToken(t: JoinTokenRecord, now: number): TokenView {
  return {
    id: t.id, kind: 'join', role: t.role, user: null, label: null, createdAt: t.createdAt, createdBy: t.createdBy,
    expiresAt: t.expiresAt, revokedAt: t.revokedAt, usedAt: t.usedAt, usedBy: t.usedBy, state: stateOf(t, now),
  };
}
