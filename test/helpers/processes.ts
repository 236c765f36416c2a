/**
 * Real master and agent processes on loopback for multi-process tests: free ports, temp data
 * directories, a JSON-lines control channel to the master, and cleanup that kills whatever a
 * test started. Processes run the built code (`npm run build` first; `npm test` does it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CoordinatorSettings } from '../../src/coordinator/index.js';

const HELPERS = fileURLToPath(new URL('.', import.meta.url));
const DIST_MASTER = fileURLToPath(new URL('../../dist/bin/master.js', import.meta.url));

export function requireBuild(): void {
  if (!existsSync(DIST_MASTER)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
}

/** Shared with the demo and benchmarks: never hands out the same port twice in one process. */
export { freePort } from '../../src/cli/free-port.js';

export function tempDir(prefix = 'bitacora-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

interface Line {
  event?: string;
  id?: number;
  ok?: boolean;
  result?: unknown;
  error?: { code: string | null; message: string };
  [key: string]: unknown;
}

/** A child process speaking JSON lines on stdout; stderr kept for failure messages. */
class LineProcess {
  readonly child: ChildProcess;
  readonly lines: Line[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private waiters: Array<{ match: (l: Line) => boolean; resolve: (l: Line) => void }> = [];

  constructor(script: string, arg: unknown, env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [join(HELPERS, script), JSON.stringify(arg)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, BITACORA_QUIET: process.env['BITACORA_QUIET'] ?? '1', ...env },
    });
    let buffer = '';
    this.child.stdout!.setEncoding('utf8').on('data', (data: string) => {
      buffer += data;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let line: Line;
        try {
          line = JSON.parse(text) as Line;
        } catch {
          continue;
        }
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (data: string) => {
      this.stderr = (this.stderr + data).slice(-20_000);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  waitLine(match: (l: Line) => boolean, timeoutMs = 30_000, what = 'a line'): Promise<Line> {
    const found = this.lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr:\n${this.stderr}`)), timeoutMs);
      this.waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void this.exited.then((code) => {
        if (!this.lines.find(match)) {
          clearTimeout(timer);
          reject(new Error(`process exited (${code}) before ${what}; stderr:\n${this.stderr}`));
        }
      });
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

export interface MasterOptions {
  dataDir: string;
  httpPort: number;
  grpcPort: number;
  localWorker?: boolean;
  settings?: Partial<CoordinatorSettings>;
}

export class MasterProcess extends LineProcess {
  private nextId = 1;
  info!: { httpUrl: string; grpcAddress: string; caHash: string; adminToken: string; joinCommand: string };

  static async start(options: MasterOptions): Promise<MasterProcess> {
    requireBuild();
    const master = new MasterProcess('master-process.mjs', {
      dataDir: options.dataDir,
      http: `127.0.0.1:${options.httpPort}`,
      grpc: `127.0.0.1:${options.grpcPort}`,
      localWorker: options.localWorker ?? false,
      settings: options.settings ?? {},
    });
    const ready = await master.waitLine((l) => l.event === 'ready' || l.event === 'failed', 30_000, 'master ready');
    if (ready.event === 'failed') throw new Error(`master failed to start: ${String(ready['message'])}\n${master.stderr}`);
    master.info = ready as unknown as MasterProcess['info'];
    return master;
  }

  /** Calls a FleetService method (or an extra op of master-process.mjs) in the master. */
  async call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    const reply = await this.waitLine((l) => l.id === id, 30_000, `reply to ${op}`);
    if (!reply.ok) {
      const err = new Error(reply.error?.message ?? 'failed') as Error & { code?: string | null };
      err.code = reply.error?.code ?? null;
      throw err;
    }
    return reply.result as T;
  }

  async createToken(role: 'worker' | 'hybrid' = 'hybrid', ttlMs?: number): Promise<{ token: string; caHash: string; join: string }> {
    return this.call('createJoinToken', { role, createdBy: 'test', ...(ttlMs ? { ttlMs } : {}) });
  }
}

export interface AgentProcessOptions {
  masterUrl: string;
  dataDir: string;
  name: string;
  token?: string;
  caHash?: string;
  role?: 'worker' | 'hybrid';
  capacity?: number;
  capabilities?: string[];
  specializations?: string[];
}

export class AgentProcess extends LineProcess {
  nodeId: string | null = null;

  /** Spawns an agent; does not wait (see `joined()`). */
  static spawn(options: AgentProcessOptions): AgentProcess {
    requireBuild();
    return new AgentProcess('agent-process.mjs', {
      role: 'worker',
      capabilities: [],
      specializations: [],
      capacity: 4,
      backoff: { initialMs: 100, maxMs: 1000 },
      ...options,
    });
  }

  async joined(timeoutMs = 30_000): Promise<string> {
    const line = await this.waitLine((l) => l.event === 'joined' || l.event === 'refused', timeoutMs, 'agent joined');
    if (line.event === 'refused') throw new Error(`agent refused: ${String(line['code'])}: ${String(line['message'])}`);
    this.nodeId = String(line['nodeId']);
    return this.nodeId;
  }
}

/** Tracks everything a test started and removes it in afterAll/afterEach. */
export class Cleanup {
  private readonly processes: LineProcess[] = [];
  private readonly dirs: string[] = [];

  track<P extends LineProcess>(p: P): P {
    this.processes.push(p);
    return p;
  }

  dir(prefix?: string): string {
    const d = tempDir(prefix);
    this.dirs.push(d);
    return d;
  }

  async run(): Promise<void> {
    for (const p of this.processes) {
      if (p.alive) {
        try {
          process.kill(p.pid, 'SIGCONT');
        } catch {
          /* gone */
        }
        p.kill('SIGKILL');
      }
    }
    await Promise.all(this.processes.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 5000))])));
    this.processes.length = 0;
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    this.dirs.length = 0;
  }
}

export { waitFor } from './in-process-fleet.js';
export type { LineProcess };
