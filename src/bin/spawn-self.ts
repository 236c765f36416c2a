/** Starts this same `bitacora` executable as a child process (used by `bitacora demo`). */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SpawnedProcess } from '../cli/context.js';

const ENTRY = fileURLToPath(new URL('./bitacora.js', import.meta.url));

export function spawnSelf(args: string[], options: { logFile?: string; env?: NodeJS.ProcessEnv } = {}): SpawnedProcess {
  const log = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  for (const [key, value] of Object.entries(env)) if (value === '') delete env[key];
  const child = spawn(process.execPath, [ENTRY, ...args], { stdio: ['ignore', log, log], env });
  if (typeof log === 'number') closeSync(log);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (err) => resolve(`spawn failed: ${err.message}`));
  });
  return {
    pid: child.pid ?? -1,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
