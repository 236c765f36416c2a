import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/index.js';
import { compileAgentConfig, mergeJoinFlags, nodeNameFromHostname, parseMasterUrl } from './agent.js';

const context = { env: {}, cwd: '/home/dev', hostname: 'Dev-Box.local', cpus: 6 };

describe('compileAgentConfig', () => {
  it('fills every default from the machine', () => {
    expect(compileAgentConfig({ masterUrl: 'http://10.0.0.5:7700' }, context)).toEqual({
      master: { host: '10.0.0.5', port: 7700, address: '10.0.0.5:7700', url: 'http://10.0.0.5:7700', secure: false },
      token: null,
      caHash: null,
      role: 'worker',
      name: 'dev-box',
      capabilities: [],
      specializations: [],
      capacity: 6,
      serve: { capabilities: null, projects: null },
      dataDir: '/home/dev/.bitacora',
      heartbeatIntervalMs: 1000,
      selfFenceAfterMs: 15_000,
      tasks: { outputLimitBytes: 1_048_576, killGraceMs: 2000 },
      reconnect: { initialDelayMs: 250, maxDelayMs: 10_000 },
    });
  });

  it('takes what `bitacora join` passes', () => {
    const hash = `sha256:${'AB'.repeat(32)}`;
    const config = compileAgentConfig(
      {
        masterUrl: 'https://[::1]:9000/',
        token: 'bjt_abc',
        caHash: hash,
        role: 'hybrid',
        name: 'worker-1',
        capabilities: 'linux, docker,linux',
        specializations: ['build'],
        capacity: '8',
        dataDir: '/var/lib/agent',
      },
      context,
    );
    expect(config).toMatchObject({
      master: { host: '::1', port: 9000, address: '[::1]:9000', url: 'https://[::1]:9000', secure: true },
      token: 'bjt_abc',
      caHash: hash.toLowerCase(),
      role: 'hybrid',
      name: 'worker-1',
      capabilities: ['linux', 'docker'],
      specializations: ['build'],
      capacity: 8,
      dataDir: '/var/lib/agent',
    });
    expect(Object.isFrozen(config.capabilities)).toBe(true);
  });

  it('names every bad option by its path', () => {
    try {
      compileAgentConfig({ masterUrl: 'ftp://x', caHash: 'sha256:12', role: 'master' as never, capabilities: 'Linux', capacity: 0, name: '../x' }, context);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect([...new Set((err as ValidationError).issues.map((i) => i.path))].sort()).toEqual(['caHash', 'capabilities[0]', 'capacity', 'masterUrl', 'name', 'role']);
    }
  });

  it('reads the allow-lists of what the node serves', () => {
    const config = compileAgentConfig({ masterUrl: 'h:1', capabilities: 'linux,docker', serveOnly: 'docker', serveProjects: 'web, api,web' }, context);
    expect(config.serve).toEqual({ capabilities: ['docker'], projects: ['web', 'api'] });
    expect(config.capabilities).toEqual(['linux', 'docker']);
  });

  it('refuses a serveOnly capability the node does not have, and unsafe project names', () => {
    try {
      compileAgentConfig({ masterUrl: 'h:1', capabilities: ['linux'], serveOnly: ['linux', 'gpu'], serveProjects: ['../etc'] }, context);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      const issues = (err as ValidationError).issues;
      expect(issues.find((i) => i.path === 'serveOnly[1]')?.message).toContain("'gpu' is not among the node's capabilities");
      expect(issues.some((i) => i.path.startsWith('serveProjects'))).toBe(true);
    }
  });

  it('requires the master URL', () => {
    expect(() => compileAgentConfig({} as never, context)).toThrow(/masterUrl/);
  });
});

describe('parseMasterUrl', () => {
  it('reads http(s) URLs and bare host:port, with the master port by default', () => {
    expect(parseMasterUrl('fleet.lan:7700')).toMatchObject({ url: 'http://fleet.lan:7700', port: 7700 });
    expect(parseMasterUrl('http://fleet.lan')).toMatchObject({ url: 'http://fleet.lan:7700', port: 7700 });
    expect(parseMasterUrl('http://fleet.lan:80')).toMatchObject({ url: 'http://fleet.lan:80', port: 80 });
  });

  it('explains what is wrong', () => {
    expect(parseMasterUrl('grpc://x:1')).toContain('http:// or https://');
    expect(parseMasterUrl('http://u:p@x:1')).toContain('credentials');
    expect(parseMasterUrl('http://x:1/api')).toContain('without a path');
    expect(parseMasterUrl('not a url')).toContain('is not a URL');
  });
});

describe('nodeNameFromHostname', () => {
  it('makes a slug of the host name', () => {
    expect(nodeNameFromHostname('Dev-Box.local')).toBe('dev-box');
    expect(nodeNameFromHostname('MY LAPTOP (2)')).toBe('my-laptop-2');
    expect(nodeNameFromHostname('---')).toBe('node');
    expect(nodeNameFromHostname('x'.repeat(100))).toHaveLength(64);
  });
});

describe('the machine fingerprint and remembered join flags', () => {
  it('advertises detected capabilities beside the typed ones, which --serve-only may name, unless fingerprinting is off', () => {
    const base = { masterUrl: 'http://m:7700', capabilities: ['gpu'], detectedCapabilities: ['os:linux', 'arch:x64', 'git'] };
    expect(compileAgentConfig(base, context).capabilities).toEqual(['gpu', 'os:linux', 'arch:x64', 'git']);
    expect(compileAgentConfig({ ...base, serveOnly: ['os:linux'] }, context).serve.capabilities).toEqual(['os:linux']);
    expect(compileAgentConfig({ ...base, fingerprint: false }, context).capabilities).toEqual(['gpu']);
    expect(() => compileAgentConfig({ ...base, fingerprint: false, serveOnly: ['git'] }, context)).toThrow(/serveOnly\[0\].*'git' is not among/s);
  });

  it('puts the flags given now over the saved ones, field by field', () => {
    const saved = { name: 'w1', capabilities: ['gpu'], capacity: 2, serveProjects: ['web'] };
    expect(mergeJoinFlags(saved, {})).toEqual(saved);
    expect(mergeJoinFlags(saved, { capacity: 4, capabilities: undefined })).toEqual({ ...saved, capacity: 4 });
    expect(mergeJoinFlags(null, { role: 'hybrid' })).toEqual({ role: 'hybrid' });
  });
});
