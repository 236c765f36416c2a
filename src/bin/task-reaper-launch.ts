/**
 * Starts the task reaper (./task-reaper) beside an agent: detached, in its own process group, fed
 * by a pipe the agent holds until it exits. Skipped (null) where the reaper script is not built
 * (tests running from sources) or /proc is missing.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./task-reaper.js', import.meta.url));

export interface TaskReaper {
  pid: number;
  /** Ends the pipe: the reaper sweeps (nothing should be left after a clean close) and exits. */
  release(): void;
}

export function launchTaskReaper(marker: { name: string; value: string }): TaskReaper | null {
  if (!existsSync(SCRIPT) || !existsSync('/proc/self/environ')) return null;
  const env = { ...process.env };
  delete env[marker.name];
  const child = spawn(process.execPath, [SCRIPT, marker.name, marker.value], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], env });
  child.on('error', () => undefined);
  child.stdin!.on('error', () => undefined);
  // Neither the child nor its pipe keeps the agent's event loop alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return {
    pid: child.pid ?? -1,
    release: () => child.stdin!.end(),
  };
}
