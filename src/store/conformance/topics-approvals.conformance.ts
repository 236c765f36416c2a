/** Conformance of TopicRepository (one in progress per project, dependencies, transitions) and ApprovalRepository (once, expiry). */
import { describe, expect, it } from 'vitest';
import { ErrorCode, InvalidTransitionError, NotFoundError } from '../../core/index.js';
import type { Backbone } from '../backbone.js';
import { caught, eventsOf, T0, useBackbone, type OpenBackbone } from './harness.js';

async function withProject(b: Backbone, name = 'alpha'): Promise<string> {
  await b.projects.create({ name }, T0);
  return name;
}

export function describeTopicRepository(open: OpenBackbone): void {
  describe('TopicRepository', () => {
    const backbone = useBackbone(open);

    it('creates a topic in planning with its defaults and records the event', async () => {
      const b = backbone();
      const topic = await b.topics.create({ project: await withProject(b), title: 'Design the API' }, T0);
      expect(topic).toMatchObject({
        project: 'alpha', title: 'Design the API', description: '', status: 'planning', priority: 5, risk: 'low', estimatedHours: null,
        actualHours: null, dependsOn: [], createdAt: T0, updatedAt: T0,
      });
      expect(topic.id).toMatch(/^top_/);
      expect(await b.topics.get(topic.id)).toEqual(topic);
      expect((await eventsOf(b, 'topic.created')).map((e) => e.subject)).toEqual([topic.id]);
    });

    it('refuses a topic of an unknown project or depending on unknown or foreign topics', async () => {
      const b = backbone();
      expect(await caught(() => b.topics.create({ project: 'ghost', title: 't' }, T0))).toBeInstanceOf(NotFoundError);
      await withProject(b, 'alpha');
      await withProject(b, 'beta');
      const foreign = await b.topics.create({ project: 'beta', title: 'other' }, T0);
      expect(await caught(() => b.topics.create({ project: 'alpha', title: 't', dependsOn: ['top_unknown'] }, T0))).toBeInstanceOf(NotFoundError);
      expect((await caught(() => b.topics.create({ project: 'alpha', title: 't', dependsOn: [foreign.id] }, T0))).code).toBe(ErrorCode.Validation);
      expect((await caught(() => b.topics.create({ project: 'alpha', title: '' }, T0))).code).toBe(ErrorCode.Validation);
      expect(await b.topics.list({ project: 'alpha' })).toEqual([]);
    });

    it('activates a topic and records it', async () => {
      const b = backbone();
      const topic = await b.topics.create({ project: await withProject(b), title: 'first' }, T0);
      expect(await b.topics.activate(topic.id, T0 + 1)).toMatchObject({ status: 'in-progress', updatedAt: T0 + 1 });
      expect((await eventsOf(b, 'topic.activated')).map((e) => e.subject)).toEqual([topic.id]);
      expect((await b.topics.activate(topic.id, T0 + 2)).status).toBe('in-progress');
    });

    it('keeps at most one topic in progress per project, naming the active one', async () => {
      const b = backbone();
      const project = await withProject(b);
      const first = await b.topics.create({ project, title: 'first' }, T0);
      const second = await b.topics.create({ project, title: 'second' }, T0);
      await b.topics.activate(first.id, T0 + 1);
      const err = await caught(() => b.topics.activate(second.id, T0 + 2));
      expect(err.code).toBe(ErrorCode.ActiveTopicExists);
      expect(err.message).toContain(first.id);
      expect(err.details).toMatchObject({ activeTopicId: first.id });
      expect((await b.topics.get(second.id))?.status).toBe('planning');
      expect((await caught(() => b.topics.setStatus(second.id, 'in-progress', T0 + 2))).code).toBe(ErrorCode.ActiveTopicExists);
      await b.topics.setStatus(first.id, 'completed', T0 + 3);
      expect((await b.topics.activate(second.id, T0 + 4)).status).toBe('in-progress');
    });

    it('lets topics of different projects be in progress at once', async () => {
      const b = backbone();
      const a = await b.topics.create({ project: await withProject(b, 'alpha'), title: 'a' }, T0);
      const c = await b.topics.create({ project: await withProject(b, 'beta'), title: 'b' }, T0);
      await b.topics.activate(a.id, T0);
      expect((await b.topics.activate(c.id, T0)).status).toBe('in-progress');
      expect(await b.topics.list({ status: 'in-progress' })).toHaveLength(2);
    });

    it('activates a topic only when its dependencies are completed', async () => {
      const b = backbone();
      const project = await withProject(b);
      const dep = await b.topics.create({ project, title: 'foundation' }, T0);
      const topic = await b.topics.create({ project, title: 'walls', dependsOn: [dep.id] }, T0);
      const err = await caught(() => b.topics.activate(topic.id, T0 + 1));
      expect(err).toBeInstanceOf(InvalidTransitionError);
      expect(err.message).toContain(dep.id);
      await b.topics.activate(dep.id, T0 + 2);
      await b.topics.setStatus(dep.id, 'completed', T0 + 3);
      expect((await b.topics.activate(topic.id, T0 + 4)).status).toBe('in-progress');
    });

    it('changes status along the allowed transitions only', async () => {
      const b = backbone();
      const topic = await b.topics.create({ project: await withProject(b), title: 't' }, T0);
      expect((await b.topics.setStatus(topic.id, 'on-hold', T0 + 1)).status).toBe('on-hold');
      expect((await b.topics.setStatus(topic.id, 'cancelled', T0 + 2)).status).toBe('cancelled');
      expect(await caught(() => b.topics.setStatus(topic.id, 'in-progress', T0 + 3))).toBeInstanceOf(InvalidTransitionError);
      expect(await caught(() => b.topics.setStatus(topic.id, 'completed', T0 + 3))).toBeInstanceOf(InvalidTransitionError);
      expect(await caught(() => b.topics.activate('top_unknown', T0))).toBeInstanceOf(NotFoundError);
      expect(await eventsOf(b, 'topic.updated')).toHaveLength(2);
    });

    it('updates the descriptive fields', async () => {
      const b = backbone();
      const topic = await b.topics.create({ project: await withProject(b), title: 't' }, T0);
      const updated = await b.topics.update(topic.id, { risk: 'high', priority: 9, estimatedHours: 2, actualHours: 3.5, description: 'risky' }, T0 + 1);
      expect(updated).toMatchObject({ risk: 'high', priority: 9, estimatedHours: 2, actualHours: 3.5, description: 'risky', updatedAt: T0 + 1 });
      expect(await b.topics.get(topic.id)).toEqual(updated);
      expect((await caught(() => b.topics.update(topic.id, { priority: 11 }, T0))).code).toBe(ErrorCode.Validation);
    });

    it('lists topics oldest first, by project and status', async () => {
      const b = backbone();
      const a1 = await b.topics.create({ project: await withProject(b, 'alpha'), title: 'a1' }, T0);
      const b1 = await b.topics.create({ project: await withProject(b, 'beta'), title: 'b1' }, T0 + 1);
      const a2 = await b.topics.create({ project: 'alpha', title: 'a2' }, T0 + 2);
      await b.topics.activate(a2.id, T0 + 3);
      expect((await b.topics.list()).map((t) => t.id)).toEqual([a1.id, b1.id, a2.id]);
      expect((await b.topics.list({ project: 'alpha' })).map((t) => t.id)).toEqual([a1.id, a2.id]);
      expect((await b.topics.list({ project: 'alpha', status: 'planning' })).map((t) => t.id)).toEqual([a1.id]);
    });
  });
}

export function describeApprovalRepository(open: OpenBackbone): void {
  describe('ApprovalRepository', () => {
    const backbone = useBackbone(open);
    const request = async (b: Backbone, expiresAt = T0 + 60_000) => {
      const topic = await b.topics.create({ project: await withProject(b), title: 'deploy', risk: 'high' }, T0);
      return b.approvals.request({ topicId: topic.id, project: 'alpha', reason: 'high risk', expiresAt }, T0);
    };

    it('requests a pending approval and records it', async () => {
      const b = backbone();
      const approval = await request(b);
      expect(approval).toMatchObject({ project: 'alpha', reason: 'high risk', state: 'pending', requestedAt: T0, expiresAt: T0 + 60_000, decidedAt: null, decidedBy: null, note: null });
      expect(await b.approvals.get(approval.id)).toEqual(approval);
      expect((await eventsOf(b, 'approval.requested')).map((e) => e.subject)).toEqual([approval.id]);
      expect(await caught(() => b.approvals.request({ topicId: 'top_unknown', project: 'alpha', reason: 'x', expiresAt: T0 }, T0))).toBeInstanceOf(NotFoundError);
    });

    it('records one decision with who and why', async () => {
      const b = backbone();
      const approval = await request(b);
      const decided = await b.approvals.decide(approval.id, 'approved', 'ana', 'looks fine', T0 + 10);
      expect(decided).toMatchObject({ state: 'approved', decidedAt: T0 + 10, decidedBy: 'ana', note: 'looks fine' });
      expect(await b.approvals.get(approval.id)).toEqual(decided);
      expect((await eventsOf(b, 'approval.decided'))[0]?.data).toMatchObject({ state: 'approved', by: 'ana' });
      expect(await caught(() => b.approvals.decide(approval.id, 'rejected', 'bob', null, T0 + 11))).toBeInstanceOf(InvalidTransitionError);
      expect((await b.approvals.get(approval.id))?.state).toBe('approved');
    });

    it('records a rejection', async () => {
      const b = backbone();
      const approval = await request(b);
      expect((await b.approvals.decide(approval.id, 'rejected', 'ana', null, T0 + 1)).state).toBe('rejected');
    });

    it('records expired, and refuses, a decision that comes too late', async () => {
      const b = backbone();
      const approval = await request(b, T0 + 100);
      const err = await caught(() => b.approvals.decide(approval.id, 'approved', 'ana', null, T0 + 101));
      expect(err.code).toBe(ErrorCode.ApprovalExpired);
      expect((await b.approvals.get(approval.id))?.state).toBe('expired');
      expect((await eventsOf(b, 'approval.decided'))[0]?.data).toMatchObject({ state: 'expired' });
      expect(await caught(() => b.approvals.decide(approval.id, 'approved', 'ana', null, T0 + 102))).toBeInstanceOf(InvalidTransitionError);
      expect(await caught(() => b.approvals.decide('apv_unknown', 'approved', 'ana', null, T0))).toBeInstanceOf(NotFoundError);
    });

    it('expires the pending approvals past their expiry, and only those', async () => {
      const b = backbone();
      const early = await request(b, T0 + 100);
      const topic = (await b.topics.list())[0]!;
      const late = await b.approvals.request({ topicId: topic.id, project: 'alpha', reason: 'again', expiresAt: T0 + 1000 }, T0);
      const decided = await b.approvals.request({ topicId: topic.id, project: 'alpha', reason: 'done', expiresAt: T0 + 50 }, T0);
      await b.approvals.decide(decided.id, 'approved', 'ana', null, T0 + 10);
      expect((await b.approvals.expire(T0 + 500)).map((a) => [a.id, a.state])).toEqual([[early.id, 'expired']]);
      expect((await b.approvals.get(late.id))?.state).toBe('pending');
      expect(await b.approvals.expire(T0 + 500)).toEqual([]);
      expect((await b.approvals.list({ state: 'pending' })).map((a) => a.id)).toEqual([late.id]);
      expect(await b.approvals.list({ project: 'alpha' })).toHaveLength(3);
      expect(await b.approvals.list({ project: 'beta' })).toEqual([]);
    });
  });
}
