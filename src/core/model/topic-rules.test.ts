import { describe, expect, it } from 'vitest';
import { ErrorCode, InvalidTransitionError } from '../errors.js';
import type { Topic } from './topic.js';
import { nextTopicStatus, refusalToStart } from './topic-rules.js';

const T0 = 1_700_000_000_000;

function topic(id: string, overrides: Partial<Topic> = {}): Topic {
  return {
    id, project: 'alpha', title: `topic ${id}`, description: '', status: 'planning', priority: 5, risk: 'low', estimatedHours: null,
    actualHours: null, dependsOn: [], createdAt: T0, updatedAt: T0, ...overrides,
  };
}

describe('refusalToStart', () => {
  it('lets a topic start when no other topic of its project is in progress', () => {
    const t = topic('top_1');
    expect(refusalToStart(t, [t, topic('top_2', { status: 'completed' }), topic('top_3', { status: 'on-hold' })])).toBeNull();
  });

  it('refuses while another topic of the project is in progress, naming it', () => {
    const t = topic('top_2');
    const active = topic('top_1', { status: 'in-progress', title: 'first' });
    const refusal = refusalToStart(t, [active, t]);
    expect(refusal?.code).toBe(ErrorCode.ActiveTopicExists);
    expect(refusal?.message).toContain('top_1');
    expect(refusal?.message).toContain("'first'");
    expect(refusal?.details).toMatchObject({ project: 'alpha', activeTopicId: 'top_1', activeTopicTitle: 'first', topicId: 'top_2' });
  });

  it('does not count the topic itself, nor topics of other projects', () => {
    const t = topic('top_1', { status: 'in-progress' });
    expect(refusalToStart(t, [t])).toBeNull();
    expect(refusalToStart(topic('top_2'), [topic('top_9', { project: 'beta', status: 'in-progress' })])).toBeNull();
  });

  it('refuses until every dependency is completed, naming those not done', () => {
    const done = topic('top_1', { status: 'completed' });
    const open = topic('top_2', { status: 'in-progress' });
    const t = topic('top_3', { dependsOn: ['top_1', 'top_2', 'top_gone'] });
    const refusal = refusalToStart(t, [done, open, t]);
    expect(refusal).toBeInstanceOf(InvalidTransitionError);
    expect(refusal?.message).toContain('top_2, top_gone');
    expect(refusal?.details).toMatchObject({ topicId: 'top_3', waitingFor: ['top_2', 'top_gone'] });
    expect(refusalToStart(topic('top_3', { dependsOn: ['top_1'] }), [done])).toBeNull();
  });
});

describe('nextTopicStatus', () => {
  it('is a no-op (null) for the status the topic already has', () => {
    const active = topic('top_1', { status: 'in-progress' });
    expect(nextTopicStatus(active, 'in-progress', [active, topic('top_2', { status: 'in-progress' })], T0 + 1)).toBeNull();
  });

  it('activates a topic, recording topic.activated', () => {
    const t = topic('top_1');
    expect(nextTopicStatus(t, 'in-progress', [t], T0 + 1)).toEqual({
      next: { ...t, status: 'in-progress', updatedAt: T0 + 1 },
      event: { type: 'topic.activated', data: { project: 'alpha', from: 'planning', to: 'in-progress' } },
    });
  });

  it('records other changes as topic.updated', () => {
    const change = nextTopicStatus(topic('top_1', { status: 'in-progress' }), 'completed', [], T0 + 2);
    expect(change?.next.status).toBe('completed');
    expect(change?.event).toEqual({ type: 'topic.updated', data: { project: 'alpha', from: 'in-progress', to: 'completed' } });
  });

  it('throws for a transition the table does not allow', () => {
    expect(() => nextTopicStatus(topic('top_1', { status: 'cancelled' }), 'in-progress', [], T0)).toThrow(InvalidTransitionError);
    expect(() => nextTopicStatus(topic('top_1'), 'completed', [], T0)).toThrow(InvalidTransitionError);
  });

  it('throws the refusal to start when another topic is in progress', () => {
    const t = topic('top_2', { status: 'on-hold' });
    let thrown: unknown;
    try {
      nextTopicStatus(t, 'in-progress', [topic('top_1', { status: 'in-progress' }), t], T0);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: ErrorCode.ActiveTopicExists });
  });
});
