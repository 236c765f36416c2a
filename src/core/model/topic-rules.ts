/**
 * Topic rules — whether a topic may start and what a status change does, pure, so every
 * backbone adapter enforces the same "one topic in progress per project" and dependency
 * gate: it reads the topic and its project's topics, calls these, and stores the result.
 */
import { BitacoraError, ErrorCode, InvalidTransitionError } from '../errors.js';
import type { EventType } from './event.js';
import { type Topic, type TopicStatus, TOPIC_TRANSITIONS } from './topic.js';
import { assertTransition } from './transitions.js';

export interface TopicChange {
  next: Topic;
  event: { type: EventType; data: Record<string, unknown> };
}

/**
 * Why `topic` may not go in progress now, or null when it may: each dependency must be
 * completed, and no other topic of its project may be in progress. `projectTopics` are the
 * topics of `topic.project` as stored (the topic itself may be among them).
 */
export function refusalToStart(topic: Topic, projectTopics: readonly Topic[]): BitacoraError | null {
  const byId = new Map(projectTopics.map((t) => [t.id, t]));
  const waiting = topic.dependsOn.filter((depId) => byId.get(depId)?.status !== 'completed');
  if (waiting.length > 0) {
    const err = new InvalidTransitionError('topic', topic.status, 'in-progress', { details: { topicId: topic.id, waitingFor: waiting } });
    err.message += `: it depends on topic(s) not completed yet: ${waiting.join(', ')}`;
    return err;
  }
  const active = projectTopics.find((t) => t.id !== topic.id && t.project === topic.project && t.status === 'in-progress');
  if (active) {
    return new BitacoraError(
      ErrorCode.ActiveTopicExists,
      `project '${topic.project}' already has topic '${active.title}' (${active.id}) in progress; complete it or put it on hold first`,
      { details: { project: topic.project, activeTopicId: active.id, activeTopicTitle: active.title, topicId: topic.id } },
    );
  }
  return null;
}

/**
 * The topic after a status change at `now`, or null when it already has that status (a
 * no-op). Guarded by TOPIC_TRANSITIONS (InvalidTransitionError); entering 'in-progress' is
 * gated by `refusalToStart`, whose refusal is thrown.
 */
export function nextTopicStatus(topic: Topic, status: TopicStatus, projectTopics: readonly Topic[], now: number): TopicChange | null {
  if (topic.status === status) return null;
  assertTransition('topic', TOPIC_TRANSITIONS, topic.status, status);
  if (status === 'in-progress') {
    const refusal = refusalToStart(topic, projectTopics);
    if (refusal) throw refusal;
  }
  return {
    next: { ...topic, status, updatedAt: now },
    event: { type: status === 'in-progress' ? 'topic.activated' : 'topic.updated', data: { project: topic.project, from: topic.status, to: status } },
  };
}
