/** Conformance of ActionRepository (guarded phases, one decision, in-doubt recovery) and SparkRepository. */
import { describe, expect, it } from 'vitest';
import { ConflictError, ErrorCode, InvalidTransitionError, NotFoundError, type ActionOutcome } from '../../core/index.js';
import { caught, eventsOf, T0, useBackbone, type OpenBackbone } from './harness.js';

const OUTCOME: ActionOutcome = { exitCode: 0, durationMs: 1500, error: null, summary: 'prepare ok, commit ok' };

export function describeActionRepository(open: OpenBackbone): void {
  describe('ActionRepository', () => {
    const backbone = useBackbone(open);

    it('logs an action with its defaults and records the event', async () => {
      const b = backbone();
      const action = await b.actions.create({ description: 'wrote the README', type: 'documentation', tags: ['docs'] }, T0);
      expect(action).toMatchObject({
        sessionId: null, topicId: null, project: null, type: 'documentation', description: 'wrote the README', tags: ['docs'], startedAt: T0,
        endedAt: null, command: null, participants: [], phase: 'logged', decision: null, outcome: null,
      });
      expect(action.id).toMatch(/^act_/);
      expect(await b.actions.get(action.id)).toEqual(action);
      expect((await eventsOf(b, 'action.logged')).map((e) => e.subject)).toEqual([action.id]);
      expect((await b.actions.create({ description: 'earlier', startedAt: T0 - 500 }, T0)).startedAt).toBe(T0 - 500);
    });

    it('links an action to an existing session and topic only', async () => {
      const b = backbone();
      expect(await caught(() => b.actions.create({ description: 'x', sessionId: 'ses_unknown' }, T0))).toBeInstanceOf(NotFoundError);
      expect(await caught(() => b.actions.create({ description: 'x', topicId: 'top_unknown' }, T0))).toBeInstanceOf(NotFoundError);
      expect((await caught(() => b.actions.create({ description: 'x', type: 'dance' as never }, T0))).code).toBe(ErrorCode.Validation);
      expect(await b.actions.list()).toEqual([]);
    });

    it('persists the phases of an atomic action along the two-phase path', async () => {
      const b = backbone();
      const action = await b.actions.create({ description: 'deploy', type: 'deploy', phase: 'validating', participants: ['nod_1', 'nod_2'] }, T0);
      for (const phase of ['preparing', 'prepared', 'committing', 'committed'] as const) expect((await b.actions.setPhase(action.id, phase, T0 + 1)).phase).toBe(phase);
      expect((await b.actions.get(action.id))?.phase).toBe('committed');
      expect((await eventsOf(b, 'action.phase')).map((e) => e.data['to'])).toEqual(['preparing', 'prepared', 'committing', 'committed']);
    });

    it('refuses a phase change the table does not allow', async () => {
      const b = backbone();
      const action = await b.actions.create({ description: 'deploy', phase: 'validating' }, T0);
      expect(await caught(() => b.actions.setPhase(action.id, 'committed', T0 + 1))).toBeInstanceOf(InvalidTransitionError);
      const logged = await b.actions.create({ description: 'hand-written' }, T0);
      expect(await caught(() => b.actions.setPhase(logged.id, 'preparing', T0 + 1))).toBeInstanceOf(InvalidTransitionError);
      expect(await caught(() => b.actions.setPhase('act_unknown', 'preparing', T0))).toBeInstanceOf(NotFoundError);
      expect((await b.actions.get(action.id))?.phase).toBe('validating');
    });

    it('persists the decision once', async () => {
      const b = backbone();
      const action = await b.actions.create({ description: 'deploy', phase: 'validating' }, T0);
      expect((await b.actions.decide(action.id, 'commit', T0 + 1)).decision).toBe('commit');
      expect((await b.actions.decide(action.id, 'commit', T0 + 2)).decision).toBe('commit');
      expect(await caught(() => b.actions.decide(action.id, 'abort', T0 + 3))).toBeInstanceOf(ConflictError);
      expect((await b.actions.get(action.id))?.decision).toBe('commit');
    });

    it('records the final outcome and end time once', async () => {
      const b = backbone();
      const action = await b.actions.create({ description: 'build', phase: 'validating', command: 'make' }, T0);
      await b.actions.setPhase(action.id, 'succeeded', T0 + 1);
      const finished = await b.actions.finish(action.id, OUTCOME, T0 + 2);
      expect(finished).toMatchObject({ outcome: OUTCOME, endedAt: T0 + 2, phase: 'succeeded' });
      expect(await b.actions.get(action.id)).toEqual(finished);
      expect(await caught(() => b.actions.finish(action.id, OUTCOME, T0 + 3))).toBeInstanceOf(ConflictError);
      expect((await caught(() => b.actions.finish(action.id, { ...OUTCOME, durationMs: -1 }, T0))).code).toBe(ErrorCode.Validation);
    });

    it('lists the actions left in doubt, oldest first', async () => {
      const b = backbone();
      const prepared = await b.actions.create({ description: 'a', phase: 'validating', startedAt: T0 + 2 }, T0);
      await b.actions.setPhase(prepared.id, 'preparing', T0);
      await b.actions.setPhase(prepared.id, 'prepared', T0);
      const committing = await b.actions.create({ description: 'b', phase: 'committing', startedAt: T0 + 1 }, T0);
      const done = await b.actions.create({ description: 'c', phase: 'validating' }, T0);
      await b.actions.setPhase(done.id, 'failed', T0);
      await b.actions.create({ description: 'hand-logged' }, T0);
      expect((await b.actions.inDoubt()).map((a) => a.id)).toEqual([committing.id, prepared.id]);
    });

    it('lists actions oldest first, by session, topic or project, limited to the most recent', async () => {
      const b = backbone();
      await b.projects.create({ name: 'alpha' }, T0);
      const session = await b.sessions.start({ user: 'ana', project: 'alpha' }, T0);
      const topic = await b.topics.create({ project: 'alpha', title: 't' }, T0);
      const a1 = await b.actions.create({ description: '1', sessionId: session.id, project: 'alpha' }, T0 + 1);
      const a2 = await b.actions.create({ description: '2', topicId: topic.id, project: 'alpha' }, T0 + 2);
      const a3 = await b.actions.create({ description: '3', sessionId: session.id, topicId: topic.id }, T0 + 3);
      expect((await b.actions.list()).map((a) => a.id)).toEqual([a1.id, a2.id, a3.id]);
      expect((await b.actions.list({ sessionId: session.id })).map((a) => a.id)).toEqual([a1.id, a3.id]);
      expect((await b.actions.list({ topicId: topic.id })).map((a) => a.id)).toEqual([a2.id, a3.id]);
      expect((await b.actions.list({ project: 'alpha' })).map((a) => a.id)).toEqual([a1.id, a2.id]);
      expect((await b.actions.list({ limit: 2 })).map((a) => a.id)).toEqual([a2.id, a3.id]);
    });
  });
}

export function describeSparkRepository(open: OpenBackbone): void {
  describe('SparkRepository', () => {
    const backbone = useBackbone(open);

    it('adds a spark with its defaults and records the event', async () => {
      const b = backbone();
      const spark = await b.sparks.add({ content: 'cache the build' }, T0);
      expect(spark).toMatchObject({
        type: 'note', content: 'cache the build', tags: [], sessionId: null, topicId: null, project: null, relatedActions: [], createdAt: T0,
        command: null, result: null,
      });
      expect(spark.id).toMatch(/^spk_/);
      expect(await b.sparks.get(spark.id)).toEqual(spark);
      expect((await eventsOf(b, 'spark.added')).map((e) => e.subject)).toEqual([spark.id]);
    });

    it('keeps the result of an executed spark', async () => {
      const b = backbone();
      const result = { exitCode: 2, durationMs: 30, error: null, outputTail: 'FAIL shard 3\n', outputBytes: 4096, node: 'nod_1' };
      const spark = await b.sparks.add({ type: 'bug', content: 'shard 3', command: 'npm test -- --shard 3/4', result }, T0);
      expect((await b.sparks.get(spark.id))?.result).toEqual(result);
    });

    it('refuses empty content and unknown links, storing nothing', async () => {
      const b = backbone();
      expect((await caught(() => b.sparks.add({ content: '' }, T0))).code).toBe(ErrorCode.Validation);
      expect(await caught(() => b.sparks.add({ content: 'x', sessionId: 'ses_unknown' }, T0))).toBeInstanceOf(NotFoundError);
      expect(await b.sparks.list()).toEqual([]);
    });

    it('lists sparks oldest first, by session, project and type, limited to the most recent', async () => {
      const b = backbone();
      const session = await b.sessions.start({ user: 'ana' }, T0);
      const s1 = await b.sparks.add({ content: '1', type: 'idea', sessionId: session.id }, T0 + 1);
      const s2 = await b.sparks.add({ content: '2', type: 'bug', project: 'alpha' }, T0 + 2);
      const s3 = await b.sparks.add({ content: '3', type: 'idea', project: 'alpha', sessionId: session.id }, T0 + 3);
      expect((await b.sparks.list()).map((s) => s.id)).toEqual([s1.id, s2.id, s3.id]);
      expect((await b.sparks.list({ sessionId: session.id })).map((s) => s.id)).toEqual([s1.id, s3.id]);
      expect((await b.sparks.list({ project: 'alpha', type: 'idea' })).map((s) => s.id)).toEqual([s3.id]);
      expect((await b.sparks.list({ limit: 1 })).map((s) => s.id)).toEqual([s3.id]);
    });
  });
}
