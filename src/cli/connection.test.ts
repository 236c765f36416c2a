import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/index.js';
import { createFleetCa } from '../security/index.js';
import { normalizeUrl, resolveConnection } from './connection.js';

const file = (content: object | string | null) => () => (content === null ? null : typeof content === 'string' ? content : JSON.stringify(content));

describe('resolveConnection', () => {
  it('takes each of URL and token from flags, then the environment, then client.json', () => {
    const readFile = file({ url: 'http://file:1', token: 'file-token' });
    const dataDir = () => '/d';
    expect(resolveConnection({ flags: {}, env: {}, dataDir, readFile })).toEqual({
      url: 'http://file:1', token: 'file-token', source: { url: '/d/client.json', token: '/d/client.json' },
    });
    expect(resolveConnection({ flags: {}, env: { BITACORA_TOKEN: 'env-token' }, dataDir, readFile })).toMatchObject({ url: 'http://file:1', token: 'env-token' });
    expect(resolveConnection({ flags: { url: 'flag:2' }, env: { BITACORA_URL: 'http://env:3' }, dataDir, readFile })).toMatchObject({
      url: 'http://flag:2', source: { url: '--url' },
    });
  });

  it('does not read the data directory when flags or variables name everything', () => {
    const dataDir = () => {
      throw new Error('not needed');
    };
    expect(resolveConnection({ flags: {}, env: { BITACORA_URL: 'https://m', BITACORA_TOKEN: 't' }, dataDir })).toMatchObject({ url: 'https://m' });
  });

  it('explains what is missing and how to fix it', () => {
    const none = () => resolveConnection({ flags: {}, env: {}, dataDir: () => '/d', readFile: file(null) });
    expect(none).toThrow(/no master to talk to: start a master here with `bitacora up` \(it writes \/d\/client\.json\), or pass --url and --token/);
    expect(() => resolveConnection({ flags: { url: 'http://m' }, env: {}, dataDir: () => '/d', readFile: file(null) })).toThrow(/^no API token/);
    expect(() => resolveConnection({ flags: {}, env: {}, dataDir: () => '/d', readFile: file({ url: 'http://m' }) })).toThrow(/client\.json is malformed \(token: /);
    try {
      none();
    } catch (err) {
      expect(err).toMatchObject({ code: ErrorCode.Validation });
    }
  });
});

describe('resolveConnection: the CA of an https:// master', () => {
  // A real certificate, as the file would hold (the CLI checks it parses).
  let caPem = '';
  beforeAll(async () => {
    caPem = (await createFleetCa({ commonName: 'Connection Test CA' })).certPem;
  });
  const files = (map: Record<string, string>) => (path: string) => map[path] ?? null;

  it('takes the CA from --ca-file, then BITACORA_CA_FILE, then client.json (with the transport that enforces it)', () => {
    const readFile = files({ '/d/client.json': JSON.stringify({ url: 'https://m:1', token: 't', caFile: '/d/tls/ca.pem' }), '/d/tls/ca.pem': caPem, '/etc/flag-ca.pem': caPem, '/env/ca.pem': caPem });
    const dataDir = () => '/d';
    const fromFile = resolveConnection({ flags: {}, env: {}, dataDir, readFile });
    expect(fromFile).toMatchObject({ url: 'https://m:1', caCertPem: caPem, source: { ca: '/d/client.json' } });
    expect(fromFile.secureTransport).toBeTypeOf('function');
    expect(resolveConnection({ flags: {}, env: { BITACORA_CA_FILE: '/env/ca.pem' }, dataDir, readFile }).source.ca).toBe('BITACORA_CA_FILE');
    expect(resolveConnection({ flags: { caFile: '/etc/flag-ca.pem' }, env: { BITACORA_CA_FILE: '/env/ca.pem' }, dataDir, readFile }).source.ca).toBe('--ca-file');
    expect(resolveConnection({ flags: { caFile: 'flag-ca.pem' }, cwd: '/etc', env: {}, dataDir, readFile }).caCertPem).toBe(caPem);
  });

  it("ignores client.json's CA when the URL names another master", () => {
    const readFile = files({ '/d/client.json': JSON.stringify({ url: 'https://m:1', token: 't', caFile: '/d/tls/ca.pem' }), '/d/tls/ca.pem': caPem });
    const other = resolveConnection({ flags: { url: 'https://other:2' }, env: {}, dataDir: () => '/d', readFile });
    expect(other.caCertPem).toBeUndefined();
    expect(other.token).toBe('t');
  });

  it('refuses a CA with an http:// URL, a missing file and a file that is no certificate, naming where each came from', () => {
    const readFile = files({ '/x/notes.txt': 'hello' });
    const base = { env: {}, dataDir: () => '/d', readFile };
    expect(() => resolveConnection({ ...base, flags: { url: 'http://m:1', token: 't', caFile: '/x/notes.txt' } })).toThrow(/--ca-file names a CA but the master URL http:\/\/m:1 \(from --url\) is not https:\/\//);
    expect(() => resolveConnection({ ...base, flags: { url: 'https://m:1', token: 't', caFile: '/x/none.pem' } })).toThrow(/--ca-file: the CA file \/x\/none\.pem does not exist/);
    expect(() => resolveConnection({ ...base, env: { BITACORA_CA_FILE: '/x/notes.txt' }, flags: { url: 'https://m:1', token: 't' } })).toThrow(/BITACORA_CA_FILE: \/x\/notes\.txt is not a PEM certificate/);
  });
});

describe('normalizeUrl', () => {
  it('adds http:// to host:port and refuses other schemes', () => {
    expect(normalizeUrl('127.0.0.1:7700', '--url')).toBe('http://127.0.0.1:7700');
    expect(normalizeUrl('https://fleet.example/api/', '--url')).toBe('https://fleet.example/api');
    expect(() => normalizeUrl('ftp://x', '--url')).toThrow(/must be an http:\/\/ or https:\/\/ URL/);
    expect(() => normalizeUrl('http://', 'BITACORA_URL')).toThrow(/BITACORA_URL: 'http:\/\/' is not a URL/);
  });
});
