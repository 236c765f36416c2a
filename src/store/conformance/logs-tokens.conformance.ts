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

    it('stores chunks and reads them ordered by attempt and seq', async () => {
      const logs = backbone().taskLogs;
      expect(await logs.append([chunk(2, 0), chunk(1, 1), chunk(1, 0)])).toBe(3);
      expect((await logs.read('tsk_1')).map((c) => [c.attempt, c.seq])).toEqual([[1, 0], [1, 1], [2, 0]]);
      expect((await logs.read('tsk_1'))[0]).toEqual(chunk(1, 0));
      expect(await logs.read('tsk_other')).toEqual([]);
    });

    it('stores re-sent chunks once, keeping the first copy', async () => {
      const logs = backbone().taskLogs;
      await logs.append([chunk(1, 0, 'first'), chunk(1, 1)]);
      expect(await logs.append([chunk(1, 0, 'resent'), chunk(1, 1), chunk(1, 2)])).toBe(1);
      expect((await logs.read('tsk_1')).map((c) => c.data)).toEqual(['first', 'line 1.1\n', 'line 1.2\n']);
    });

    it('reads one attempt, after a seq, at most `limit`', async () => {
      const logs = backbone().taskLogs;
      await logs.append([0, 1, 2, 3].map((s) => chunk(1, s)).concat([chunk(2, 0)]));
      expect((await logs.read('tsk_1', { attempt: 2 })).map((c) => c.seq)).toEqual([0]);
      expect((await logs.read('tsk_1', { attempt: 1, afterSeq: 1 })).map((c) => c.seq)).toEqual([2, 3]);
      expect((await logs.read('tsk_1', { attempt: 1, limit: 2 })).map((c) => c.seq)).toEqual([0, 1]);
    });

    it('refuses an invalid batch as a whole', async () => {
      const logs = backbone().taskLogs;
      const bad = { ...chunk(1, 1), stream: 'video' } as unknown as TaskLogChunk;
      expect((await caught(() => logs.append([chunk(1, 0), bad]))).code).toBe(ErrorCode.Validation);
      expect(await logs.read('tsk_1')).toEqual([]);
      expect(await logs.append([])).toBe(0);
    });
  });
}

export function describeJoinTokenRepository(open: OpenBackbone): void {
  describe('JoinTokenRepository', () => {
    const backbone = useBackbone(open);
    const token = (id: string, overrides: { expiresAt?: number } = {}) => ({
      id, hash: sha256(`secret of ${id}`), role: 'worker' as const, createdAt: T0, expiresAt: overrides.expiresAt ?? T0 + 60_000, createdBy: 'admin',
    });

    it('creates a token record and records the event without the hash', async () => {
      const b = backbone();
      const record = await b.joinTokens.create(token('tok_1'));
      expect(record).toEqual({ ...token('tok_1'), usedAt: null, usedBy: null, revokedAt: null });
      expect(await b.joinTokens.list()).toEqual([record]);
      const [event] = await eventsOf(b, 'token.created');
      expect(event?.subject).toBe('tok_1');
      expect(JSON.stringify(event?.data)).not.toContain(record.hash);
    });

    it('refuses a master token and a token that expires before it is created', async () => {
      const b = backbone();
      expect((await caught(() => b.joinTokens.create({ ...token('tok_1'), role: 'master' as never }))).code).toBe(ErrorCode.Validation);
      expect((await caught(() => b.joinTokens.create(token('tok_2', { expiresAt: T0 - 1 })))).code).toBe(ErrorCode.Validation);
      expect(await b.joinTokens.list()).toEqual([]);
    });

    it('is consumed once: the second use is refused', async () => {
      const b = backbone();
      const t = token('tok_1');
      await b.joinTokens.create(t);
      expect(await b.joinTokens.consume(t.hash, 'worker-1', T0 + 1)).toMatchObject({ usedAt: T0 + 1, usedBy: 'worker-1' });
      expect((await caught(() => b.joinTokens.consume(t.hash, 'worker-2', T0 + 2))).code).toBe(ErrorCode.TokenUsed);
      expect((await b.joinTokens.list())[0]?.usedBy).toBe('worker-1');
      expect(await eventsOf(b, 'token.consumed')).toHaveLength(1);
    });

    it('refuses an unknown token', async () => {
      expect((await caught(() => backbone().joinTokens.consume(sha256('guess'), 'worker-1', T0))).code).toBe(ErrorCode.TokenInvalid);
    });

    it('refuses an expired token and leaves it unused', async () => {
      const b = backbone();
      const t = token('tok_1', { expiresAt: T0 + 1000 });
      await b.joinTokens.create(t);
      expect((await b.joinTokens.consume(t.hash, 'worker-1', T0 + 1000)).usedAt).toBe(T0 + 1000);
      const late = token('tok_2', { expiresAt: T0 + 1000 });
      await b.joinTokens.create(late);
      expect((await caught(() => b.joinTokens.consume(late.hash, 'worker-2', T0 + 1001))).code).toBe(ErrorCode.TokenExpired);
      expect((await b.joinTokens.list()).find((r) => r.id === 'tok_2')?.usedAt).toBeNull();
    });

    it('refuses a revoked token; revoking is recorded and idempotent', async () => {
      const b = backbone();
      const t = token('tok_1');
      await b.joinTokens.create(t);
      const revoked = await b.joinTokens.revoke('tok_1', T0 + 5);
      expect(revoked.revokedAt).toBe(T0 + 5);
      expect(await b.joinTokens.revoke('tok_1', T0 + 9)).toEqual(revoked);
      expect((await caught(() => b.joinTokens.consume(t.hash, 'worker-1', T0 + 6))).code).toBe(ErrorCode.TokenRevoked);
      expect(await eventsOf(b, 'token.revoked')).toHaveLength(1);
      expect(await caught(() => b.joinTokens.revoke('tok_unknown', T0))).toBeInstanceOf(NotFoundError);
    });

    it('records nothing for a refused consumption', async () => {
      const b = backbone();
      const before = await b.events.latestSeq();
      await caught(() => b.joinTokens.consume(sha256('guess'), 'worker-1', T0));
      expect(await b.events.latestSeq()).toBe(before);
    });
  });
}
