import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../core/index.js';
import { createCsr, createFleetCa, isIssuedBy, issueNodeCertificate, issueServerCertificate, subjectAltNames, type FleetCa } from './ca.js';
import { CertificateError } from './errors.js';
import { nodeIdentityFromSubjectAltName } from './identity.js';
import { generateKeyPair } from './keys.js';

interface Handshake {
  authorized: boolean;
  error?: string;
  /** What the server saw of the client certificate. */
  peerSan?: string;
}

const servers: tls.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A real TLS server on loopback; resolves its port. */
async function listen(options: tls.TlsOptions, host = '127.0.0.1'): Promise<{ port: number; peers: Array<string | undefined> }> {
  const peers: Array<string | undefined> = [];
  const server = tls.createServer(options, (socket) => {
    peers.push(socket.getPeerCertificate().subjectaltname);
    socket.end('hello');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { port: (server.address() as AddressInfo).port, peers };
}

/**
 * Connects and waits for the server's greeting. With TLS 1.3 the client finishes its side of
 * the handshake before the server judges the client certificate, so a refused client sees an
 * alert or a bare close instead of the greeting: both count as not authorized.
 */
function connect(options: tls.ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    let greeted = false;
    let error: string | undefined;
    const socket = tls.connect(options, () => {
      socket.once('data', () => {
        greeted = true;
        socket.end();
      });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.once('close', () => {
      resolve(greeted ? { authorized: socket.authorized } : { authorized: false, error: error ?? 'closed without greeting' });
    });
  });
}

describe('fleet CA', () => {
  let ca: FleetCa;
  let foreign: FleetCa;
  beforeAll(async () => {
    [ca, foreign] = await Promise.all([createFleetCa({ commonName: 'Test Fleet CA', validityDays: 30 }), createFleetCa({ commonName: 'Foreign CA' })]);
  });

  it('is a self-signed P-256 CA certificate', () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toContain('CN=Test Fleet CA');
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('issues a server certificate that a client trusting only the CA accepts over TLS', async () => {
    const server = await issueServerCertificate(ca, { commonName: 'master', hosts: ['127.0.0.1', '::1', 'localhost'] });
    const { port } = await listen({ cert: server.certPem, key: server.keyPem });
    expect(await connect({ host: '127.0.0.1', port, ca: ca.certPem })).toEqual({ authorized: true });
    expect(await connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.certPem, checkServerIdentity: (h, c) => tls.checkServerIdentity('localhost', c) })).toEqual({ authorized: true });
  });

  it('serves IPv6 loopback with a bracket-free IP SAN', async () => {
    const server = await issueServerCertificate(ca, { commonName: 'master', hosts: ['[::1]'] });
    const { port } = await listen({ cert: server.certPem, key: server.keyPem }, '::1');
    expect(await connect({ host: '::1', port, ca: ca.certPem })).toEqual({ authorized: true });
  });

  it('fails verification of a certificate from a foreign CA', async () => {
    const impostor = await issueServerCertificate(foreign, { commonName: 'master', hosts: ['127.0.0.1'] });
    const { port } = await listen({ cert: impostor.certPem, key: impostor.keyPem });
    const result = await connect({ host: '127.0.0.1', port, ca: ca.certPem });
    expect(result.authorized).toBe(false);
    expect(result.error).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
    expect(isIssuedBy(impostor.certPem, ca.certPem)).toBe(false);
  });

  it('refuses a host name the certificate does not cover', async () => {
    const server = await issueServerCertificate(ca, { commonName: 'master', hosts: ['10.1.2.3'] });
    const { port } = await listen({ cert: server.certPem, key: server.keyPem });
    expect((await connect({ host: '127.0.0.1', port, ca: ca.certPem })).error).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('issues a node certificate from a CSR that works for mutual TLS and names the node', async () => {
    const server = await issueServerCertificate(ca, { commonName: 'master', hosts: ['127.0.0.1'] });
    const node = await generateKeyPair();
    const csr = await createCsr(node.keys, { commonName: 'worker-1 (asks to be master)' });
    const issued = await issueNodeCertificate(ca, csr, { nodeId: 'nod_0123abc', role: 'worker', validityDays: 7 });
    expect(issued.identity).toEqual({ nodeId: 'nod_0123abc', role: 'worker' });
    expect(issued.notAfter.getTime() - issued.notBefore.getTime()).toBe(7 * 86_400_000 + 5 * 60_000);
    const cert = new X509Certificate(issued.certPem);
    expect(cert.subject).toContain('CN=nod_0123abc');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth only: a worker cannot serve as master

    const { port, peers } = await listen({ cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true });
    expect(await connect({ host: '127.0.0.1', port, ca: ca.certPem, cert: issued.certPem, key: node.keyPem })).toEqual({ authorized: true });
    expect(nodeIdentityFromSubjectAltName(peers[0])).toEqual({ nodeId: 'nod_0123abc', role: 'worker' });
  });

  it('makes a mutual-TLS server refuse a client certificate from a foreign CA', async () => {
    const server = await issueServerCertificate(ca, { commonName: 'master', hosts: ['127.0.0.1'] });
    const node = await generateKeyPair();
    const foreignCert = await issueNodeCertificate(foreign, await createCsr(node.keys, { commonName: 'x' }), { nodeId: 'nod_evil', role: 'master' });
    const { port, peers } = await listen({ cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true });
    const result = await connect({ host: '127.0.0.1', port, ca: ca.certPem, cert: foreignCert.certPem, key: node.keyPem });
    expect(result.authorized).toBe(false);
    expect(peers).toEqual([]);
  });

  it('gives hybrids and masters serverAuth as well', async () => {
    const node = await generateKeyPair();
    const issued = await issueNodeCertificate(ca, await createCsr(node.keys, { commonName: 'h' }), { nodeId: 'nod_h', role: 'hybrid' });
    expect(new X509Certificate(issued.certPem).keyUsage?.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  });

  it('refuses a tampered or malformed CSR', async () => {
    const node = await generateKeyPair();
    const csr = await createCsr(node.keys, { commonName: 'x' });
    await expect(issueNodeCertificate(ca, 'not a csr', { nodeId: 'nod_x', role: 'worker' })).rejects.toThrow(CertificateError);
    // Flip one byte inside the signature (the end of the DER).
    const der = Buffer.from(csr.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    der[der.length - 3] = (der[der.length - 3] as number) ^ 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(issueNodeCertificate(ca, tampered, { nodeId: 'nod_x', role: 'worker' })).rejects.toThrow(CertificateError);
  });

  it('refuses node ids that could smuggle another identity into the URI', async () => {
    const node = await generateKeyPair();
    const csr = await createCsr(node.keys, { commonName: 'x' });
    await expect(issueNodeCertificate(ca, csr, { nodeId: 'a?role=master', role: 'worker' })).rejects.toThrow(ValidationError);
  });

  it('refuses a key that does not belong to the CA certificate', async () => {
    await expect(issueServerCertificate({ certPem: ca.certPem, keyPem: foreign.keyPem }, { commonName: 'm', hosts: ['localhost'] })).rejects.toThrow(
      /does not belong/,
    );
  });
});

describe('subjectAltNames', () => {
  it('sorts hosts into IP and DNS entries, without brackets or duplicates', () => {
    expect(subjectAltNames(['127.0.0.1', '[::1]', 'LocalHost', 'localhost', 'fleet.example.com'])).toEqual([
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
      { type: 'dns', value: 'localhost' },
      { type: 'dns', value: 'fleet.example.com' },
    ]);
  });

  it('names every host that is neither', () => {
    expect(() => subjectAltNames(['ok.example', 'bad host', '-x.example'])).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ path: 'hosts[1]' }), expect.objectContaining({ path: 'hosts[2]' })] }),
    );
  });
});
