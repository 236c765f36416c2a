/**
 * The HTTP side over TLS, through the built binary (`npm run build` first): `bitacora up
 * --http-tls fleet-ca` with the CLI finding the master and its CA through client.json, plain
 * HTTP and clients trusting another CA refused, an agent joining through `https://` and running
 * a task; and `--http-cert/--http-key` presenting the configured certificate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetClient } from '../../src/client/fleet-client.js';
import { nodeSecureTransport } from '../../src/client/node-transport.js';
import { createFleetCa, issueServerCertificate } from '../../src/security/index.js';
import { baseEnv, BIN, bitacora, eventually, startBitacora } from '../helpers/cli-binary.js';

interface Started {
  child: ChildProcess;
  banner: Record<string, unknown>;
  stderr: () => string;
}

const children: ChildProcess[] = [];

/** Starts a long-running command and resolves with the first complete JSON document on stdout. */
function startJson(args: string[]): Promise<Started> {
  return startBitacora(args, 60_000).then(({ child, banner, output }) => {
    children.push(child);
    return { child, banner, stderr: () => output().stderr };
  });
}


/** The certificate the server at `url` presents (no trust decision: only to look at it). */
function presentedCertificate(url: string): Promise<X509Certificate> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    // Inspection only, nothing is sent: this socket carries no request and no secret.
    const socket = tlsConnect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(new X509Certificate(raw));
    });
    socket.once('error', reject);
  });
}

/** A plain-HTTP GET to the TLS port: resolves with the status, or the error the server's refusal causes. */
function plainHttpGet(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const req = httpRequest({ host: hostname, port: Number(port), path: '/healthz', timeout: 10_000 }, (res) => {
      res.resume();
      resolve(`status ${res.statusCode}`);
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    req.end();
  });
}

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe.skipIf(!existsSync(BIN))('bitacora up --http-tls fleet-ca (built binary)', () => {
  let dir: string;
  let master: Started;
  let url: string;
  const local = (...args: string[]) => bitacora(['--data-dir', join(dir, 'master'), ...args]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-https-'));
    master = await startJson(['up', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--http-tls', 'fleet-ca', '--json', '--data-dir', join(dir, 'master')]);
    url = String(master.banner['url']);
  }, 90_000);

  afterAll(() => {
    if (master?.child.exitCode === null) master.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves https:// and records the fleet CA file in client.json', () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(master.banner['join']).toMatch(/^bitacora join https:\/\/127\.0\.0\.1:\d+ --token \S+ --ca-hash sha256:[0-9a-f]{64}$/);
    const client = JSON.parse(readFileSync(join(dir, 'master', 'client.json'), 'utf8')) as Record<string, string>;
    expect(client).toMatchObject({ url, caFile: join(dir, 'master', 'tls', 'ca.pem') });
  });

  it('lets the local CLI work through client.json (status, nodes)', async () => {
    const status = await local('status', '--json');
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toHaveProperty('nodes');
    const nodes = await local('nodes', '--json');
    expect(nodes.code, nodes.stderr).toBe(0);
    expect(JSON.parse(nodes.stdout)).toEqual(expect.any(Array));
  });

  it('lets a remote CLI in with --url, --token and --ca-file (or BITACORA_CA_FILE)', async () => {
    const client = JSON.parse(readFileSync(join(dir, 'master', 'client.json'), 'utf8')) as Record<string, string>;
    const elsewhere = join(dir, 'elsewhere');
    const flags = await bitacora(['--data-dir', elsewhere, '--url', url, '--token', client['token']!, '--ca-file', client['caFile']!, 'status', '--json']);
    expect(flags.code, flags.stderr).toBe(0);
    const env = await bitacora(['--data-dir', elsewhere, 'nodes', '--json'], { BITACORA_URL: url, BITACORA_TOKEN: client['token'], BITACORA_CA_FILE: client['caFile'] });
    expect(env.code, env.stderr).toBe(0);
    // Without the CA, the system's trust store does not know the fleet CA: no trusted connection, exit 4.
    const noCa = await bitacora(['--data-dir', elsewhere, '--url', url, '--token', client['token']!, 'status']);
    expect(noCa.code).toBe(4);
  });

  it('refuses plain http:// on the TLS port', async () => {
    const answer = await plainHttpGet(url);
    expect(answer).not.toMatch(/^status 2/);
    const viaCli = await local('--url', url.replace('https:', 'http:'), 'status');
    expect(viaCli.code).not.toBe(0);
  });

  it('refuses a client that trusts another CA, before sending its token', async () => {
    const other = await createFleetCa({ commonName: 'Some Other CA' });
    const token = (JSON.parse(readFileSync(join(dir, 'master', 'client.json'), 'utf8')) as { token: string }).token;
    const client = new FleetClient({ url, token, caCertPem: other.certPem, secureTransport: nodeSecureTransport, timeoutMs: 10_000 });
    await expect(client.status()).rejects.toMatchObject({ code: 'BIT_ERR_MASTER_UNREACHABLE' });
    const fleetCa = readFileSync(join(dir, 'master', 'tls', 'ca.pem'), 'utf8');
    const trusting = new FleetClient({ url, token, caCertPem: fleetCa, secureTransport: nodeSecureTransport, timeoutMs: 10_000 });
    await expect(trusting.status()).resolves.toHaveProperty('nodes');
  });

  it('streams events over wss:// trusting the fleet CA', async () => {
    const fleetCa = readFileSync(join(dir, 'master', 'tls', 'ca.pem'), 'utf8');
    const token = (JSON.parse(readFileSync(join(dir, 'master', 'client.json'), 'utf8')) as { token: string }).token;
    const client = new FleetClient({ url, token, caCertPem: fleetCa, secureTransport: nodeSecureTransport, timeoutMs: 10_000 });
    const frames: unknown[] = [];
    const stream = client.openEventStream({ after: 0 }, (frame) => frames.push(frame));
    await eventually(async () => frames.length, (n) => n > 0, "a frame", 20_000);
    stream.close();
  });

  it('lets an agent join through https:// with the pinned CA hash and run a task', async () => {
    const agent = await startJson([
      ...String(master.banner['join']).split(' ').slice(1), '--name', 'https-worker', '--json', '--data-dir', join(dir, 'agent'),
    ]);
    expect(agent.banner).toMatchObject({ nodeId: expect.stringMatching(/^nod_/) });
    await eventually(() => local('nodes', '--json'), (r) => r.code === 0 && (JSON.parse(r.stdout) as { name: string; status: string }[]).some((n) => n.name === 'https-worker' && n.status === 'ready'));
    const run = await local('run', '--wait', '--', 'echo', 'over-tls');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('over-tls\n');
    agent.child.kill('SIGINT');
  }, 90_000);

  it('stops an agent whose --ca-hash pins another CA (BIT_ERR_CA_MISMATCH), before it sends its token', async () => {
    const parts = String(master.banner['join']).split(' ').slice(1);
    const pin = parts.indexOf('--ca-hash');
    parts[pin + 1] = 'sha256:' + '0'.repeat(64);
    const res = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, ...parts, '--data-dir', join(dir, 'wrong-pin')], { env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('exit', (code) => resolve({ code, stderr }));
    });
    expect(res.code).toBe(3); // the master is not the one pinned: an authentication failure
    expect(res.stderr).toMatch(/BIT_ERR_CA_MISMATCH|does not match the pinned/);
  }, 60_000);
});

describe.skipIf(!existsSync(BIN))('bitacora up --http-cert/--http-key (built binary)', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-https-cert-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('presents the configured certificate, and a CLI trusting its CA works', async () => {
    const ca = await createFleetCa({ commonName: 'Throwaway Web CA' });
    const server = await issueServerCertificate(ca, { commonName: 'bitacora-web-test', hosts: ['127.0.0.1', 'localhost'], validityDays: 2 });
    writeFileSync(join(dir, 'web.pem'), server.certPem);
    writeFileSync(join(dir, 'web-key.pem'), server.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'web-ca.pem'), ca.certPem);
    const master = await startJson([
      'up', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--http-cert', join(dir, 'web.pem'), '--http-key', join(dir, 'web-key.pem'),
      '--json', '--data-dir', join(dir, 'master'),
    ]);
    try {
      const url = String(master.banner['url']);
      expect(url).toMatch(/^https:\/\//);
      const presented = await presentedCertificate(url);
      expect(presented.fingerprint256).toBe(new X509Certificate(server.certPem).fingerprint256);
      expect(presented.subject).toMatch(/bitacora-web-test/);
      const client = JSON.parse(readFileSync(join(dir, 'master', 'client.json'), 'utf8')) as Record<string, string>;
      expect(client['caFile']).toBeUndefined();
      const status = await bitacora(['--data-dir', join(dir, 'master'), '--ca-file', join(dir, 'web-ca.pem'), 'status', '--json']);
      expect(status.code, status.stderr).toBe(0);
    } finally {
      master.child.kill('SIGKILL');
    }
  }, 90_000);

  it('runs its local worker although the certificate names another host and an untrusted CA', async () => {
    const ca = await createFleetCa({ commonName: 'Throwaway Web CA 3' });
    const server = await issueServerCertificate(ca, { commonName: 'fleet.example', hosts: ['fleet.example'], validityDays: 2 });
    writeFileSync(join(dir, 'web3.pem'), server.certPem);
    writeFileSync(join(dir, 'web3-key.pem'), server.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'web3-ca.pem'), ca.certPem);
    const dataDir = join(dir, 'master-local');
    const master = await startJson([
      'up', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--http-cert', join(dir, 'web3.pem'), '--http-key', join(dir, 'web3-key.pem'),
      '--local-worker', '--json', '--data-dir', dataDir,
    ]);
    try {
      // The local worker takes its join info in-process and dials gRPC with the fleet CA; here the
      // API is read as a remote client would, trusting the web CA and naming the certificate's host.
      const url = new URL(String(master.banner['url']));
      const nodes = () =>
        new Promise<Array<{ name: string; status: string }>>((resolve, reject) => {
          const req = httpsRequest(
            { host: url.hostname, port: url.port, path: '/v1/nodes', servername: 'fleet.example', ca: ca.certPem, headers: { authorization: `Bearer ${String(master.banner['adminToken'])}` } },
            (res) => {
              let body = '';
              res.on('data', (d: Buffer) => (body += d.toString()));
              res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as Array<{ name: string; status: string }>) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
            },
          );
          req.on('error', reject);
          req.end();
        });
      const deadline = Date.now() + 30_000;
      let local: { name: string; status: string } | undefined;
      while (!(local?.status === 'ready') && Date.now() < deadline) {
        local = (await nodes()).find((n) => n.name.endsWith('-local'));
        if (local?.status !== 'ready') await new Promise((r) => setTimeout(r, 200));
      }
      expect(local, master.stderr()).toMatchObject({ status: 'ready' });
    } finally {
      master.child.kill('SIGKILL');
    }
  }, 90_000);

  it('refuses a key that is not the certificate\'s, naming the file (exit 2)', async () => {
    const ca = await createFleetCa({ commonName: 'Throwaway Web CA 2' });
    const a = await issueServerCertificate(ca, { commonName: 'a', hosts: ['127.0.0.1'], validityDays: 2 });
    const b = await issueServerCertificate(ca, { commonName: 'b', hosts: ['127.0.0.1'], validityDays: 2 });
    writeFileSync(join(dir, 'a.pem'), a.certPem);
    writeFileSync(join(dir, 'b-key.pem'), b.keyPem, { mode: 0o600 });
    const res = await bitacora(['up', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--http-cert', join(dir, 'a.pem'), '--http-key', join(dir, 'b-key.pem'), '--data-dir', join(dir, 'bad')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${join(dir, 'b-key.pem')} is not the key of the certificate ${join(dir, 'a.pem')}`);
    const half = await bitacora(['up', '--http-cert', join(dir, 'a.pem'), '--data-dir', join(dir, 'bad')]);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/--http-key is missing/);
  });
});
