/**
 * SecurityClient — node revocation, the audit trail, users, API/login tokens and the ACL policy. Reached as `FleetClient.security`; it
 * shares the FleetClient's transport (auth, timeout, errors as BitacoraErrors with the server's code).
 */
import type { CreatedApiToken, FleetNode, NewUser, TokenView, UserRoleName, UserView } from '../core/index.js';

/** The FleetClient's request function. */
export type SecurityTransport = <T>(
  method: string,
  path: string,
  options: { body?: unknown; query?: Record<string, string | number | undefined>; what: string },
) => Promise<T>;

/** One audit entry as the API returns it (the chain fields let a client re-verify it). */
export interface AuditEntryView {
  seq: number;
  entry: {
    index: number;
    at: number;
    actor: string;
    action: string;
    target: string | null;
    outcome: 'allowed' | 'denied' | 'succeeded' | 'failed';
    reason: string | null;
    details: Record<string, unknown>;
    prevHash: string;
    hash: string;
    /** HMAC of `hash` under the master's audit key (absent in entries older than the key). */
    mac?: string;
  };
}

/** `GET /v1/audit/checkpoints`: the master's signed checkpoints, oldest first, and the key that signed them. */
export interface AuditCheckpointsView {
  publicKeyPem: string;
  checkpoints: unknown[];
}

export interface AuditVerificationView {
  ok: boolean;
  checked: number;
  break: null | { position: number; index: number | null; seq: number | null; kind: string; message: string };
  /** True when the verifier checked every MAC (it held the audit key). */
  keyed?: boolean;
  checkpoints?: { checked: number; latest: { headIndex: number; at: number } | null };
}

/** `POST /v1/api-tokens`: `ttl` is a duration like `1h`, or milliseconds; `role` at most the user's own. */
export interface ApiTokenRequest {
  user: string;
  role?: UserRoleName;
  ttl?: string | number;
  label?: string;
}

/** `GET /v1/whoami`: who the bearer acts for, and how it was authenticated. */
export interface WhoAmI {
  user: string;
  role: UserRoleName;
  projects?: string[];
  via: string;
}

/** The ACL policy as the API returns it (security/acl's AclPolicy; the client may import only core). */
export type AclPolicyView = Record<string, unknown>;

export class SecurityClient {
  constructor(private readonly request: SecurityTransport) {}

  revokeNode(idOrName: string, reason?: string): Promise<FleetNode> {
    return this.request('POST', `/v1/nodes/${encodeURIComponent(idOrName)}/revoke`, { body: reason ? { reason } : {}, what: 'node revocation' });
  }

  auditLog(query: { afterIndex?: number; limit?: number } = {}): Promise<AuditEntryView[]> {
    return this.request('GET', '/v1/audit', { query, what: 'audit trail' });
  }

  /** Verified by the master (MAC key, its checkpoints); `checkpoint`: one more to check against, e.g. an agent's. */
  verifyAudit(checkpoint?: Record<string, unknown>): Promise<AuditVerificationView> {
    return this.request('POST', '/v1/audit/verify', { body: checkpoint ? { checkpoint } : {}, what: 'audit verification' });
  }

  auditCheckpoints(): Promise<AuditCheckpointsView> {
    return this.request('GET', '/v1/audit/checkpoints', { what: 'audit checkpoints' });
  }

  // ── users ──
  listUsers(): Promise<UserView[]> {
    return this.request('GET', '/v1/users', { what: 'user list' });
  }
  addUser(user: NewUser): Promise<UserView> {
    return this.request('POST', '/v1/users', { body: user, what: 'user creation' });
  }
  async removeUser(name: string): Promise<void> {
    await this.request('DELETE', `/v1/users/${encodeURIComponent(name)}`, { what: 'user removal' });
  }

  // ── API and login tokens (join tokens: FleetClient.createToken) ──
  createApiToken(request: ApiTokenRequest): Promise<CreatedApiToken> {
    return this.request('POST', '/v1/api-tokens', { body: request, what: 'API token creation' });
  }
  createLoginToken(user: string, ttl?: string | number): Promise<CreatedApiToken> {
    return this.request('POST', '/v1/login-tokens', { body: { user, ...(ttl !== undefined ? { ttl } : {}) }, what: 'login token creation' });
  }
  /** Join, API and login tokens, newest first; never their secrets. */
  listTokens(): Promise<TokenView[]> {
    return this.request('GET', '/v1/tokens', { what: 'token list' });
  }
  revokeToken(id: string): Promise<TokenView> {
    return this.request('POST', `/v1/tokens/${encodeURIComponent(id)}/revoke`, { what: 'token revocation' });
  }

  // ── ACL policy ──
  aclPolicy(): Promise<AclPolicyView> {
    return this.request('GET', '/v1/acl', { what: 'ACL policy' });
  }
  setAclPolicy(policy: unknown): Promise<AclPolicyView> {
    return this.request('PUT', '/v1/acl', { body: policy, what: 'ACL policy update' });
  }

  /** Ends the dashboard session this client's cookie belongs to (`POST /v1/logout`). */
  async logout(): Promise<void> {
    await this.request('POST', '/v1/logout', { what: 'logout' });
  }

  whoami(): Promise<WhoAmI> {
    return this.request('GET', '/v1/whoami', { what: 'whoami' });
  }
}
