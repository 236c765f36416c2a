/**
 * The task's next state after something happened to its current attempt — pure, so every
 * backbone adapter stores the same decision instead of re-implementing it. Each rule returns
 * the task as it must be stored and the event that records why.
 */
import type { EventType } from './event.js';
import type { Task, TaskResult } from './task.js';

export interface TaskChange {
  next: Task;
  event: { type: EventType; data: Record<string, unknown> };
}

/** pending → assigned to `nodeId`; the attempt (fencing token) goes up by one. */
export function nextAfterAssign(task: Task, nodeId: string, now: number): TaskChange {
  const next: Task = { ...task, state: 'assigned', attempt: task.attempt + 1, nodeId, assignedAt: now, startedAt: null, finishedAt: null };
  return { next, event: { type: 'task.assigned', data: { nodeId, attempt: next.attempt } } };
}

/** assigned → running; null when it already runs (the report is idempotent). */
export function nextAfterStart(task: Task, now: number): TaskChange | null {
  if (task.state === 'running') return null;
  return { next: { ...task, state: 'running', startedAt: now }, event: { type: 'task.running', data: { nodeId: task.nodeId, attempt: task.attempt } } };
}

/**
 * The attempt ended. Exit 0 without error: succeeded. Otherwise a failure of the work,
 * retried (back to pending) while `userFailures < retryOnFailure`, else failed.
 */
export function nextAfterResult(task: Task, result: TaskResult, now: number): TaskChange {
  const outcome = { attempt: task.attempt, nodeId: task.nodeId, exitCode: result.exitCode, error: result.error, durationMs: result.durationMs };
  if (result.exitCode === 0 && result.error === null) {
    return {
      next: { ...task, state: 'succeeded', exitCode: 0, error: null, finishedAt: now },
      event: { type: 'task.finished', data: { state: 'succeeded', ...outcome } },
    };
  }
  const userFailures = task.userFailures + 1;
  if (task.userFailures < task.retryOnFailure) {
    return {
      next: { ...task, state: 'pending', userFailures, exitCode: result.exitCode, error: result.error, nodeId: null, assignedAt: null, startedAt: null },
      event: { type: 'task.requeued', data: { reason: 'user failure', userFailures, ...outcome } },
    };
  }
  return {
    next: { ...task, state: 'failed', userFailures, exitCode: result.exitCode, error: result.error, finishedAt: now },
    event: { type: 'task.finished', data: { state: 'failed', userFailures, ...outcome } },
  };
}

/**
 * An infrastructure failure of the attempt (node lost, agent refused the work): back to
 * pending while `infraFailures < maxRetries`, else failed with `reason`.
 */
export function nextAfterInfraFailure(task: Task, reason: string, now: number): TaskChange {
  const infraFailures = task.infraFailures + 1;
  const base = { reason, attempt: task.attempt, nodeId: task.nodeId, infraFailures };
  if (task.infraFailures < task.maxRetries) {
    return {
      next: { ...task, state: 'pending', infraFailures, error: reason, nodeId: null, assignedAt: null, startedAt: null },
      event: { type: 'task.requeued', data: base },
    };
  }
  return {
    next: { ...task, state: 'failed', infraFailures, error: reason, finishedAt: now },
    event: { type: 'task.finished', data: { state: 'failed', ...base } },
  };
}

/** Cancelled from any non-terminal state; null for a terminal task (returned unchanged). */
export function nextAfterCancel(task: Task, reason: string, now: number): TaskChange | null {
  if (task.state === 'succeeded' || task.state === 'failed' || task.state === 'cancelled') return null;
  return {
    next: { ...task, state: 'cancelled', error: reason, finishedAt: now },
    event: { type: 'task.cancelled', data: { reason, from: task.state, attempt: task.attempt, nodeId: task.nodeId } },
  };
}
