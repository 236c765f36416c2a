/**
 * The built CLI (`node dist/bin/bitacora.js`) as end-to-end tests run it: quiet, without the
 * caller's BITACORA_* connection settings, one command at a time with its exit code and output.
 */
import { execFile } from 'node:child_process';
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
