import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/index.js';
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

describe('normalizeUrl', () => {
  it('adds http:// to host:port and refuses other schemes', () => {
    expect(normalizeUrl('127.0.0.1:7700', '--url')).toBe('http://127.0.0.1:7700');
    expect(normalizeUrl('https://fleet.example/api/', '--url')).toBe('https://fleet.example/api');
    expect(() => normalizeUrl('ftp://x', '--url')).toThrow(/must be an http:\/\/ or https:\/\/ URL/);
    expect(() => normalizeUrl('http://', 'BITACORA_URL')).toThrow(/BITACORA_URL: 'http:\/\/' is not a URL/);
  });
});
