/**
 * ProcessRunner — the CommandRunner that runs commands as real child processes: own process
 * group, clean environment, timeout (SIGTERM, then SIGKILL after a grace period), bounded
 * output capture, cancellation, and a guarantee that nothing of the command outlives `run`.
 *
 * How "nothing outlives the run" is enforced:
 *  1. The child is spawned with `detached: true`, so it leads a new process group; timeouts
 *     and cancels signal the whole group (`kill(-pgid)`).
 *  2. A descendant can leave the group (double fork + `setsid`). Process groups, sessions
 *     and parent links cannot find it any more, but it still carries the environment it
 *     inherited. Every run therefore gets a unique marker `BITACORA_RUN_ID=<random>`; on
 *     timeout, cancel AND normal exit we scan `/proc/<pid>/environ` for it and SIGKILL every
 *     carrier, re-scanning until none remain (see ProcSweeper). We run as root, so every
 *     environ is readable.
 *  3. Fast path: after a normal exit the scan is ranged (only pids allocated since the spawn,
 *     a few files) — thousands of tiny tasks stay cheap. Long runs and pid-allocator wraps
 *     get a full scan.
 * Limits: a descendant that both leaves the group and execs with an emptied environment
 * (`setsid env -i …`) escapes the marker; without /proc (non-Linux) only the group is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { LogStream } from '../../core/index.js';
import { KILL_AT_ONCE, type CommandRunner, type OwnerMarker, type RunRequest, type RunResult } from '../../engine/ports.js';
import { ProcSweeper, type ScanScope } from './proc-sweep.js';

/** Name of the per-run marker variable. */
export const RUN_MARKER_VAR = 'BITACORA_RUN_ID';

/** Parent variables a command may see; everything else of the parent is withheld. */
export const DEFAULT_ENV_ALLOWLIST: readonly string[] = [
  'PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TERM', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR',
];

const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Name of the owner marker the agent gives its tasks (value: a hash of its data directory). */
export const OWNER_MARKER_VAR = 'BITACORA_AGENT_ID';
/** Name of the marker of one agent process (value: random per start): what its task reaper sweeps. */
export const INCARNATION_MARKER_VAR = 'BITACORA_AGENT_RUN';

/**
 * Kills every process on the machine carrying `marker`: the leftovers of a previous
 * incarnation of the same owner. Call before the owner starts any task. Returns how many
 * processes were found; stuck ones (in uninterruptible sleep) are not waited for long.
 */
export async function reapLeftovers(marker: { name: string; value: string }, procRoot = '/proc'): Promise<number> {
  if (!ProcSweeper.supported(procRoot)) return 0;
  const sweeper = new ProcSweeper(marker, procRoot);
  const found = sweeper.find({ fromPid: 1, full: true }).length;
  if (found > 0) await sweeper.killUntilGone({ fromPid: 1, full: true }, 5000);
  return found;
}

export interface ProcessRunnerOptions {
  /** Parent variables passed through. Default DEFAULT_ENV_ALLOWLIST. */
  envAllowlist?: readonly string[];
  /** Where allowlisted values come from. Default `process.env`. */
  parentEnv?: NodeJS.ProcessEnv;
  /** Default grace between SIGTERM and SIGKILL when the request has none. Default 2000 ms. */
  killGraceMs?: number;
  /** Default output limit when the request has none. Default 1 MiB. */
  outputLimitBytes?: number;
  /** Runs longer than this get a full /proc scan after exit instead of a ranged one. Default 1000 ms. */
  fullSweepAfterMs?: number;
  /** Max time spent killing leftovers before giving up on stuck processes. Default 5000 ms. */
  sweepBudgetMs?: number;
  /** Default '/proc'. */
  procRoot?: string;
  /**
   * A marker every task of this runner's owner carries (e.g. one per agent data directory),
   * so that a restarted agent can find and kill what its previous incarnation left running
   * (`reapLeftovers`): tasks run in their own process groups and outlive a SIGKILLed agent.
   */
  ownerMarker?: { name: string; value: string };
  /**
   * A marker of this one agent process. Its task reaper (bin/task-reaper) kills what carries
   * it when the agent dies and never comes back; the owner marker could also hit the tasks of
   * the next incarnation.
   */
  incarnationMarker?: { name: string; value: string };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ProcessRunner implements CommandRunner {
  private readonly allowlist: readonly string[];
  private readonly parentEnv: NodeJS.ProcessEnv;
  private readonly killGraceMs: number;
  private readonly outputLimitBytes: number;
  private readonly fullSweepAfterMs: number;
  private readonly sweepBudgetMs: number;
  private readonly procRoot: string;
  private readonly ownerMarker: { name: string; value: string } | null;
  private readonly incarnationMarker: { name: string; value: string } | null;

  constructor(options: ProcessRunnerOptions = {}) {
    this.allowlist = options.envAllowlist ?? DEFAULT_ENV_ALLOWLIST;
    this.parentEnv = options.parentEnv ?? process.env;
    this.killGraceMs = options.killGraceMs ?? 2000;
    this.outputLimitBytes = options.outputLimitBytes ?? 1024 * 1024;
    this.fullSweepAfterMs = options.fullSweepAfterMs ?? 1000;
    this.sweepBudgetMs = options.sweepBudgetMs ?? 5000;
    this.procRoot = options.procRoot ?? '/proc';
    this.ownerMarker = options.ownerMarker ?? null;
    this.incarnationMarker = options.incarnationMarker ?? null;
  }

  /**
   * The environment a command receives: allowlisted parent variables, the task's, the owner
   * markers (this runner's and the request's) and the run marker.
   */
  environmentFor(taskEnv: Record<string, string>, marker: string, requestOwner?: OwnerMarker): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of this.allowlist) {
      const value = this.parentEnv[name];
      if (value !== undefined) env[name] = value;
    }
    env.PATH ??= FALLBACK_PATH;
    Object.assign(env, taskEnv);
    // Last: a task cannot switch off the sweeps by overriding the markers.
    if (this.ownerMarker) env[this.ownerMarker.name] = this.ownerMarker.value;
    if (this.incarnationMarker) env[this.incarnationMarker.name] = this.incarnationMarker.value;
    if (requestOwner) env[requestOwner.name] = requestOwner.value;
    env[RUN_MARKER_VAR] = marker;
    return env;
  }

  /** Kills what carries `owner` anywhere on the machine (see CommandRunner.killOwned). */
  async killOwned(owner: OwnerMarker): Promise<number> {
    if (owner.name === RUN_MARKER_VAR || owner.name === '' || owner.value === '') return 0;
    try {
      return await reapLeftovers(owner, this.procRoot);
    } catch {
      return 0; // the sweep is best effort: /proc vanished or became unreadable
    }
  }

  async run(request: RunRequest): Promise<RunResult> {
    const startedAt = Date.now();
    const t0 = performance.now();
    const finish = (fields: Partial<RunResult>): RunResult => ({
      exitCode: null, signal: null, error: null, output: '', outputBytes: 0, droppedBytes: 0,
      ...fields,
      durationMs: Math.round(performance.now() - t0),
      startedAt,
      endedAt: Date.now(),
    });

    if (request.signal?.aborted) return finish({ error: 'cancelled' });
    const [file, ...args] = request.command;
    if (file === undefined || file === '') return finish({ error: 'spawn-failed: empty command' });

    const marker = randomBytes(12).toString('hex');
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        cwd: request.cwd,
        env: this.environmentFor(request.env, marker, request.owner),
        detached: true, // own process group: signals reach the whole tree
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      return finish({ error: `spawn-failed: ${(err as Error).message}` });
    }
    if (child.pid === undefined) {
      const err = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
      return finish({ error: `spawn-failed: ${describeSpawnError(err, file, request.cwd)}` });
    }
    const pid = child.pid;
    const sweeper = new ProcSweeper({ name: RUN_MARKER_VAR, value: marker }, this.procRoot);
    const scope = (full: boolean): ScanScope => ({
      fromPid: pid,
      full: full || performance.now() - t0 > this.fullSweepAfterMs,
    });

    const capture = new OutputCapture(request.outputLimitBytes ?? this.outputLimitBytes, request.onOutput);
    const streamsClosed = Promise.all([
      capture.attach(child.stdout!, 'stdout'),
      capture.attach(child.stderr!, 'stderr'),
    ]);
    const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.on('error', () => {
      // After a successful spawn, errors are failed kill() calls; the exit event still comes.
    });

    let stopReason: 'timeout' | 'cancelled' | null = null;
    let graceOver = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const grace = request.killGraceMs ?? this.killGraceMs;
    const hardKill = (): void => {
      graceOver = true;
      signalGroup(pid, 'SIGKILL');
      sweeper.signalAll('SIGKILL', scope(true));
    };
    const terminate = (reason: 'timeout' | 'cancelled'): void => {
      if (stopReason !== null) return;
      stopReason = reason;
      // Polite first: the group and every marked process outside it get SIGTERM.
      signalGroup(pid, 'SIGTERM');
      sweeper.signalAll('SIGTERM', scope(true));
      graceTimer = setTimeout(hardKill, grace);
    };
    const timeoutMs = request.timeoutMs;
    const timer = timeoutMs !== null && timeoutMs > 0 ? setTimeout(() => terminate('timeout'), timeoutMs) : undefined;
    const onAbort = (): void => {
      terminate('cancelled');
      if (request.signal?.reason === KILL_AT_ONCE) {
        clearTimeout(graceTimer);
        hardKill();
      }
    };
    request.signal?.addEventListener('abort', onAbort, { once: true });

    const exit = await exited;
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', onAbort);

    if (stopReason !== null) {
      // Leftovers that trap SIGTERM still get their grace period, unless they finish sooner.
      while (!graceOver && sweeper.find(scope(true)).length > 0) await sleep(20);
      clearTimeout(graceTimer);
    }
    // Whatever is left — background jobs of a finished command, setsid'd daemons — dies now.
    signalGroup(pid, 'SIGKILL');
    const lingering = await sweeper.killUntilGone(scope(stopReason !== null), this.sweepBudgetMs);

    // Pipes close once every holder is dead; a holder that escaped the marker must not hang us.
    const closed = await Promise.race([streamsClosed.then(() => true), sleep(500).then(() => false)]);
    if (!closed) {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }
    const error = stopReason ?? (exit.signal !== null ? `signal ${exit.signal}` : null);
    return finish({
      exitCode: exit.code,
      signal: exit.signal,
      error,
      output: capture.text(),
      outputBytes: capture.totalBytes,
      droppedBytes: capture.droppedBytes,
      ...(lingering.length > 0 ? { lingeringPids: lingering } : {}),
    });
  }
}

/** Keeps output up to the byte limit, interleaved as received; counts the rest. */
class OutputCapture {
  totalBytes = 0;
  droppedBytes = 0;
  private keptBytes = 0;
  private readonly kept: Buffer[] = [];

  constructor(
    private readonly limit: number,
    private readonly onOutput: ((stream: LogStream, data: string) => void) | undefined,
  ) {}

  attach(stream: NodeJS.ReadableStream, name: LogStream): Promise<void> {
    const decoder = new StringDecoder('utf8');
    return new Promise((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        this.totalBytes += chunk.length;
        const room = Math.max(0, this.limit - this.keptBytes);
        const keep = chunk.length <= room ? chunk : chunk.subarray(0, room);
        this.droppedBytes += chunk.length - keep.length;
        if (keep.length === 0) return;
        this.kept.push(keep);
        this.keptBytes += keep.length;
        this.emit(name, decoder.write(keep));
      });
      const done = (): void => {
        this.emit(name, decoder.end());
        resolve();
      };
      stream.once('close', done);
      stream.once('error', done);
    });
  }

  text(): string {
    return Buffer.concat(this.kept).toString('utf8');
  }

  private emit(stream: LogStream, data: string): void {
    if (data === '' || !this.onOutput) return;
    try {
      this.onOutput(stream, data);
    } catch {
      // A failing observer must not break the run.
    }
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already empty.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Node reports a missing cwd as ENOENT of the command; tell the two apart for the user. */
function describeSpawnError(err: NodeJS.ErrnoException, file: string, cwd: string): string {
  if (err.code === 'ENOENT') {
    let cwdIsDir = false;
    try {
      cwdIsDir = statSync(cwd).isDirectory();
    } catch {
      cwdIsDir = false;
    }
    return cwdIsDir ? `command not found: ${file}` : `working directory does not exist: ${cwd}`;
  }
  if (err.code === 'EACCES') return `permission denied: ${file}`;
  return `${err.code ?? 'error'}: ${err.message}`;
}
