/**
 * Drives the logbook commands in-process, the way the binary does: a commander program with
 * the global options, `registerLogbookCommands`, and a CliContext wired to the real SQLite
 * backbone and the real process runner on a temp data directory. Each `run` is one
 * "terminal": its own program, its own captured stdout/stderr.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { DirectoryWorkspaces } from '../../src/agent/runner/workspaces.js';
import { ProcessRunner } from '../../src/agent/runner/process-runner.js';
import type { CliContext } from '../../src/cli/context.js';
import { registerLogbookCommands } from '../../src/cli/logbook/index.js';
import { CliExit, ExitCode, reportError } from '../../src/cli/output.js';
import { openSqliteBackbone } from '../../src/store/sqlite/index.js';

/** A writable that keeps what it was given; `isTTY` makes it look like a terminal. */
export class Capture extends Writable {
  chunks: string[] = [];
  isTTY: boolean;
  columns = 100;
  private waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(tty = false) {
    super();
    this.isTTY = tty;
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk.toString());
    const text = this.text;
    this.waiters = this.waiters.filter((w) => {
      const m = text.match(w.pattern);
      if (m) w.resolve(m);
      return !m;
    });
    done();
  }

  get text(): string {
    return this.chunks.join('');
  }

  /** Resolves with the first match of `pattern` in everything written so far or later. */
  waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const m = this.text.match(pattern);
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} in:\n${this.text}`)), timeoutMs);
      this.waiters.push({ pattern, resolve: (found) => { clearTimeout(timer); resolve(found); } });
    });
  }
}

export interface Terminal {
  ctx: CliContext & { stdin?: NodeJS.ReadableStream & { isTTY?: boolean } };
  stdout: Capture;
  stderr: Capture;
  stdin: PassThrough & { isTTY?: boolean };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TempData {
  root: string;
  dataDir: string;
  cleanup(): void;
}

/** A temp directory with the data directory inside (created by the first command). */
export function tempData(prefix = 'bitacora-logbook-'): TempData {
  const root = mkdtempSync(join(tmpdir(), prefix));
  return { root, dataDir: join(root, 'data'), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A fresh "terminal" whose data directory comes from BITACORA_DATA_DIR. */
export function terminal(data: TempData, options: { tty?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Terminal {
  const stdout = new Capture(options.tty ?? false);
  const stderr = new Capture(false);
  const stdin = Object.assign(new PassThrough(), { isTTY: options.tty ?? false });
  const ctx: Terminal['ctx'] = {
    stdout,
    stderr,
    stdin,
    env: { BITACORA_DATA_DIR: data.dataDir, BITACORA_USER: 'tester', ...options.env },
    cwd: options.cwd ?? process.cwd(),
    deps: {
      openBackbone: (dir) => openSqliteBackbone({ file: join(dir, 'fleet.db') }),
      newCommandRunner: () => new ProcessRunner(),
      newWorkspaces: (root) => new DirectoryWorkspaces(root),
      startMaster: () => Promise.reject(new Error('not used by logbook tests')),
      startAgent: () => Promise.reject(new Error('not used by logbook tests')),
      spawnSelf: () => {
        throw new Error('not used by logbook tests');
      },
    },
  };
  return { ctx, stdout, stderr, stdin };
}

/** The root program as the binary builds it: global --data-dir/--json, errors → exit codes. */
export function program(ctx: CliContext): Command {
  const root = new Command('bitacora')
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
    .option('--data-dir <dir>', 'data directory')
    .option('--json', 'machine-readable output');
  registerLogbookCommands(root, ctx);
  return root;
}

/** Runs `bitacora <args>` in `term`; never throws, returns the exit code and what was printed. */
export async function run(term: Terminal, args: string[]): Promise<RunResult> {
  const before = { out: term.stdout.chunks.length, err: term.stderr.chunks.length };
  let code: number = ExitCode.Ok;
  try {
    await program(term.ctx).parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CliExit) code = err.exitCode;
    else if (err instanceof CommanderError) code = err.exitCode === 0 ? 0 : ExitCode.BadInput;
    else code = reportError(term.ctx, err, args.includes('--json'));
  }
  return {
    code,
    stdout: term.stdout.chunks.slice(before.out).join(''),
    stderr: term.stderr.chunks.slice(before.err).join(''),
  };
}

/** `run` + JSON.parse of stdout, asserting success. */
export async function runJson<T = unknown>(term: Terminal, args: string[]): Promise<T> {
  const result = await run(term, [...args, '--json']);
  if (result.code !== 0) throw new Error(`bitacora ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
