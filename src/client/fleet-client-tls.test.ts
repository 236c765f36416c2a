import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/index.js';
import { FleetClient, type SecureTransport } from './fleet-client.js';

describe('FleetClient with caCertPem', () => {
  it('refuses a CA without a transport that enforces it, rather than silently using the default trust store', () => {
    expect(() => new FleetClient({ url: 'https://m:1', token: 't', caCertPem: 'PEM' })).toThrow(/caCertPem needs a secureTransport/);
    try {
      new FleetClient({ url: 'https://m:1', token: 't', caCertPem: 'PEM' });
    } catch (err) {
      expect(err).toMatchObject({ code: ErrorCode.Validation });
    }
  });

  it('sends every request through the transport built for that CA', async () => {
    const seen: string[] = [];
    const transport: SecureTransport = (ca) => ({
      fetch: async (input) => {
        seen.push(`${ca} ${String(input)}`);
        return new Response(JSON.stringify({ ok: true }), { status: 200 });
      },
      webSocket: () => {
        throw new Error('not used');
      },
    });
    const client = new FleetClient({ url: 'https://m:1', token: 't', caCertPem: 'THE-CA', secureTransport: transport });
    await expect(client.health()).resolves.toEqual({ ok: true });
    expect(seen).toEqual(['THE-CA https://m:1/healthz']);
  });
});
