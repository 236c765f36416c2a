/**
 * Executor: runs the coordinator's assignments (ExecuteTaskCommand) through the CommandRunner in the
 * project's workspace, at most `capacity` at a time (surplus → rejected), and reports
 * through the Outbox. Cancel, void and self-fence abort the run (the runner kills the whole
 * process tree); a voided attempt's output and result are dropped, never reported.
 *
 * Confinement: what the node does not serve (ServePolicy) is rejected before anything exists;
 * a task starts only in its project's workspace — a name the provider accepts (no path, no
 * '..') resolving to a real directory, not a symlink a task could have planted there — with
 * the runner's allowlisted environment. The command itself then runs as the agent's user:
 * this is a working-directory and environment boundary, not a sandbox.
 */
import { lstat } from 'node:fs/promises';
import { BitacoraError, ErrorCode, type TaskResult } from '../core/index.js';
import { KILL_AT_ONCE, type Clock, type CommandRunner, type WorkspaceProvider } from '../engine/ports.js';
import type { ExecuteTaskCommand, TaskRef } from '../rpc/messages.js';
import type { Outbox } from './outbox.js';
import { decideServe, refusalReason, SERVE_EVERYTHING, type ServePolicy } from './serve-policy.js';

/** Workspace of tasks without a project. */
export const DEFAULT_WORKSPACE = 'default';

interface Run {
  ref: TaskRef;
  abort: AbortController;
  /** Voided or self-fenced: drop whatever it produces. */
  dropped: boolean;
  done: Promise<void>;
}

export interface ExecutorOptions {
  runner: CommandRunner;
  workspaces: WorkspaceProvider;
  outbox: Outbox;
  clock: Clock;
  capacity: number;
  /** What this node serves; anything else is rejected with a BIT_ERR_FORBIDDEN reason. Default: everything. */
  serve?: ServePolicy;
  /** Sends a rejection (not buffered: an unreported task is requeued by SyncState anyway). */
  reject(ref: TaskRef, reason: string): void;
  onError(message: string): void;
}

export class Executor {
  private readonly runs = new Map<string, Run>();
  private accepting = true;

  constructor(private readonly options: ExecutorOptions) {}

  get capacity(): number {
    return this.options.capacity;
  }

  get count(): number {
    return this.runs.size;
  }

  /** Attempts in progress (not dropped), for heartbeats and hello. */
  refs(): TaskRef[] {
    const out: TaskRef[] = [];
    for (const run of this.runs.values()) if (!run.dropped) out.push(run.ref);
    return out;
  }

  execute(task: ExecuteTaskCommand): void {
    const ref = { taskId: task.taskId, attempt: task.attempt };
    const existing = this.runs.get(task.taskId);
    if (existing && existing.ref.attempt === task.attempt) return; // duplicate delivery
    if (existing) this.drop([existing.ref]); // an older attempt is void by definition
    if (!this.accepting) return this.options.reject(ref, 'agent is shutting down');
    // Decided here, on the node: the master's word is not enough (a buggy or compromised master).
    const decision = decideServe(this.options.serve ?? SERVE_EVERYTHING, { project: task.project, needs: task.needs });
    if (!decision.serve) return this.options.reject(ref, refusalReason(decision));
    if (this.runs.size >= this.options.capacity) return this.options.reject(ref, `at capacity (${this.options.capacity} running)`);
    const run: Run = { ref, abort: new AbortController(), dropped: false, done: Promise.resolve() };
    this.runs.set(task.taskId, run);
    run.done = this.run(run, task).catch((err) => this.options.onError(`task ${task.taskId}: ${(err as Error).message}`));
  }

  /** Kills the attempt; its result (error 'cancelled') is still reported. */
  cancel(ref: TaskRef): void {
    const run = this.runs.get(ref.taskId);
    if (run && run.ref.attempt === ref.attempt) run.abort.abort();
  }

  /** Kills the attempts and drops their output and result. `atOnce`: SIGKILL without a grace. */
  drop(refs: readonly TaskRef[], options: { atOnce?: boolean } = {}): void {
    for (const ref of refs) {
      const run = this.runs.get(ref.taskId);
      if (!run || run.ref.attempt !== ref.attempt) continue;
      run.dropped = true;
      run.abort.abort(options.atOnce ? KILL_AT_ONCE : undefined);
    }
    this.options.outbox.discard(refs);
  }

  /** Stops everything and waits until no process is left. `drop`: also forget the results. */
  async stopAll(options: { drop: boolean; atOnce?: boolean }): Promise<void> {
    const runs = [...this.runs.values()];
    if (options.drop) this.drop(runs.map((r) => r.ref), { atOnce: options.atOnce ?? false });
    else for (const run of runs) run.abort.abort();
    await Promise.all(runs.map((r) => r.done));
  }

  /** No new work from now on (shutdown). */
  refuseNew(): void {
    this.accepting = false;
  }

  private async run(run: Run, task: ExecuteTaskCommand): Promise<void> {
    const { outbox, clock } = this.options;
    outbox.begin(run.ref, clock.now());
    let result: TaskResult;
    try {
      const cwd = await this.options.workspaces.ensure(task.project ?? DEFAULT_WORKSPACE);
      await requireRealDirectory(cwd);
      const res = await this.options.runner.run({
        command: task.command,
        cwd,
        env: task.env,
        timeoutMs: task.timeoutMs,
        signal: run.abort.signal,
        onOutput: (stream, data) => {
          if (!run.dropped) outbox.output(run.ref, stream, data);
        },
      });
      result = {
        exitCode: res.exitCode,
        error: res.error ?? (res.signal ? `signal ${res.signal}` : null),
        durationMs: Math.max(0, Math.round(res.durationMs)),
      };
    } catch (err) {
      // The runner never throws for a failing command; this is the workspace or a bug.
      result = { exitCode: null, error: `spawn-failed: ${(err as Error).message}`.slice(0, 4000), durationMs: 0 };
    } finally {
      if (this.runs.get(run.ref.taskId) === run) this.runs.delete(run.ref.taskId);
    }
    if (!run.dropped) outbox.finish(run.ref, result);
  }
}


/**
 * The workspace must be a directory of its own, not a symlink: tasks of one project can write
 * next to their workspace (`ln -s / ../other`), and a planted link would start the other
 * project's tasks anywhere. (A link swapped in between this check and the spawn is not caught;
 * Node cannot spawn into an already opened directory.)
 */
async function requireRealDirectory(dir: string): Promise<void> {
  const stat = await lstat(dir);
  if (stat.isSymbolicLink() || !stat.isDirectory()) {
    throw new BitacoraError(ErrorCode.UnsafeName, `workspace ${dir} is ${stat.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}: refusing to run there`, { details: { dir } });
  }
}
