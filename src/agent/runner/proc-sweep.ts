/**
 * Finds and kills every process that carries a run's marker environment variable, by
 * scanning `/proc/<pid>/environ` (Linux). This is how the runner reaches descendants that
 * left the process group (double fork + setsid): they keep the environment they inherited.
 *
 * Cost: a full scan reads one small file per process on the machine (~2 ms for 80
 * processes). A ranged scan only reads pids allocated since the run's child was spawned —
 * Linux allocates pids cyclically upward, so as long as the allocator did not wrap
 * (checked with `ns_last_pid`), every descendant's pid lies in `[childPid, ns_last_pid]`.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ScanScope {
  /** Pid of the run's direct child: the lowest pid any descendant can have without a wrap. */
  fromPid: number;
  /** Scan every process instead of the range (long runs, pid wrap suspected). */
  full: boolean;
}

export class ProcSweeper {
  private readonly available: boolean;

  constructor(
    private readonly marker: { name: string; value: string },
    private readonly procRoot = '/proc',
  ) {
    this.available = ProcSweeper.supported(procRoot);
  }

  /** False on systems without a readable /proc (the sweep then relies on the process group). */
  static supported(procRoot = '/proc'): boolean {
    try {
      readFileSync(`${procRoot}/self/environ`);
      return true;
    } catch {
      return false;
    }
  }

  /** Pids of live (non-zombie) processes carrying the marker. Zombies have an empty environ. */
  find(scope: ScanScope): number[] {
    if (!this.available) return [];
    const needle = Buffer.from(`${this.marker.name}=${this.marker.value}`);
    const upper = scope.full ? null : this.lastPid();
    // A wrap (last allocated pid below our child's) means the range is not contiguous.
    const full = scope.full || upper === null || upper < scope.fromPid;
    const found: number[] = [];
    let entries: string[];
    try {
      entries = readdirSync(this.procRoot);
    } catch {
      return [];
    }
    for (const entry of entries) {
      const code = entry.charCodeAt(0);
      if (code < 48 || code > 57) continue;
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      if (!full && (pid < scope.fromPid || pid > (upper as number))) continue;
      if (this.carriesMarker(pid, needle)) found.push(pid);
    }
    return found;
  }

  /** Sends `signal` to every marked process; returns how many were signalled. */
  signalAll(signal: NodeJS.Signals, scope: ScanScope): number {
    let count = 0;
    for (const pid of this.find(scope)) {
      try {
        process.kill(pid, signal);
        count++;
      } catch {
        // Already gone: that is the goal.
      }
    }
    return count;
  }

  /**
   * SIGKILLs marked processes until a scan finds none (a process may fork between our scan
   * and our kill, so one pass is not enough). Bounded by `maxMs`; returns the pids still
   * alive at the end — empty unless a process is stuck in the kernel.
   */
  async killUntilGone(scope: ScanScope, maxMs = 5000): Promise<number[]> {
    const deadline = Date.now() + maxMs;
    let pause = 2;
    for (;;) {
      const pids = this.find(scope);
      if (pids.length === 0) return [];
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Exited meanwhile.
        }
      }
      if (Date.now() >= deadline) return this.find(scope);
      // Give the kernel a moment to tear the processes down before re-scanning.
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 50);
    }
  }

  private lastPid(): number | null {
    try {
      const value = Number(readFileSync(`${this.procRoot}/sys/kernel/ns_last_pid`, 'utf8').trim());
      return Number.isInteger(value) && value > 0 ? value : null;
    } catch {
      return null;
    }
  }

  private carriesMarker(pid: number, needle: Buffer): boolean {
    let environ: Buffer;
    try {
      environ = readFileSync(`${this.procRoot}/${pid}/environ`);
    } catch {
      return false; // exited, or a kernel thread we may not read
    }
    let from = 0;
    for (;;) {
      const at = environ.indexOf(needle, from);
      if (at < 0) return false;
      const startsEntry = at === 0 || environ[at - 1] === 0;
      const endsEntry = at + needle.length === environ.length || environ[at + needle.length] === 0;
      if (startsEntry && endsEntry) return true;
      from = at + 1;
    }
  }
}
