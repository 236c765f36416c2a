/** Conformance of TaskLogStore (ordered chunks, duplicates stored once) and JoinTokenRepository (one-time, expiring, revocable). */
import { describe, expect, it } from 'vitest';
import { ErrorCode, NotFoundError, type TaskLogChunk } from '../../core/index.js';
import { caught, eventsOf, sha256, T0, useBackbone, type OpenBackbone } from './harness.js';

function chunk(attempt: number, seq: number, data = `line ${attempt}.${seq}\n`): TaskLogChunk {
  return { taskId: 'tsk_1', attempt, seq, stream: 'stdout', data, at: T0 + seq };
}

export function describeTaskLogStore(open: OpenBackbone): void {
  describe('TaskLogStore', () => {
    const backbone = useBackbone(open);

    it('stores chunks and reads them ordered by attempt and seq', () => {
      const logs = backbone().taskLogs;
      expect(logs.append([chunk(2, 0), chunk(1, 1), chunk(1, 0)])).toBe(3);
      expect(logs.read('tsk_1').map((c) => [c.attempt, c.seq])).toEqual([[1, 0], [1, 1], [2, 0]]);
      expect(logs.read('tsk_1')[0]).toEqual(chunk(1, 0));
      expect(logs.read('tsk_other')).toEqual([]);
    });

    it('stores re-sent chunks once, keeping the first copy', () => {
      const logs = backbone().taskLogs;
      logs.append([chunk(1, 0, 'first'), chunk(1, 1)]);
      expect(logs.append([chunk(1, 0, 'resent'), chunk(1, 1), chunk(1, 2)])).toBe(1);
      expect(logs.read('tsk_1').map((c) => c.data)).toEqual(['first', 'line 1.1\n', 'line 1.2\n']);
    });

    it('reads one attempt, after a seq, at most `limit`', () => {
      const logs = backbone().taskLogs;
      logs.append([0, 1, 2, 3].map((s) => chunk(1, s)).concat([chunk(2, 0)]));
      expect(logs.read('tsk_1', { attempt: 2 }).map((c) => c.seq)).toEqual([0]);
      expect(logs.read('tsk_1', { attempt: 1, afterSeq: 1 }).map((c) => c.seq)).toEqual([2, 3]);
      expect(logs.read('tsk_1', { attempt: 1, limit: 2 }).map((c) => c.seq)).toEqual([0, 1]);
    });

    it('refuses an invalid batch as a whole', () => {
      const logs = backbone().taskLogs;
      const bad = { ...chunk(1, 1), stream: 'video' } as unknown as TaskLogChunk;
      expect(caught(() => logs.append([chunk(1, 0), bad])).code).toBe(ErrorCode.Validation);
      expect(logs.read('tsk_1')).toEqual([]);
      expect(logs.append([])).toBe(0);
    });
  });
}

export function describeJoinTokenRepository(open: OpenBackbone): void {
  describe('JoinTokenRepository', () => {
    const backbone = useBackbone(open);
    const token = (id: string, overrides: { expiresAt?: number } = {}) => ({
      id, hash: sha256(`secret of ${id}`), role: 'worker' as const, createdAt: T0, expiresAt: overrides.expiresAt ?? T0 + 60_000, createdBy: 'admin',
    });

    it('creates a token record and records the event without the hash', () => {
      const b = backbone();
      const record = b.joinTokens.create(token('tok_1'));
      expect(record).toEqual({ ...token('tok_1'), usedAt: null, usedBy: null, revokedAt: null });
      expect(b.joinTokens.list()).toEqual([record]);
      const [event] = eventsOf(b, 'token.created');
      expect(event?.subject).toBe('tok_1');
      expect(JSON.stringify(event?.data)).not.toContain(record.hash);
    });

    it('refuses a master token and a token that expires before it is created', () => {
      const b = backbone();
      expect(caught(() => b.joinTokens.create({ ...token('tok_1'), role: 'master' as never })).code).toBe(ErrorCode.Validation);
      expect(caught(() => b.joinTokens.create(token('tok_2', { expiresAt: T0 - 1 }))).code).toBe(ErrorCode.Validation);
      expect(b.joinTokens.list()).toEqual([]);
    });

    it('is consumed once: the second use is refused', () => {
      const b = backbone();
      const t = token('tok_1');
      b.joinTokens.create(t);
      expect(b.joinTokens.consume(t.hash, 'worker-1', T0 + 1)).toMatchObject({ usedAt: T0 + 1, usedBy: 'worker-1' });
      expect(caught(() => b.joinTokens.consume(t.hash, 'worker-2', T0 + 2)).code).toBe(ErrorCode.TokenUsed);
      expect(b.joinTokens.list()[0]?.usedBy).toBe('worker-1');
      expect(eventsOf(b, 'token.consumed')).toHaveLength(1);
    });

    it('refuses an unknown token', () => {
      expect(caught(() => backbone().joinTokens.consume(sha256('guess'), 'worker-1', T0)).code).toBe(ErrorCode.TokenInvalid);
    });

    it('refuses an expired token and leaves it unused', () => {
      const b = backbone();
      const t = token('tok_1', { expiresAt: T0 + 1000 });
      b.joinTokens.create(t);
      expect(b.joinTokens.consume(t.hash, 'worker-1', T0 + 1000).usedAt).toBe(T0 + 1000);
      const late = token('tok_2', { expiresAt: T0 + 1000 });
      b.joinTokens.create(late);
      expect(caught(() => b.joinTokens.consume(late.hash, 'worker-2', T0 + 1001)).code).toBe(ErrorCode.TokenExpired);
      expect(b.joinTokens.list().find((r) => r.id === 'tok_2')?.usedAt).toBeNull();
    });

    it('refuses a revoked token; revoking is recorded and idempotent', () => {
      const b = backbone();
      const t = token('tok_1');
      b.joinTokens.create(t);
      const revoked = b.joinTokens.revoke('tok_1', T0 + 5);
      expect(revoked.revokedAt).toBe(T0 + 5);
      expect(b.joinTokens.revoke('tok_1', T0 + 9)).toEqual(revoked);
      expect(caught(() => b.joinTokens.consume(t.hash, 'worker-1', T0 + 6)).code).toBe(ErrorCode.TokenRevoked);
      expect(eventsOf(b, 'token.revoked')).toHaveLength(1);
      expect(caught(() => b.joinTokens.revoke('tok_unknown', T0))).toBeInstanceOf(NotFoundError);
    });

    it('records nothing for a refused consumption', () => {
      const b = backbone();
      const before = b.events.latestSeq();
      caught(() => b.joinTokens.consume(sha256('guess'), 'worker-1', T0));
      expect(b.events.latestSeq()).toBe(before);
    });
  });
}
