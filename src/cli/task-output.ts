/** Shared by `run --wait` and `logs`: printing task output and turning a task's end into an exit code. */
import { formatDuration, type Task, type TaskLogChunk } from '../core/index.js';
import type { CliIo } from './context.js';

/**
 * stdout chunks go to stdout and stderr chunks to stderr, as if the command ran here; the
 * fleet's own notes ('system') go to stderr, marked. `toStderr` keeps stdout for JSON.
 */
export function chunkPrinter(io: CliIo, options: { toStderr?: boolean; ndjson?: boolean } = {}) {
  let lastAttempt: number | null = null;
  return (chunk: TaskLogChunk): void => {
    if (options.ndjson) {
      io.stdout.write(`${JSON.stringify(chunk)}\n`);
      return;
    }
    if (lastAttempt !== null && chunk.attempt !== lastAttempt) io.stderr.write(`[bitacora] --- attempt ${chunk.attempt} ---\n`);
    lastAttempt = chunk.attempt;
    if (chunk.stream === 'system') io.stderr.write(`[bitacora] ${chunk.data}${chunk.data.endsWith('\n') ? '' : '\n'}`);
    else if (chunk.stream === 'stderr' || options.toStderr) io.stderr.write(chunk.data);
    else io.stdout.write(chunk.data);
  };
}

/** The exit code a waiting CLI returns: the task's own, 1 when it ended without one. */
export function exitCodeOfTask(task: Task): number {
  if (task.state === 'succeeded') return 0;
  if (task.exitCode !== null && task.exitCode > 0) return Math.min(task.exitCode, 255);
  return 1;
}

/** `succeeded on worker-1 (attempt 1, exit 0, 1.2s)`. */
export function describeEnd(task: Task, nodeName: string | null): string {
  const where = nodeName ? ` on ${nodeName}` : '';
  const took = task.startedAt !== null && task.finishedAt !== null ? `, ${formatDuration(task.finishedAt - task.startedAt)}` : '';
  const exit = task.exitCode !== null ? `, exit ${task.exitCode}` : '';
  const why = task.error ? ` — ${task.error}` : '';
  return `${task.state}${where} (attempt ${task.attempt}${exit}${took})${why}`;
}
