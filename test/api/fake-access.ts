/**
 * An in-memory AccessService for testing the API edge: fixed bearer tokens for users of each
 * role, one-time login tokens, and decisions taken by the REAL pure `authorize()` (security/acl)
 * with DEFAULT_ACL_POLICY unless a test sets another. It records every decision (denials apart)
 * and every audit record the API hands it, so tests can check what was asked and refused.
 */
import { randomBytes } from 'node:crypto';
import {
  BitacoraError, ConflictError, ErrorCode, NotFoundError,
  type CreatedApiToken, type NewApiToken, type NewUser, type TokenView, type UserRoleName, type UserView,
} from '../../src/core/index.js';
import type { AccessService } from '../../src/coordinator/fleet-service.js';
import {
  authorize, DEFAULT_ACL_POLICY, parseAclPolicy, type AclPolicy, type AuditRecord, type Operation, type Requester, type Target,
} from '../../src/security/index.js';

/** The fixed users and their bearer tokens. `lim` is an operator limited to project `alpha`. */
export const USERS = {
  admin: { name: 'admin', role: 'admin', token: 'tok-admin' },
  operator: { name: 'olga', role: 'operator', token: 'tok-operator' },
  viewer: { name: 'vic', role: 'viewer', token: 'tok-viewer' },
  limited: { name: 'lim', role: 'operator', token: 'tok-limited', projects: ['alpha'] },
} as const satisfies Record<string, { name: string; role: UserRoleName; token: string; projects?: readonly string[] }>;
export type FixedUser = keyof typeof USERS;

export interface Decision {
  operation: Operation;
  user: string;
  targets: Target[];
  allowed: boolean;
  reason: string;
}

interface TokenRecord {
  view: TokenView;
  secret: string;
}

export class FakeAccess implements AccessService {
  policy: AclPolicy = DEFAULT_ACL_POLICY;
  users = new Map<string, UserView>();
  tokens: TokenRecord[] = [];
  decisions: Decision[] = [];
  /** What the API passed as its `audit` sink (`auditSink`). */
  audit: AuditRecord[] = [];
  /** Set to make `auditSink` throw (an unwritable audit trail). */
  auditFailure: Error | null = null;
  /** Set to make `authenticate` throw (a failing store). */
  failAuthenticate: Error | null = null;

  constructor(options: { adminToken?: string } = {}) {
    for (const u of Object.values(USERS)) {
      this.users.set(u.name, { name: u.name, role: u.role, ...('projects' in u ? { projects: [...u.projects] } : {}), createdAt: 1, createdBy: 'test' });
      this.addToken('api', u.name, u.role, u.token);
    }
    if (options.adminToken) this.addToken('api', USERS.admin.name, 'admin', options.adminToken);
  }

  get denials(): Decision[] {
    return this.decisions.filter((d) => !d.allowed);
  }

  /** Audit sink for `startApiServer({ audit })`. */
  readonly auditSink = async (record: AuditRecord): Promise<void> => {
    if (this.auditFailure) throw this.auditFailure;
    this.audit.push(record);
  };

  async record(record: AuditRecord): Promise<void> {
    await this.auditSink(record);
  }

  async authenticate(bearer: string): Promise<Requester | null> {
    if (this.failAuthenticate) throw this.failAuthenticate;
    const record = this.tokens.find((t) => t.secret === bearer && t.view.kind === 'api' && t.view.state === 'active');
    return record ? this.requester(record) : null;
  }

  async login(token: string): Promise<Requester> {
    const record = this.tokens.find((t) => t.secret === token && t.view.kind !== 'join');
    if (!record) throw new BitacoraError(ErrorCode.TokenInvalid, 'unknown token');
    if (record.view.state === 'used') throw new BitacoraError(ErrorCode.TokenUsed, `login token ${record.view.id} was already used`);
    if (record.view.state === 'revoked') throw new BitacoraError(ErrorCode.TokenRevoked, `token ${record.view.id} was revoked`);
    const requester = this.requester(record);
    if (!requester) throw new BitacoraError(ErrorCode.TokenRevoked, 'its user was removed');
    if (record.view.kind === 'login') Object.assign(record.view, { state: 'used', usedAt: Date.now(), usedBy: 'dashboard' });
    return requester;
  }

  async authorize(operation: Operation, requester: Requester, targets: readonly Target[]): Promise<void> {
    const user = requester.kind === 'user' ? requester.name : requester.nodeId;
    for (const target of targets) {
      const decision = authorize(operation, requester, target, this.policy);
      this.decisions.push({ operation, user, targets: [...targets], allowed: decision.allowed, reason: decision.reason });
      if (!decision.allowed) throw new BitacoraError(ErrorCode.Forbidden, `forbidden: ${decision.reason}`, { details: { operation } });
    }
  }

  async listUsers(): Promise<UserView[]> {
    return [...this.users.values()];
  }

  async addUser(user: NewUser, by: Requester): Promise<UserView> {
    if (this.users.has(user.name)) throw new ConflictError(`user '${user.name}' exists`);
    const view: UserView = { ...user, createdAt: Date.now(), createdBy: nameOf(by) };
    this.users.set(user.name, view);
    return view;
  }

  async removeUser(name: string): Promise<void> {
    if (!this.users.delete(name)) throw new NotFoundError('user', name);
    for (const t of this.tokens) if (t.view.user === name && t.view.state === 'active') Object.assign(t.view, { state: 'revoked', revokedAt: Date.now() });
  }

  async createApiToken(options: NewApiToken, by: Requester): Promise<CreatedApiToken> {
    const user = this.users.get(options.user);
    if (!user) throw new NotFoundError('user', options.user);
    const role = options.role ?? user.role;
    const secret = `bat_${randomBytes(12).toString('base64url')}`;
    const view = this.addToken('api', user.name, role, secret, nameOf(by), options.ttlMs, options.label);
    return { id: view.id, token: secret, user: user.name, role, expiresAt: view.expiresAt };
  }

  async createLoginToken(userName: string, by: Requester, ttlMs = 600_000): Promise<CreatedApiToken> {
    const user = this.users.get(userName);
    if (!user) throw new NotFoundError('user', userName);
    const secret = `bat_${randomBytes(12).toString('base64url')}`;
    const view = this.addToken('login', user.name, user.role, secret, nameOf(by), ttlMs);
    return { id: view.id, token: secret, user: user.name, role: user.role, expiresAt: view.expiresAt };
  }

  async listTokens(): Promise<TokenView[]> {
    return this.tokens.map((t) => ({ ...t.view })).reverse();
  }

  async revokeToken(id: string): Promise<TokenView> {
    const record = this.tokens.find((t) => t.view.id === id);
    if (!record) throw new NotFoundError('token', id);
    if (record.view.state === 'active') Object.assign(record.view, { state: 'revoked', revokedAt: Date.now() });
    return { ...record.view };
  }

  aclPolicy(): AclPolicy {
    return this.policy;
  }

  async setAclPolicy(policy: unknown): Promise<AclPolicy> {
    this.policy = parseAclPolicy(policy);
    return this.policy;
  }

  private requester(record: TokenRecord): Requester | null {
    const user = record.view.user ? this.users.get(record.view.user) : undefined;
    if (!user) return null;
    return { kind: 'user', name: user.name, role: record.view.role as UserRoleName, ...(user.projects ? { projects: user.projects } : {}) };
  }

  private addToken(kind: 'api' | 'login', user: string, role: UserRoleName, secret: string, createdBy = 'test', ttlMs?: number, label?: string): TokenView {
    const now = Date.now();
    const view: TokenView = {
      id: `tok_${this.tokens.length + 1}`, kind, role, user, label: label ?? null, createdAt: now, createdBy,
      expiresAt: ttlMs !== undefined ? now + ttlMs : null, revokedAt: null, usedAt: null, usedBy: null, state: 'active',
    };
    this.tokens.push({ view, secret });
    return view;
  }
}

const nameOf = (by: Requester): string => (by.kind === 'user' ? by.name : by.nodeId);
