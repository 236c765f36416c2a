/**
 * Free loopback ports for processes started on this machine (the demo, tests, benchmarks).
 * A port is found by listening on 0 and releasing it; the kernel may hand the same port out
 * again right away, so the ports already given out by this process are remembered and skipped —
 * otherwise two consecutive calls (an HTTP and a gRPC port) can collide.
 */
import { createServer } from 'node:net';

const handedOut = new Set<number>();

function probe(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A port on 127.0.0.1 that was free a moment ago and that this process has not handed out before. */
export async function freePort(): Promise<number> {
  for (let tries = 0; ; tries++) {
    const port = await probe();
    if (!handedOut.has(port) || tries >= 50) {
      handedOut.add(port);
      return port;
    }
  }
}
