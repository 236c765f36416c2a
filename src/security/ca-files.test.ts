import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { createFleetCa } from './ca.js';
import { ensureFleetCa, loadFleetCa, reachableHostsFor } from './ca-files.js';
import { CertificateError } from './errors.js';
import { caFingerprint } from './fingerprint.js';

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bitacora-ca-files-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

describe('ensureFleetCa', () => {
  it('creates the CA and the server certificate with private keys readable by the owner only', async () => {
    const dir = dataDir();
    const tls = await ensureFleetCa(dir, { hosts: ['fleet.example.com'] });
    expect(tls.created).toEqual({ ca: true, serverCertificate: true });
    expect(tls.caHash).toBe(caFingerprint(tls.caCertPem));
    for (const file of ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem']) expect(existsSync(join(dir, 'tls', file))).toBe(true);
    expect(mode(join(dir, 'tls', 'ca-key.pem'))).toBe(0o600);
    expect(mode(join(dir, 'tls', 'server-key.pem'))).toBe(0o600);
    expect(mode(join(dir, 'tls'))).toBe(0o700);
    expect(readFileSync(join(dir, 'tls', 'ca.pem'), 'utf8')).toBe(tls.caCertPem);
  });

  it('always covers 127.0.0.1, ::1 and localhost besides the requested hosts', async () => {
    const tls = await ensureFleetCa(dataDir(), { hosts: ['[fd00::7]', '0.0.0.0', 'fleet.example.com'] });
    const cert = new X509Certificate(tls.serverCertPem);
    for (const ip of ['127.0.0.1', '::1', 'fd00::7']) expect(cert.checkIP(ip)).toBe(ip);
    for (const host of ['localhost', 'fleet.example.com']) expect(cert.checkHost(host)).toBe(host);
    expect(cert.checkIP('0.0.0.0')).toBeUndefined();
  });

  it('serves TLS that a client trusting only the CA file accepts, after a rerun too', async () => {
    const dir = dataDir();
    await ensureFleetCa(dir, { hosts: [] });
    const material = await ensureFleetCa(dir, { hosts: [] });
    const server = tls.createServer({ cert: material.serverCertPem, key: material.serverKeyPem }, (socket) => socket.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const caFile = readFileSync(join(dir, 'tls', 'ca.pem'), 'utf8');
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca: caFile }, () => {
          socket.once('data', (data) => resolve(`${socket.authorized}:${String(data)}`));
        });
        socket.once('error', reject);
      });
      expect(reply).toBe('true:ok');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('reuses everything on a rerun: the CA fingerprint is stable', async () => {
    const dir = dataDir();
    const first = await ensureFleetCa(dir, { hosts: ['127.0.0.1'] });
    const second = await ensureFleetCa(dir, { hosts: ['localhost'] });
    expect(second.created).toEqual({ ca: false, serverCertificate: false });
    expect(second.caHash).toBe(first.caHash);
    expect(second.serverCertPem).toBe(first.serverCertPem);
    expect(loadFleetCa(dir)?.caHash).toBe(first.caHash);
  });

  it('reissues only the server certificate when a new host must be covered', async () => {
    const dir = dataDir();
    const first = await ensureFleetCa(dir, { hosts: [] });
    const second = await ensureFleetCa(dir, { hosts: ['192.168.7.20'] });
    expect(second.created).toEqual({ ca: false, serverCertificate: true });
    expect(second.caHash).toBe(first.caHash);
    expect(new X509Certificate(second.serverCertPem).checkIP('192.168.7.20')).toBe('192.168.7.20');
    expect(readFileSync(join(dir, 'tls', 'server.pem'), 'utf8')).toBe(second.serverCertPem);
  });

  it('reissues a server certificate close to expiry or no longer matching its key', async () => {
    const dir = dataDir();
    const first = await ensureFleetCa(dir, { hosts: [], serverValidityDays: 30 });
    const renewed = await ensureFleetCa(dir, { hosts: [] });
    expect(renewed.created.serverCertificate).toBe(true);
    writeFileSync(join(dir, 'tls', 'server-key.pem'), (await createFleetCa()).keyPem);
    const rekeyed = await ensureFleetCa(dir, { hosts: [] });
    expect(rekeyed.created.serverCertificate).toBe(true);
    expect(rekeyed.caHash).toBe(first.caHash);
  });

  it('tightens a private key file someone made readable', async () => {
    const dir = dataDir();
    await ensureFleetCa(dir, { hosts: [] });
    chmodSync(join(dir, 'tls', 'ca-key.pem'), 0o644);
    await ensureFleetCa(dir, { hosts: [] });
    expect(mode(join(dir, 'tls', 'ca-key.pem'))).toBe(0o600);
  });

  it('never replaces a CA whose key is missing or does not match; it says what to do', async () => {
    const dir = dataDir();
    await ensureFleetCa(dir, { hosts: [] });
    writeFileSync(join(dir, 'tls', 'ca-key.pem'), (await createFleetCa()).keyPem);
    await expect(ensureFleetCa(dir, { hosts: [] })).rejects.toThrow(CertificateError);
    unlinkSync(join(dir, 'tls', 'ca-key.pem'));
    await expect(ensureFleetCa(dir, { hosts: [] })).rejects.toThrow(/remove .*ca\.pem to create a new fleet CA/);
  });

  it('replaces a key left without certificate by an interrupted first start', async () => {
    const dir = dataDir();
    await ensureFleetCa(dir, { hosts: [] });
    unlinkSync(join(dir, 'tls', 'ca.pem'));
    const tls = await ensureFleetCa(dir, { hosts: [] });
    expect(tls.created).toEqual({ ca: true, serverCertificate: true });
  });
});

describe('reachableHostsFor', () => {
  it('is the bind address itself unless it binds everything', () => {
    expect(reachableHostsFor('10.0.0.5')).toEqual(['10.0.0.5']);
    expect(reachableHostsFor('[::1]')).toEqual(['::1']);
    const all = reachableHostsFor('0.0.0.0');
    expect(all).toContain('127.0.0.1');
    expect(all.length).toBeGreaterThan(1);
  });
});
