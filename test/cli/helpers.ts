/** Helpers for CLI tests: captured stdio, a context with injected deps, running the program in-process. */
import { Writable } from 'node:stream';
import type { AgentStartOptions, CliContext, CliDeps, MasterStartOptions } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/program.js';

export class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Deps whose concrete parts fail loudly: the fleet commands must only use the API client. */
export function unusedDeps(over: Partial<CliDeps> = {}): CliDeps {
  const no = (what: string) => () => {
    throw new Error(`${what} must not be used by this command`);
  };
  return {
    openBackbone: no('openBackbone'),
    newCommandRunner: no('newCommandRunner'),
    newWorkspaces: no('newWorkspaces'),
    startMaster: no('startMaster') as (o: MasterStartOptions) => never,
    startAgent: no('startAgent') as (o: AgentStartOptions) => never,
    spawnSelf: no('spawnSelf'),
    ...over,
  };
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  deps?: Partial<CliDeps>;
  stop?: AbortSignal;
}

export async function cli(argv: string[], options: RunOptions = {}): Promise<CliRun> {
  const stdout = new Capture();
  const stderr = new Capture();
  const ctx: CliContext = {
    stdout, stderr, env: options.env ?? {}, cwd: options.cwd ?? '/nonexistent-cwd', deps: unusedDeps(options.deps),
    ...(options.stop ? { stopSignal: () => options.stop! } : {}),
  };
  const code = await runCli(argv, ctx);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
