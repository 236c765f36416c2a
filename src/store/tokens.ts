/**
 * JoinTokenRepository — one-time, expiring join tokens, stored only as hashes.
 * `consume` is atomic: two agents racing with one token → exactly one wins.
 */
import type { NodeRole } from '../core/index.js';

export interface JoinTokenRecord {
  id: string;
  /** sha256 hex of the secret; the secret itself is never stored. */
  hash: string;
  role: Exclude<NodeRole, 'master'>;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  usedBy: string | null;
  revokedAt: number | null;
  createdBy: string;
}

export interface JoinTokenRepository {
  create(record: Omit<JoinTokenRecord, 'usedAt' | 'usedBy' | 'revokedAt'>): Promise<JoinTokenRecord>;
  /**
   * Marks the token used by `nodeName`. Throws BitacoraError TokenInvalid (unknown hash),
   * TokenExpired, TokenUsed or TokenRevoked; appends 'token.consumed' on success. Refusals
   * are recorded by the caller through EventLog ('token.refused').
   */
  consume(hash: string, nodeName: string, now: number): Promise<JoinTokenRecord>;
  list(): Promise<JoinTokenRecord[]>;
  /** NotFoundError when unknown; revoking a revoked token returns it unchanged. Appends 'token.revoked'. */
  revoke(id: string, now: number): Promise<JoinTokenRecord>;
}
