/** JoinTokenRepository on SQLite: hashes only; `consume` checks and marks in one transaction. */
import { z } from 'zod';
import { BitacoraError, ErrorCode, NotFoundError, parseOrThrow } from '../../core/index.js';
import type { JoinTokenRecord, JoinTokenRepository } from '../tokens.js';
import { timestamp } from './codec.js';
import type { SqliteDb } from './db.js';
import { recordEvent } from './events.js';
import type { Synchronous } from './synchronous.js';

const createSchema = z
  .object({
    id: z.string().min(1),
    hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest'),
    role: z.enum(['worker', 'hybrid']),
    createdAt: z.number().int().nonnegative(),
    expiresAt: z.number().int().nonnegative(),
    createdBy: z.string().min(1),
  })
  .strict()
  .refine((t) => t.expiresAt > t.createdAt, { message: 'must be after createdAt', path: ['expiresAt'] });

interface TokenRow {
  id: string;
  hash: string;
  role: JoinTokenRecord['role'];
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by: string | null;
  revoked_at: number | null;
  created_by: string;
}

const COLUMNS = 'id, hash, role, created_at, expires_at, used_at, used_by, revoked_at, created_by';

function toRecord(row: TokenRow): JoinTokenRecord {
  return {
    id: row.id, hash: row.hash, role: row.role, createdAt: row.created_at, expiresAt: row.expires_at,
    usedAt: row.used_at, usedBy: row.used_by, revokedAt: row.revoked_at, createdBy: row.created_by,
  };
}

export class SqliteJoinTokenRepository implements Synchronous<JoinTokenRepository> {
  constructor(private readonly db: SqliteDb) {}

  create(record: Omit<JoinTokenRecord, 'usedAt' | 'usedBy' | 'revokedAt'>): JoinTokenRecord {
    const t = parseOrThrow(createSchema, record, 'join token');
    return this.db.write(`join token ${t.id}`, () => {
      this.db.stmt(`INSERT INTO join_tokens (${COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL, ?)`).run(t.id, t.hash, t.role, t.createdAt, t.expiresAt, t.createdBy);
      recordEvent(this.db, 'token.created', t.id, { role: t.role, expiresAt: t.expiresAt, createdBy: t.createdBy }, t.createdAt);
      return { ...t, usedAt: null, usedBy: null, revokedAt: null };
    });
  }

  consume(hash: string, nodeName: string, now: number): JoinTokenRecord {
    timestamp(now);
    return this.db.write('join token', () => {
      const row = this.db.stmt(`SELECT ${COLUMNS} FROM join_tokens WHERE hash = ?`).get(hash) as TokenRow | undefined;
      if (!row) throw new BitacoraError(ErrorCode.TokenInvalid, 'the join token is not valid; create one with `bitacora token create`');
      const token = toRecord(row);
      const details = { tokenId: token.id };
      if (token.revokedAt !== null) throw new BitacoraError(ErrorCode.TokenRevoked, `join token ${token.id} was revoked; create a new one`, { details });
      if (token.usedAt !== null) {
        throw new BitacoraError(ErrorCode.TokenUsed, `join token ${token.id} was already used by '${token.usedBy ?? '?'}'; tokens are one-time, create a new one`, { details });
      }
      if (now > token.expiresAt) {
        throw new BitacoraError(ErrorCode.TokenExpired, `join token ${token.id} expired at ${new Date(token.expiresAt).toISOString()}; create a new one`, { details });
      }
      this.db.stmt('UPDATE join_tokens SET used_at = ?, used_by = ? WHERE id = ?').run(now, nodeName, token.id);
      recordEvent(this.db, 'token.consumed', token.id, { nodeName, role: token.role }, now);
      return { ...token, usedAt: now, usedBy: nodeName };
    });
  }

  list(): JoinTokenRecord[] {
    return this.db.read(() => (this.db.stmt(`SELECT ${COLUMNS} FROM join_tokens ORDER BY created_at, rowid`).all() as TokenRow[]).map(toRecord));
  }

  /** Idempotent: revoking a revoked token returns it unchanged. */
  revoke(id: string, now: number): JoinTokenRecord {
    timestamp(now);
    return this.db.write(`join token ${id}`, () => {
      const row = this.db.stmt(`SELECT ${COLUMNS} FROM join_tokens WHERE id = ?`).get(id) as TokenRow | undefined;
      if (!row) throw new NotFoundError('join token', id);
      const token = toRecord(row);
      if (token.revokedAt !== null) return token;
      this.db.stmt('UPDATE join_tokens SET revoked_at = ? WHERE id = ?').run(now, id);
      recordEvent(this.db, 'token.revoked', id, { role: token.role }, now);
      return { ...token, revokedAt: now };
    });
  }
}
