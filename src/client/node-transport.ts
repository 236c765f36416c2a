/**
 * Node-only transport of FleetClient for a master serving HTTPS with its own CA (the fleet CA
 * or a private one): REST through undici with an Agent that trusts exactly that CA, WebSocket
 * through `ws` with the same CA. Kept out of fleet-client.ts so the client stays bundleable for
 * browsers (which trust what the browser trusts); Node entries (the CLI) inject it.
 */
import type { SecureTransport } from './fleet-client.js';
import { nodeWebSocketWith } from './websocket.js';

/**
 * `caCertPem` replaces the system's CAs for this client: a server whose certificate does not
 * chain to it fails the handshake before any request (and its bearer token) is sent.
 * Certificate host names are checked as usual.
 */
export const nodeSecureTransport: SecureTransport = (caCertPem) => {
  // undici is loaded on first request only, and one Agent (connection pool) serves the client.
  let loaded: Promise<typeof fetch> | null = null;
  const load = async (): Promise<typeof fetch> => {
    const undici = await import('undici');
    const dispatcher = new undici.Agent({ connect: { ca: caCertPem } });
    return ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) =>
      undici.fetch(input as Parameters<typeof undici.fetch>[0], { ...(init as Parameters<typeof undici.fetch>[1]), dispatcher })) as unknown as typeof fetch;
  };
  return {
    fetch: async (input, init) => (await (loaded ??= load()))(input, init),
    webSocket: nodeWebSocketWith({ ca: caCertPem }),
  };
};
