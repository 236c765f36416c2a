/**
 * Ports of the engine: the I/O it needs, as interfaces. Implementations live at the edges
 * (the process runner in `agent/runner`, workspaces on disk) and are passed in by `bin/`.
 */
import type { LogStream } from '../core/index.js';

/** Abort reason for `RunRequest.signal`: no grace, SIGKILL now (a self-fence, not a cancel). */
export const KILL_AT_ONCE = 'bitacora:kill-at-once';

export interface RunRequest {
  /** argv; a shell line is ['sh', '-c', line]. */
  command: string[];
  /** Working directory (the project's workspace). Must exist. */
  cwd: string;
  /** Task variables, added to the allowlisted environment. */
  env: Record<string, string>;
  /** Sends SIGTERM to the whole process tree after this, then SIGKILL after `killGraceMs`. */
  timeoutMs: number | null;
  /** Default 2000 ms. */
  killGraceMs?: number;
  /** Bytes of output kept; the rest is counted, not kept. Default 1 MiB. */
  outputLimitBytes?: number;
  /**
   * Aborting kills the whole process tree (including setsid/double-forked descendants):
   * SIGTERM then SIGKILL after the grace, or SIGKILL at once when aborted with `KILL_AT_ONCE`.
   */
  signal?: AbortSignal;
  /** Called with each piece of output as it arrives (already within the limit). */
  onOutput?: (stream: LogStream, data: string) => void;
  /**
   * The owner's marker: the command and every descendant carry it in their environment,
   * whatever the task's own variables say, so that `CommandRunner.killOwned` can find them
   * after the owner crashed. Default: none.
   */
  owner?: OwnerMarker;
}

/**
 * An environment variable (`name=value`) that every command of one owner carries — e.g. one
 * value per logbook for the local engine. Commands run in their own process groups and
 * outlive a SIGKILLed owner; the marker is how its next incarnation finds them.
 */
export interface OwnerMarker {
  name: string;
  value: string;
}

export interface RunResult {
  /** null when killed by a signal or never started. */
  exitCode: number | null;
  /** Signal that ended the process, e.g. 'SIGKILL'. */
  signal: string | null;
  /** null on a normal exit; 'timeout' | 'cancelled' | 'spawn-failed: <reason>'. */
  error: string | null;
  durationMs: number;
  /** Kept output (stdout and stderr interleaved as received), up to the limit. */
  output: string;
  outputBytes: number;
  /** Bytes counted but not kept. */
  droppedBytes: number;
  startedAt: number;
  endedAt: number;
  /**
   * Pids of the command's processes still alive after the runner's cleanup. Absent or empty
   * normally; non-empty only for processes the kernel would not kill (e.g. stuck in I/O).
   */
  lingeringPids?: number[];
}

/**
 * Runs one command to completion. Never throws for a failing command: failures are in the
 * result. Guarantees that when `run` resolves, no process of the command remains.
 */
export interface CommandRunner {
  run(request: RunRequest): Promise<RunResult>;
  /**
   * Kills every process on the machine that carries `owner` (requests made with that `owner`)
   * and resolves with how many it found. For an owner's start, before it runs anything: the
   * processes found are what a crashed earlier incarnation left running. Never throws. A
   * process stuck in the kernel may outlive the call, but with SIGKILL pending it cannot run
   * another instruction of its own. Optional: runners without real processes omit it.
   */
  killOwned?(owner: OwnerMarker): Promise<number>;
}

/** Resolves a project's isolated workspace directory, creating it when missing. */
export interface WorkspaceProvider {
  ensure(project: string): Promise<string>;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
