/**
 * A loopback TCP proxy for network faults between one agent and the master's gRPC port.
 * The agent dials the proxy (see `agent-via.mjs`); the proxy forwards to the master and, on
 * command, misbehaves like a network would. It works on bytes, so it cannot read TLS: it
 * never reorders or duplicates messages (that is injected at the protocol level instead).
 *
 * Modes (apply to open connections and to new ones):
 *  - `pass`       forward both ways (optionally with `delay` ms of added latency per chunk);
 *  - `drop`       a partition: bytes vanish both ways, nobody sees a FIN or RST, new
 *                 connections are accepted and then hear nothing. On heal, connections that
 *                 lost bytes are reset (their TLS stream has a hole; a real TCP connection
 *                 would have timed out by then);
 *  - `stall`      a partition that TCP survives: bytes are held, and delivered late on heal;
 *  - `cut`        every connection is reset now, new ones are refused (accepted and reset).
 */
import { createServer, Socket, type Server } from 'node:net';

export type ProxyMode = 'pass' | 'drop' | 'stall' | 'cut';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Lost bytes while dropping: the stream cannot continue after a heal. */
  broken: boolean;
  /** Held while stalled, per direction. */
  held: { up: Buffer[]; down: Buffer[] };
}

export interface ProxyStats {
  connections: number;
  open: number;
  bytesForwarded: number;
  bytesDropped: number;
}

export class FaultProxy {
  private mode: ProxyMode = 'pass';
  private delayMs = 0;
  private readonly pairs = new Set<Pair>();
  readonly stats: ProxyStats = { connections: 0, open: 0, bytesForwarded: 0, bytesDropped: 0 };

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** Listens on 127.0.0.1:<free port> and forwards to `target` (`host:port`). */
  static async start(target: string): Promise<FaultProxy> {
    const match = /^(.+):(\d+)$/.exec(target);
    if (!match) throw new Error(`proxy target must be host:port, got ${target}`);
    const host = match[1]!.replace(/^\[|\]$/g, '');
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const proxy = new FaultProxy(server, port, { host, port: Number(match[2]) });
    server.on('connection', (socket) => proxy.accept(socket));
    return proxy;
  }

  /** `127.0.0.1:<port>`: what the agent dials. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get currentMode(): ProxyMode {
    return this.mode;
  }

  /** Partition: bytes vanish silently both ways. */
  drop(): void {
    this.mode = 'drop';
  }

  /** Partition that TCP survives: bytes are held and delivered on heal. */
  stall(): void {
    this.mode = 'stall';
  }

  /** Resets every connection now and refuses new ones until heal. */
  cut(): void {
    this.mode = 'cut';
    for (const pair of [...this.pairs]) this.reset(pair);
  }

  /** Adds latency to every forwarded chunk (0 = none). Order is preserved. */
  delay(ms: number): void {
    this.delayMs = Math.max(0, ms);
  }

  /** Back to forwarding: held bytes are delivered, connections that lost bytes are reset. */
  heal(): void {
    this.mode = 'pass';
    for (const pair of [...this.pairs]) {
      if (pair.broken) {
        this.reset(pair);
        continue;
      }
      const { up, down } = pair.held;
      pair.held = { up: [], down: [] };
      for (const chunk of up) this.forward(pair, 'up', chunk);
      for (const chunk of down) this.forward(pair, 'down', chunk);
    }
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.reset(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.stats.connections++;
    if (this.mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = new Socket();
    const pair: Pair = { client, upstream, broken: false, held: { up: [], down: [] } };
    this.pairs.add(pair);
    this.stats.open = this.pairs.size;
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    upstream.connect(this.target.port, this.target.host);
    client.on('data', (chunk: Buffer) => this.onData(pair, 'up', chunk));
    upstream.on('data', (chunk: Buffer) => this.onData(pair, 'down', chunk));
    // A side closing is passed on only while the network "works": during a partition the
    // other side would not hear of it.
    const closed = (from: 'client' | 'upstream') => () => {
      if (this.mode === 'drop' || this.mode === 'stall') {
        pair.broken = true;
        return;
      }
      (from === 'client' ? upstream : client).end();
      this.forget(pair);
    };
    client.on('end', closed('client'));
    upstream.on('end', closed('upstream'));
    const failed = () => this.reset(pair);
    client.on('error', failed);
    upstream.on('error', failed);
    client.on('close', () => (this.mode === 'pass' ? this.reset(pair) : undefined));
    upstream.on('close', () => (this.mode === 'pass' ? this.reset(pair) : undefined));
  }

  private onData(pair: Pair, direction: 'up' | 'down', chunk: Buffer): void {
    switch (this.mode) {
      case 'drop':
        pair.broken = true;
        this.stats.bytesDropped += chunk.length;
        return;
      case 'stall':
        pair.held[direction].push(chunk);
        return;
      case 'cut':
        this.reset(pair);
        return;
      case 'pass':
        this.forward(pair, direction, chunk);
    }
  }

  private forward(pair: Pair, direction: 'up' | 'down', chunk: Buffer): void {
    const to = direction === 'up' ? pair.upstream : pair.client;
    const write = () => {
      if (to.destroyed) return;
      this.stats.bytesForwarded += chunk.length;
      to.write(chunk);
    };
    if (this.delayMs > 0) {
      // Same delay for every chunk of a direction keeps the order.
      setTimeout(write, this.delayMs).unref();
    } else {
      write();
    }
  }

  private reset(pair: Pair): void {
    for (const s of [pair.client, pair.upstream]) {
      if (!s.destroyed) {
        try {
          s.resetAndDestroy();
        } catch {
          s.destroy();
        }
      }
    }
    this.forget(pair);
  }

  private forget(pair: Pair): void {
    this.pairs.delete(pair);
    this.stats.open = this.pairs.size;
  }
}
