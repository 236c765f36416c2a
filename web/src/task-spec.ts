/** Retry = the same work submitted again as a new task (the old one keeps its history), labelled with what it retries. */
import type { NewTaskSpec, Task } from '../../src/core/index.js';

export function retrySpec(task: Task): NewTaskSpec {
  return {
    kind: task.kind, project: task.project, command: task.command, env: task.env, needs: task.needs, prefers: task.prefers,
    pinnedNode: task.pinnedNode, maxRetries: task.maxRetries, retryOnFailure: task.retryOnFailure, timeoutMs: task.timeoutMs,
    estimateKey: task.estimateKey, labels: { ...task.labels, 'retry-of': task.id },
  };
}

