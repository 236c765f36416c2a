/** `bitacora up`'s HTTPS options, in-process with an injected startMaster: what it passes on, what it refuses. */
import { describe, expect, it } from 'vitest';
import type { MasterHandle, MasterStartOptions } from '../../src/cli/context.js';
import { cli } from './helpers.js';

function recordingMaster() {
  const calls: MasterStartOptions[] = [];
  const handle: MasterHandle = {
    httpUrl: 'https://127.0.0.1:7700', dashboardUrl: 'https://127.0.0.1:7700/', grpcAddress: '127.0.0.1:7701', adminToken: 'bat_a',
    caHash: 'sha256:ca', joinCommand: 'bitacora join https://127.0.0.1:7700 --token bjt_x --ca-hash sha256:ca',
    closed: Promise.resolve(), close: async () => {},
  };
  return { calls, startMaster: async (o: MasterStartOptions) => (calls.push(o), handle) };
}

describe('bitacora up --http-tls / --http-cert', () => {
  it('passes the TLS mode or the certificate files on', async () => {
    const master = recordingMaster();
    await cli(['up', '--http-tls', 'fleet-ca', '--data-dir', '/tmp/x'], { deps: { startMaster: master.startMaster } });
    await cli(['up', '--http-cert', 'web.pem', '--http-key', 'web-key.pem', '--data-dir', '/tmp/x'], { deps: { startMaster: master.startMaster } });
    await cli(['up', '--data-dir', '/tmp/x'], { deps: { startMaster: master.startMaster } });
    expect(master.calls.map((c) => c.httpTls)).toEqual(['fleet-ca', { certFile: 'web.pem', keyFile: 'web-key.pem' }, undefined]);
  });

  it('refuses an unknown mode, half a pair and a conflicting pair with exit 2, starting nothing', async () => {
    const master = recordingMaster();
    for (const [args, pattern] of [
      [['--http-tls', 'on'], /--http-tls <mode>' argument 'on' is invalid/],
      [['--http-cert', 'a.pem'], /--http-key is missing: --http-cert and --http-key go together/],
      [['--http-key', 'a.pem'], /--http-cert is missing/],
      [['--http-tls', 'fleet-ca', '--http-cert', 'a.pem', '--http-key', 'k.pem'], /--http-tls fleet-ca conflicts with --http-cert/],
    ] as const) {
      const res = await cli(['up', ...args], { deps: { startMaster: master.startMaster } });
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(pattern);
    }
    expect(master.calls).toHaveLength(0);
  });
});
