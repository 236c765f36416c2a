/**
 * /proc lookups for fault tests: which processes carry a tag in their environment (every
 * fault test's tasks get `FAULT_TAG=<tag>`), their parent, group and session — to prove
 * that no process of a task outlives it — and a last-resort kill for cleanup.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

/** Environment variable that marks every process a fault test started through a task. */
export const TAG_VAR = 'FAULT_TAG';

export function newTag(prefix = 'f'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  cmdline: string;
  env: Record<string, string>;
}

function stat(pid: number): { ppid: number; pgid: number; sid: number; state: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]), pgid: Number(fields[2]), sid: Number(fields[3]) };
  } catch {
    return null;
  }
}

function environ(pid: number): Record<string, string> | null {
  try {
    const env: Record<string, string> = {};
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return env;
  } catch {
    return null;
  }
}

/** Live (non-zombie) processes whose environment has `name=value` (any value when omitted). */
export function processesWithEnv(name: string, value?: string): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const env = environ(pid);
    if (!env || !(name in env) || (value !== undefined && env[name] !== value)) continue;
    const s = stat(pid);
    if (!s || s.state === 'Z') continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue;
    }
    found.push({ pid, ppid: s.ppid, pgid: s.pgid, sid: s.sid, cmdline, env });
  }
  return found;
}

/** Processes started by tasks of the test tagged `tag`. */
export function tagged(tag: string): ProcInfo[] {
  return processesWithEnv(TAG_VAR, tag);
}

/** SIGKILLs every process carrying the tag (cleanup after a test, even a failed one). */
export function killTagged(tag: string): number {
  let n = 0;
  for (let round = 0; round < 5; round++) {
    const procs = tagged(tag);
    if (procs.length === 0) break;
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGKILL');
        n++;
      } catch {
        // gone
      }
    }
  }
  return n;
}

/** Direct children of `pid`. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s && s.ppid === pid && s.state !== 'Z') out.push(Number(entry));
  }
  return out;
}
