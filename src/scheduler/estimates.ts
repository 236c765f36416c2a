/**
 * Learned task durations: a pure EWMA per (node, estimate key), and the key a task is
 * grouped under. The coordinator records with `updateEstimate(…, estimateKeyOf(task))`;
 * the scheduler reads the same keys, so both sides must use `estimateKeyOf`.
 */
import { ValidationError, type Task } from '../core/index.js';
import type { DurationEstimate } from './types.js';

/** Weight of the newest observation once warmed up. Default 0.3: adapts within ~5 runs. */
export const DEFAULT_EWMA_ALPHA = 0.3;

/**
 * Folds one observed duration into an estimate. While `samples` is small the weight is
 * 1/(samples+1) (a plain mean), so the first runs are not dominated by the first sample;
 * afterwards it is `alpha`, so the estimate follows a node that got faster or slower.
 * Throws ValidationError for a negative or non-finite observation or an alpha outside (0, 1].
 */
export function updateEstimate(
  prev: DurationEstimate | undefined,
  observedMs: number,
  alpha: number = DEFAULT_EWMA_ALPHA,
): DurationEstimate {
  if (!Number.isFinite(observedMs) || observedMs < 0) {
    throw new ValidationError(`observed duration must be a finite number ≥ 0, got ${observedMs}`, [
      { path: 'observedMs', message: 'must be a finite number ≥ 0' },
    ]);
  }
  if (!(alpha > 0 && alpha <= 1)) {
    throw new ValidationError(`EWMA alpha must be in (0, 1], got ${alpha}`, [{ path: 'alpha', message: 'must be in (0, 1]' }]);
  }
  if (prev === undefined || prev.samples <= 0 || !Number.isFinite(prev.meanMs)) {
    return { meanMs: observedMs, samples: 1 };
  }
  const weight = Math.max(alpha, 1 / (prev.samples + 1));
  return { meanMs: prev.meanMs + weight * (observedMs - prev.meanMs), samples: prev.samples + 1 };
}

/**
 * The grouping key of a task's duration estimates: its explicit `estimateKey`, else the
 * program's base name plus its first non-option argument (`/usr/bin/make test` →
 * `make test`, `sh -c "npm run build -- -x"` → `npm run`), prefixed by the kind so a spark
 * and an action never share. Two words tell `npm test` from `npm install` without
 * splitting `pytest -k a` from `pytest -k b` into keys that never gather samples.
 */
export function estimateKeyOf(task: Pick<Task, 'estimateKey' | 'command' | 'kind'>): string {
  if (task.estimateKey !== null && task.estimateKey !== '') return task.estimateKey;
  let words = task.command;
  const program = baseName(words[0] ?? '');
  if ((program === 'sh' || program === 'bash') && words[1] === '-c' && words[2] !== undefined) {
    words = words[2].trim().split(/\s+/);
  }
  const first = baseName(words[0] ?? '');
  const second = words[1];
  const key = second !== undefined && !second.startsWith('-') ? `${first} ${second}` : first;
  return `${task.kind}:${key}`;
}

function baseName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash >= 0 ? path.slice(slash + 1) : path;
}
