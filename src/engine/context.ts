/**
 * What every level of the engine shares: the ports, the logbook repositories, settings,
 * the progress emitter — and the one helper that turns a shell line into a RunRequest.
 */
import type { ActionType } from '../core/index.js';
import type { Backbone, EventLog } from '../store/backbone.js';
import type { Clock, CommandRunner, OwnerMarker, RunResult } from './ports.js';
import { LineSplitter, type ProgressInput } from './progress.js';

/** The logbook repositories the engine writes through (a Backbone satisfies it). */
export type EngineLogbook = Pick<Backbone, 'sessions' | 'projects' | 'topics' | 'approvals' | 'actions' | 'sparks'> & {
  /** Optional: lets approval waits wake up on 'approval.decided' instead of the next poll. */
  events?: Pick<EventLog, 'watch' | 'latestSeq'>;
};

export interface EngineSettings {
  /** Timeout of a command whose step declares none; null = none. */
  defaultTimeoutMs: number | null;
  /** SIGTERM→SIGKILL grace, passed to the runner; undefined = the runner's default. */
  killGraceMs: number | undefined;
  /** Output kept per command; undefined = the runner's default. */
  outputLimitBytes: number | undefined;
  /** Capabilities of this node; null = do not check `needs`. */
  capabilities: readonly string[] | null;
  /** Characters of output kept in a spark's `outputTail`. */
  outputTailChars: number;
  /** Marker every command carries (see RunRequest.owner); undefined = none. */
  owner?: OwnerMarker;
}

export interface EngineDeps {
  runner: CommandRunner;
  clock: Clock;
  logbook: EngineLogbook;
  settings: EngineSettings;
  emit: (event: ProgressInput) => void;
}

/** Where a step runs and what it is linked to in the logbook. */
export interface StepContext {
  sessionId: string | null;
  project: string;
  /** Pipeline topic id (slug) and its logbook id. */
  topic: { slug: string; id: string };
  step: string;
  cwd: string;
  /** Project env merged with the step's env and the engine's BITACORA_* variables. */
  env: Record<string, string>;
  signal: AbortSignal;
}

export interface ShellOptions {
  timeoutMs: number | null;
  /** Set for a spark inside a group, so output lines say which spark printed them. */
  spark?: string;
  /** Commit and rollback must finish once started: they ignore the cancel signal. */
  cancellable?: boolean;
}

/** Runs one shell line in the step's workspace and environment, streaming its output lines. */
export async function runShell(deps: EngineDeps, ctx: StepContext, line: string, options: ShellOptions): Promise<RunResult> {
  const splitter = new LineSplitter((stream, text) =>
    deps.emit({ type: 'output', project: ctx.project, topic: ctx.topic.slug, step: ctx.step, spark: options.spark ?? null, stream, line: text }),
  );
  const result = await deps.runner.run({
    command: ['sh', '-c', line],
    cwd: ctx.cwd,
    env: options.spark === undefined ? ctx.env : { ...ctx.env, BITACORA_SPARK: options.spark },
    timeoutMs: options.timeoutMs ?? deps.settings.defaultTimeoutMs,
    ...(deps.settings.killGraceMs !== undefined ? { killGraceMs: deps.settings.killGraceMs } : {}),
    ...(deps.settings.outputLimitBytes !== undefined ? { outputLimitBytes: deps.settings.outputLimitBytes } : {}),
    ...(options.cancellable === false ? {} : { signal: ctx.signal }),
    onOutput: (stream, data) => splitter.push(stream, data),
    ...(deps.settings.owner !== undefined ? { owner: deps.settings.owner } : {}),
  });
  splitter.flush();
  return result;
}

export function succeeded(result: RunResult): boolean {
  return result.error === null && result.exitCode === 0;
}

/** "exit 3", "timeout", "cancelled", "spawn-failed: command not found: x", "signal SIGKILL". */
export function describeRun(result: RunResult): string {
  if (result.error !== null) return result.error;
  return `exit ${result.exitCode ?? '?'}`;
}

/** Capabilities in `needs` this node lacks (none when the node does not check). */
export function missingCapabilities(needs: readonly string[], settings: EngineSettings): string[] {
  if (settings.capabilities === null) return [];
  const have = new Set(settings.capabilities);
  return needs.filter((n) => !have.has(n));
}

/** Free text for logbook fields that refuse control characters (tabs and newlines stay). */
export function printable(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?');
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`;
}

const TYPE_HINTS: ReadonlyArray<[RegExp, ActionType]> = [
  [/deploy|release|publish|rollout|ship/, 'deploy'],
  [/test|lint|check|verify|spec|smoke|qa/, 'testing'],
  [/build|compile|bundle|scaffold|generate|install/, 'code'],
  [/doc|readme|changelog/, 'documentation'],
  [/refactor|cleanup|migrate/, 'refactor'],
  [/debug|diagnos|trace/, 'debug'],
  [/review|audit/, 'review'],
  [/research|explore|spike/, 'research'],
];

/** Action type of a plain command from its context: step name, then topic id and title; else 'ops'. */
export function inferActionType(...context: string[]): ActionType {
  for (const text of context) {
    const lower = text.toLowerCase();
    for (const [pattern, type] of TYPE_HINTS) if (pattern.test(lower)) return type;
  }
  return 'ops';
}

/** The last `max` characters of a run's kept output. */
export function outputTail(result: RunResult, max: number): string {
  return result.output.length <= max ? result.output : result.output.slice(result.output.length - max);
}
