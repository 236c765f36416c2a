/**
 * The access service's contract, as the edges (REST, WebSocket, dashboard) and the
 * coordinator use it. Implemented by AccessControl.
 */
import type { CreatedApiToken, NewApiToken, NewUser, TokenView, UserView } from '../core/index.js';
import type { AclPolicy, AuditRecord, Operation, Requester, Target } from '../security/index.js';

/**
 * AccessService — who may use the API and dashboard, and what they may do: users, their API
 * tokens and one-time login tokens, the ACL policy, and `authorize`, the one check every
 * entry point (REST, WebSocket, gRPC) runs before acting. Implemented by the coordinator's
 * AccessControl; every change and every denial lands in the audit trail (fail-closed).
 */
export interface AccessService {
  /** The user an API token acts for; null when unknown, expired, revoked or its user was removed. Never throws. */
  authenticate(bearer: string): Promise<Requester | null>;
  /**
   * Exchanges a token for the user it names, to open a dashboard session: a one-time login
   * token is consumed, an API token is accepted as is. TokenInvalid / TokenExpired / TokenUsed /
   * TokenRevoked otherwise. Audited either way.
   */
  login(token: string): Promise<Requester>;
  /** Returns when `requester` may do `operation` on every target; otherwise appends a 'denied' audit entry and throws ForbiddenError (BIT_ERR_FORBIDDEN). */
  authorize(operation: Operation, requester: Requester, targets: readonly Target[]): Promise<void>;

  listUsers(): Promise<UserView[]>;
  /** Conflict when the name is taken; ValidationError for a bad name, role or project. */
  addUser(user: NewUser, by: Requester): Promise<UserView>;
  /** Also revokes the user's tokens. NotFound when unknown; Conflict when it is the last admin. */
  removeUser(name: string, by: Requester): Promise<void>;

  /** NotFound when the user is unknown; Forbidden when `role` is above the user's own. */
  createApiToken(options: NewApiToken, by: Requester): Promise<CreatedApiToken>;
  /** A one-time login token for the dashboard (`bitacora up` prints one for the admin on first start). */
  createLoginToken(user: string, by: Requester, ttlMs?: number): Promise<CreatedApiToken>;
  /** Join, API and login tokens, newest first; never their secrets. */
  listTokens(): Promise<TokenView[]>;
  /** Revokes a join, API or login token by id; NotFound when unknown. Revoking twice returns it unchanged. */
  revokeToken(id: string, by: Requester): Promise<TokenView>;

  /**
   * Appends one entry to the hash-chained audit trail, for operations performed outside the
   * coordinator (the API's logbook writes); throws AuditUnavailable when it cannot (fail-closed).
   */
  record(record: AuditRecord): Promise<void>;

  aclPolicy(): AclPolicy;
  /** Validates (ValidationError naming every issue), persists to the policy file, applies at once, audits. */
  setAclPolicy(policy: unknown, by: Requester): Promise<AclPolicy>;
}
