// A throwaway redis-server for the peer comparison: loopback only, a random free port, a
// temp directory, AOF on with the requested appendfsync, RDB snapshots off (so the only
// persistence is the AOF the comparison is about).
import { execFileSync, spawn } from 'node:child_process';
import { freePort, tempDir } from './proc.mjs';

export function redisServerPath() {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export function redisVersion(bin) {
  try {
    return /v=(\S+)/.exec(execFileSync(bin, ['--version'], { encoding: 'utf8' }))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Starts redis-server; resolves when it accepts connections. `appendfsync`: 'always' | 'everysec'. */
export async function startRedis({ appendfsync }) {
  const bin = redisServerPath();
  if (!bin) throw new Error('redis-server not found (Debian: apt-get install -y redis-server)');
  const port = await freePort();
  const dir = tempDir('bitacora-bench-redis-');
  const args = [
    '--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--protected-mode', 'yes', '--daemonize', 'no',
    '--appendonly', 'yes', '--appendfsync', appendfsync, '--save', '', '--logfile', '', '--loglevel', 'warning',
    // BullMQ recommends noeviction: a queue must never drop keys under memory pressure.
    '--maxmemory-policy', 'noeviction',
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Ready when a TCP connection gets a PONG.
  const { Redis } = await import('ioredis');
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
    const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') {
        const config = await probe.config('GET', 'appendfsync');
        const appendonly = await probe.config('GET', 'appendonly');
        probe.disconnect();
        return {
          port, pid: child.pid, dir, appendfsync: config[1], appendonly: appendonly[1],
          async flush() {
            const c = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
            await c.flushall();
            // Keep the AOF from growing across runs: rewrite it to the (empty) data set.
            await c.bgrewriteaof().catch(() => {});
            c.disconnect();
          },
          async stop() {
            if (child.exitCode === null) child.kill('SIGTERM');
            await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
            if (child.exitCode === null) child.kill('SIGKILL');
          },
        };
      }
    } catch {
      /* not yet */
    }
    probe.disconnect();
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not become ready: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
