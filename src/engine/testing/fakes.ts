/**
 * Test doubles of the engine's ports for unit and property tests: a scripted CommandRunner
 * that measures concurrency and honours timeouts and cancellation, a manual clock, an
 * in-memory workspace provider, and a small pipeline builder.
 */
import type { Pipeline, PipelineStep, PipelineTopic } from '../../core/pipeline/index.js';
import type { Clock, CommandRunner, RunRequest, RunResult, WorkspaceProvider } from '../ports.js';

export interface FakeOutcome {
  exitCode?: number;
  /** Simulated run time (real milliseconds). Default 0. */
  delayMs?: number;
  output?: string;
  /** e.g. 'spawn-failed: command not found: x'. */
  error?: string;
}

export interface FakeCall {
  line: string;
  request: RunRequest;
  startedAt: number;
  endedAt: number | null;
}

/** `script` decides each command's outcome from its shell line (the last argv element). */
export class FakeRunner implements CommandRunner {
  readonly calls: FakeCall[] = [];
  running = 0;
  maxRunning = 0;

  constructor(private readonly script: (line: string, request: RunRequest) => FakeOutcome | Promise<FakeOutcome> = () => ({})) {}

  async run(request: RunRequest): Promise<RunResult> {
    const line = request.command.at(-1) ?? '';
    const call: FakeCall = { line, request, startedAt: performance.now(), endedAt: null };
    this.calls.push(call);
    const started = Date.now();
    const done = (fields: Partial<RunResult>): RunResult => {
      call.endedAt = performance.now();
      const output = fields.output ?? '';
      return {
        exitCode: null, signal: null, error: null, output, outputBytes: Buffer.byteLength(output), droppedBytes: 0,
        durationMs: Date.now() - started, startedAt: started, endedAt: Date.now(), ...fields,
      };
    };
    if (request.signal?.aborted) return done({ error: 'cancelled' });
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      const outcome = await this.script(line, request);
      if (outcome.error?.startsWith('spawn-failed')) return done({ error: outcome.error });
      const delay = outcome.delayMs ?? 0;
      const limit = request.timeoutMs ?? Infinity;
      const ended = await new Promise<'done' | 'timeout' | 'cancelled'>((resolve) => {
        const timer = setTimeout(() => finish('done'), Math.min(delay, limit));
        const onAbort = (): void => finish('cancelled');
        const finish = (how: 'done' | 'timeout' | 'cancelled'): void => {
          clearTimeout(timer);
          request.signal?.removeEventListener('abort', onAbort);
          resolve(how === 'done' && delay > limit ? 'timeout' : how);
        };
        request.signal?.addEventListener('abort', onAbort, { once: true });
      });
      if (ended !== 'done') return done({ error: ended, signal: 'SIGTERM' });
      if (outcome.output) request.onOutput?.('stdout', outcome.output);
      return done({ exitCode: outcome.exitCode ?? 0, output: outcome.output ?? '', error: outcome.error ?? null });
    } finally {
      this.running--;
    }
  }

  /** Shell lines run so far, in start order. */
  lines(): string[] {
    return this.calls.map((c) => c.line);
  }
}

export class ManualClock implements Clock {
  constructor(public time = 1_700_000_000_000) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

export class FakeWorkspaces implements WorkspaceProvider {
  readonly ensured: string[] = [];
  async ensure(project: string): Promise<string> {
    this.ensured.push(project);
    return `/workspaces/${project}`;
  }
}

export const cmd = (run: string, extra: Partial<Extract<PipelineStep, { kind: 'command' }>> = {}): PipelineStep => ({
  kind: 'command', name: extra.name ?? (run.replace(/[^A-Za-z0-9 ._:/-]/g, '').slice(0, 60) || 'step'), run, timeoutMs: null, env: {}, needs: [], risk: null, type: null, ...extra,
});

export function topic(id: string, steps: PipelineStep[], extra: Partial<PipelineTopic> = {}): PipelineTopic {
  return { id, title: id, description: '', risk: 'low', dependsOn: [], steps, ...extra };
}

export function pipeline(name: string, topics: PipelineTopic[], env: Record<string, string> = {}): Pipeline {
  return {
    version: 1, source: `${name}.yaml`, project: { name, description: '', workspace: name, env }, session: null, strategy: null, topics,
  };
}
