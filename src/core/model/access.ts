/**
 * Who may use the API and dashboard: users with a role, the bearer tokens they hold and the
 * one-time login tokens that open a dashboard session. Shapes shared by the coordinator's
 * AccessControl, the REST API and the client (which may import only core). Secrets never
 * appear here except in the one answer that creates them (`Created*.token`).
 */
export const USER_ROLE_NAMES = ['admin', 'operator', 'viewer'] as const;
export type UserRoleName = (typeof USER_ROLE_NAMES)[number];

export interface UserView {
  name: string;
  role: UserRoleName;
  /** An operator limited to these projects; absent = every project. */
  projects?: string[];
  createdAt: number;
  createdBy: string;
}

export interface NewUser {
  name: string;
  role: UserRoleName;
  projects?: string[];
}

/**
 * Every secret the master hands out, as `token list` shows it: join tokens (for machines)
 * and API tokens (for users: CLI, scripts, the dashboard's one-time login token).
 */
export interface TokenView {
  id: string;
  kind: 'join' | 'api' | 'login';
  /** Join tokens: the node role they admit. API/login tokens: the role they act with. */
  role: string;
  /** API/login tokens: the user they act for. */
  user: string | null;
  label: string | null;
  createdAt: number;
  createdBy: string;
  expiresAt: number | null;
  revokedAt: number | null;
  /** Join and login tokens are one-time: when they were used (and, for join tokens, by which node). */
  usedAt: number | null;
  usedBy: string | null;
  /** 'active' | 'expired' | 'used' | 'revoked', derived at listing time. */
  state: 'active' | 'expired' | 'used' | 'revoked';
}

export interface NewApiToken {
  user: string;
  /** At most the user's own role; default the user's role. */
  role?: UserRoleName;
  /** Default: no expiry for API tokens. */
  ttlMs?: number;
  label?: string;
}

export interface CreatedApiToken {
  id: string;
  /** The secret (`bat_…`), shown once; only its hash is stored. */
  token: string;
  user: string;
  role: UserRoleName;
  expiresAt: number | null;
}
