/**
 * The demo's fleet: a master and workers as separate `bitacora up|join` processes, each with
 * its own data directory on loopback — exactly what a user would start by hand.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FleetClient } from '../../client/index.js';
import type { FleetNode } from '../../core/index.js';
import type { CliDeps, SpawnedProcess } from '../context.js';
import { freePort } from '../free-port.js';

export interface DemoWorkerSpec {
  name: string;
  specialization: string;
}

export interface RunningWorker {
  spec: DemoWorkerSpec;
  dataDir: string;
  process: SpawnedProcess;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined> | T | null | undefined, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new Error(`interrupted while waiting for ${what}`);
    try {
      const value = await probe();
      if (value !== null && value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${why}`);
}

export class DemoFleet {
  readonly processes: SpawnedProcess[] = [];
  private readonly exitCodes = new Map<SpawnedProcess, number | string>();
  master: SpawnedProcess | null = null;
  client: FleetClient | null = null;

  constructor(private readonly deps: CliDeps, readonly baseDir: string) {}

  async startMaster(signal?: AbortSignal): Promise<FleetClient> {
    const dataDir = join(this.baseDir, 'master');
    mkdirSync(dataDir, { recursive: true });
    const [http, grpc] = [await freePort(), await freePort()];
    this.master = this.spawn(
      ['up', '--data-dir', dataDir, '--http', `127.0.0.1:${http}`, '--grpc', `127.0.0.1:${grpc}`, '--local-worker'],
      join(this.baseDir, 'master.log'),
    );
    const clientFile = join(dataDir, 'client.json');
    const { url, token } = await waitFor(
      'the master to write client.json',
      () => {
        this.assertAlive(this.master!, 'master');
        const parsed = JSON.parse(readFileSync(clientFile, 'utf8')) as { url: string; token: string };
        return parsed.url.endsWith(`:${http}`) ? parsed : null;
      },
      30_000,
      signal,
    );
    const client = new FleetClient({ url, token });
    await waitFor('the master API', () => client.health(), 30_000, signal);
    this.client = client;
    return client;
  }

  /** Joins a worker with a fresh one-time token and the pinned CA hash. */
  async startWorker(spec: DemoWorkerSpec): Promise<RunningWorker> {
    const client = this.requireClient();
    const token = await client.createToken({ role: 'worker' });
    const dataDir = join(this.baseDir, spec.name);
    mkdirSync(dataDir, { recursive: true });
    const args = ['join', client.url, '--token', token.token, '--ca-hash', token.caHash, '--name', spec.name,
      '--specialization', spec.specialization, '--capabilities', 'sh', '--capacity', '2', '--data-dir', dataDir];
    return { spec, dataDir, process: this.spawn(args, join(this.baseDir, `${spec.name}.log`)) };
  }

  /** Restarts a worker on its data directory: no token, it rejoins with its stored credential. */
  restartWorker(worker: RunningWorker): RunningWorker {
    const args = ['join', this.requireClient().url, '--data-dir', worker.dataDir];
    return { ...worker, process: this.spawn(args, join(this.baseDir, `${worker.spec.name}-restarted.log`)) };
  }

  async waitForNodes(names: string[], status: FleetNode['status'], signal?: AbortSignal): Promise<FleetNode[]> {
    const client = this.requireClient();
    return waitFor(
      `${names.join(', ')} to be ${status}`,
      async () => {
        const nodes = await client.listNodes();
        const wanted = names.map((n) => nodes.find((node) => node.name === n));
        return wanted.every((n) => n?.status === status) ? (wanted as FleetNode[]) : null;
      },
      30_000,
      signal,
    );
  }

  /** Stops every process started by the demo: SIGTERM, then SIGKILL for laggards. */
  async stopAll(): Promise<void> {
    const alive = this.processes.filter((p) => !this.exitCodes.has(p));
    for (const p of alive) p.kill('SIGTERM');
    const all = Promise.all(alive.map((p) => p.exited));
    const timeout = new Promise((r) => setTimeout(r, 5000).unref());
    await Promise.race([all, timeout]);
    for (const p of alive) p.kill('SIGKILL');
  }

  private spawn(args: string[], logFile: string): SpawnedProcess {
    const child = this.deps.spawnSelf(args, { logFile, env: { BITACORA_URL: '', BITACORA_TOKEN: '' } });
    this.processes.push(child);
    void child.exited.then((code) => this.exitCodes.set(child, code));
    return child;
  }

  private requireClient(): FleetClient {
    if (!this.client) throw new Error('the master is not started');
    return this.client;
  }

  /** Fails fast (naming the log file) when a process the demo waits on has already exited. */
  private assertAlive(p: SpawnedProcess, what: string): void {
    const code = this.exitCodes.get(p);
    if (code !== undefined) throw new Error(`the ${what} exited (${code}); see the logs in ${this.baseDir}`);
  }
}
