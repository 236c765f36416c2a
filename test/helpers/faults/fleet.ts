/**
 * A fleet under fault injection: one master and named workers as real processes on
 * loopback (a worker may dial the master through a FaultProxy), a HistoryRecorder fed by
 * every submission and every fault, and a FaultScope that removes processes, proxies,
 * mounts and directories after each test, failed or not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { CoordinatorSettings } from '../../../src/coordinator/index.js';
import type { FleetNode, NewTaskSpec } from '../../../src/core/index.js';
import { AgentProcess, Cleanup, freePort, MasterProcess, requireBuild, waitFor } from '../processes.js';
import { checkHistory, formatReport, type CheckOptions, type CheckReport } from './checker.js';
import { HistoryRecorder, type History } from './history.js';
import { killTagged, newTag, TAG_VAR } from './procs.js';
import { FaultProxy } from './proxy.js';

/** Timings that make failures show within a second or two on loopback. */
export const FAST_SETTINGS: Partial<CoordinatorSettings> = {
  heartbeatIntervalMs: 300,
  missedHeartbeats: 3,
  reconnectGraceMs: 500,
  selfFenceAfterMs: 5000,
};

/** Everything one test started; `dispose()` in afterEach removes it even after a failure. */
export class FaultScope {
  readonly cleanup = new Cleanup();
  tag = newTag();
  private readonly disposers: Array<() => unknown> = [];
  private readonly dirs: string[] = [];

  dir(prefix = 'bitacora-fault-'): string {
    const d = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(d);
    return d;
  }

  /** Runs at dispose, after every process is dead, in reverse order (proxies, mounts…). */
  defer(fn: () => unknown): void {
    this.disposers.push(fn);
  }

  async dispose(): Promise<void> {
    await this.cleanup.run();
    killTagged(this.tag);
    for (const fn of this.disposers.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`fault scope cleanup: ${(err as Error).message}`);
      }
    }
    this.disposers.length = 0;
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    this.dirs.length = 0;
    this.tag = newTag();
  }
}

export interface WorkerSpec {
  name: string;
  capacity?: number;
  /** Dial the master's gRPC port through a FaultProxy. */
  viaProxy?: boolean;
}

export interface Worker {
  name: string;
  dataDir: string;
  proxy: FaultProxy | null;
  agent: AgentProcess;
  nodeId: string;
  capacity: number;
}

export interface FaultFleetOptions {
  workers: WorkerSpec[];
  settings?: Partial<CoordinatorSettings>;
  /** Master data directory (e.g. on a small tmpfs). Default: a fresh temp dir. */
  masterDataDir?: string;
}

export class FaultFleet {
  readonly recorder = new HistoryRecorder();
  readonly workers = new Map<string, Worker>();
  master!: MasterProcess;
  private ports!: { httpPort: number; grpcPort: number };

  private constructor(
    readonly scope: FaultScope,
    readonly dir: string,
    readonly masterDataDir: string,
    private readonly settings: Partial<CoordinatorSettings>,
  ) {}

  static async start(scope: FaultScope, options: FaultFleetOptions): Promise<FaultFleet> {
    requireBuild();
    const dir = scope.dir();
    const fleet = new FaultFleet(scope, dir, options.masterDataDir ?? join(dir, 'master'), { ...FAST_SETTINGS, ...options.settings });
    fleet.ports = { httpPort: await freePort(), grpcPort: await freePort() };
    await fleet.startMaster();
    for (const w of options.workers) await fleet.addWorker(w);
    return fleet;
  }

  get tag(): string {
    return this.scope.tag;
  }

  worker(name: string): Worker {
    const w = this.workers.get(name);
    if (!w) throw new Error(`no worker ${name}`);
    return w;
  }

  /** A shell task tagged for /proc lookups and cleanup, retried generously after infrastructure failures. */
  task(line: string, extra: Partial<NewTaskSpec> = {}): NewTaskSpec {
    return { command: ['sh', '-c', line], maxRetries: 50, ...extra, env: { [TAG_VAR]: this.tag, ...extra.env } };
  }

  async submit(specs: NewTaskSpec[]): Promise<string[]> {
    const ids = await this.recorder.submit(this.master, specs);
    const failed = this.recorder.submissions.slice(-specs.length).find((s) => s.error);
    if (failed) throw new Error(`submission refused: ${failed.error!.code}: ${failed.error!.message}`);
    return ids as string[];
  }

  async addWorker(spec: WorkerSpec): Promise<Worker> {
    const dataDir = join(this.dir, spec.name);
    const proxy = spec.viaProxy ? await FaultProxy.start(this.master.info.grpcAddress) : null;
    if (proxy) this.scope.defer(() => proxy.close());
    const { token } = await this.master.createToken('worker');
    const capacity = spec.capacity ?? 4;
    const agent = this.spawnAgent({ name: spec.name, dataDir, token, capacity, dialVia: proxy?.address ?? null });
    const nodeId = await agent.joined();
    const worker: Worker = { name: spec.name, dataDir, proxy, agent, nodeId, capacity };
    this.workers.set(spec.name, worker);
    return worker;
  }

  /** SIGKILL (or another signal that ends it) of a worker's agent process. */
  async killWorker(name: string): Promise<void> {
    const w = this.worker(name);
    this.recorder.nodeDied(w.nodeId, 'worker SIGKILL');
    w.agent.kill('SIGKILL');
    await w.agent.exited;
  }

  /** Starts the worker again on its data directory (stored credential, no token). */
  async restartWorker(name: string): Promise<void> {
    const w = this.worker(name);
    if (w.agent.alive) throw new Error(`worker ${name} is still running`);
    w.agent = this.spawnAgent({ name, dataDir: w.dataDir, token: null, capacity: w.capacity, dialVia: w.proxy?.address ?? null });
    await w.agent.joined(60_000);
    this.recorder.nodeRevived(w.nodeId);
  }

  pauseWorker(name: string): void {
    const w = this.worker(name);
    this.recorder.fault('worker SIGSTOP', w.nodeId);
    process.kill(w.agent.pid, 'SIGSTOP');
  }

  resumeWorker(name: string): void {
    const w = this.worker(name);
    this.recorder.fault('worker SIGCONT', w.nodeId);
    process.kill(w.agent.pid, 'SIGCONT');
  }

  async killMaster(): Promise<void> {
    this.recorder.fault('master SIGKILL', 'master');
    this.master.kill('SIGKILL');
    await this.master.exited;
  }

  async restartMaster(): Promise<void> {
    await this.startMaster();
    this.recorder.fault('master restart', 'master');
  }

  async node(name: string): Promise<FleetNode> {
    return this.master.call<FleetNode>('getNode', name);
  }

  async waitNodeStatus(name: string, status: FleetNode['status'], timeoutMs = 30_000): Promise<void> {
    await waitFor(`${name} ${status}`, async () => (await this.node(name)).status === status, timeoutMs, 100);
  }

  /** Until no task is pending, assigned or running. */
  async waitIdle(timeoutMs = 90_000): Promise<void> {
    try {
      await waitFor('every task terminal', async () => {
        const { tasks } = await this.master.call<{ tasks: Record<string, number> }>('status');
        return (tasks['pending'] ?? 0) + (tasks['assigned'] ?? 0) + (tasks['running'] ?? 0) === 0;
      }, timeoutMs, 200);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await this.diagnostics()}`);
    }
  }

  async history(): Promise<History> {
    return this.recorder.collect(this.master);
  }

  async check(options: CheckOptions = {}): Promise<CheckReport> {
    return checkHistory(await this.history(), options);
  }

  /** Asserts a clean history; the message lists the violations and the figures. */
  async expectClean(options: CheckOptions = {}): Promise<CheckReport> {
    const report = await this.check(options);
    expect(report.ok, formatReport(report)).toBe(true);
    return report;
  }

  /** Open tasks and the processes' stderr, for failure messages. */
  async diagnostics(): Promise<string> {
    let open = '';
    try {
      const tasks = await this.master.call<Array<{ id: string; state: string; attempt: number; nodeId: string | null }>>('listTasks', { states: ['pending', 'assigned', 'running'] });
      open = JSON.stringify(tasks.slice(0, 20).map((t) => [t.id, t.state, t.attempt, t.nodeId]));
    } catch (err) {
      open = `(cannot list: ${(err as Error).message})`;
    }
    const tails = [`master:\n${this.master.stderr.slice(-3000)}`, ...[...this.workers.values()].map((w) => `${w.name}:\n${w.agent.stderr.slice(-2000)}`)];
    return `open tasks: ${open}\n${tails.join('\n---\n')}`;
  }

  private async startMaster(): Promise<void> {
    this.master = this.scope.cleanup.track(await MasterProcess.start({ dataDir: this.masterDataDir, ...this.ports, settings: this.settings }));
  }

  private spawnAgent(o: { name: string; dataDir: string; token: string | null; capacity: number; dialVia: string | null }): AgentProcess {
    const agent = new AgentProcess('faults/agent-via.mjs', {
      masterUrl: this.master.info.httpUrl,
      caHash: this.master.info.caHash,
      ...(o.token ? { token: o.token } : {}),
      name: o.name,
      dataDir: o.dataDir,
      role: 'worker',
      capabilities: [],
      specializations: [],
      capacity: o.capacity,
      backoff: { initialMs: 100, maxMs: 1000 },
      ...(o.dialVia ? { dialVia: o.dialVia } : {}),
    });
    return this.scope.cleanup.track(agent);
  }
}
