/**
 * The built CLI (`node dist/bin/bitacora.js`) as end-to-end tests run it: quiet, without the
 * caller's BITACORA_* connection settings, one command at a time with its exit code and output.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const BIN = resolve(import.meta.dirname, '../../dist/bin/bitacora.js');

export const baseEnv: NodeJS.ProcessEnv = { ...process.env, BITACORA_QUIET: '1', NODE_NO_WARNINGS: '1' };
delete baseEnv['BITACORA_URL'];
delete baseEnv['BITACORA_TOKEN'];
delete baseEnv['BITACORA_DATA_DIR'];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bitacora ARGS` to its end (30 s at most); never rejects: a failure is a non-zero `code`. */
export function bitacora(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...baseEnv, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export interface StartedBitacora {
  child: ChildProcess;
  /** The first complete JSON document on stdout (the `--json` banner). */
  banner: Record<string, unknown>;
  /** Everything printed so far, and the exit code once exited (-1 before). */
  output(): CliResult;
}

/** Starts a long-running `bitacora ARGS` (`up --json`, `join --json`…) and resolves with its JSON banner. */
export function startBitacora(args: string[], timeoutMs = 30_000): Promise<StartedBitacora> {
  const child = spawn(process.execPath, [BIN, ...args], { env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`no JSON banner from bitacora ${args.join(' ')}; stderr: ${stderr}`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`bitacora ${args[0]} exited early with ${code}: ${stderr}`)));
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      try {
        const banner = JSON.parse(stdout) as Record<string, unknown>;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolvePromise({ child, banner, output: () => ({ code: child.exitCode ?? -1, stdout, stderr }) });
      } catch {
        // not complete yet
      }
    });
  });
}

/**
 * Polls `fn` until `ok` holds for its value (every 200 ms); past `timeoutMs` throws naming
 * `what` and the last value seen.
 */
export async function eventually<T>(fn: () => Promise<T>, ok: (value: T) => boolean, what = 'condition', timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
