import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/index.js';
import { compileMasterConfig } from './master.js';

const context = { env: {}, cwd: '/srv/fleet' };

function issuesOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

describe('compileMasterConfig', () => {
  it('fills every default', () => {
    expect(compileMasterConfig({}, context)).toEqual({
      dataDir: '/srv/fleet/.bitacora',
      http: { host: '127.0.0.1', port: 7700, address: '127.0.0.1:7700', tls: { mode: 'off' } },
      grpc: { host: '127.0.0.1', port: 7701, address: '127.0.0.1:7701' },
      localWorker: false,
      heartbeat: { intervalMs: 1000, missedBeforeDown: 3, reconnectGraceMs: 2000, downAfterMs: 3000 },
      agent: { selfFenceAfterMs: 15_000 },
      tasks: { maxRetries: 3, timeoutMs: null, outputLimitBytes: 1_048_576, killGraceMs: 2000 },
      sparks: { concurrency: 4 },
      approvals: { expiryMs: 3_600_000, consultOnMedium: false },
      security: { joinTokenTtlMs: 3_600_000, nodeCertValidityDays: 7, aclPolicyFile: '/srv/fleet/.bitacora/acl.yaml' },
    });
    expect(compileMasterConfig(undefined, context).http.port).toBe(7700);
  });

  it('is frozen all the way down', () => {
    const config = compileMasterConfig({}, context);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.heartbeat)).toBe(true);
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('accepts values as flags and environment write them', () => {
    const config = compileMasterConfig(
      {
        dataDir: 'state',
        http: '0.0.0.0:8080',
        grpc: '[::1]:8081',
        localWorker: 'yes',
        heartbeatInterval: '500ms',
        missedHeartbeats: '5',
        reconnectGrace: 0,
        selfFenceAfter: '1m',
        taskMaxRetries: '0',
        taskTimeout: '30s',
        sparkConcurrency: 16,
        approvalExpiry: '2h',
        consultOnMedium: true,
        outputLimit: '512KiB',
        killGrace: '5s',
        joinTokenTtl: '15m',
        nodeCertValidityDays: 2,
        aclPolicyFile: 'policy/acl.yaml',
      },
      { env: { BITACORA_DATA_DIR: '/ignored' }, cwd: '/srv/fleet' },
    );
    expect(config).toMatchObject({
      dataDir: '/srv/fleet/state',
      http: { host: '0.0.0.0', port: 8080 },
      grpc: { host: '::1', port: 8081, address: '[::1]:8081' },
      localWorker: true,
      heartbeat: { intervalMs: 500, missedBeforeDown: 5, reconnectGraceMs: 0, downAfterMs: 2500 },
      agent: { selfFenceAfterMs: 60_000 },
      tasks: { maxRetries: 0, timeoutMs: 30_000, outputLimitBytes: 524_288, killGraceMs: 5000 },
      sparks: { concurrency: 16 },
      approvals: { expiryMs: 7_200_000, consultOnMedium: true },
      security: { joinTokenTtlMs: 900_000, nodeCertValidityDays: 2, aclPolicyFile: '/srv/fleet/policy/acl.yaml' },
    });
    expect(compileMasterConfig({ taskTimeout: 'none' }, context).tasks.timeoutMs).toBeNull();
  });

  it('reads the data directory from BITACORA_DATA_DIR when no flag is given', () => {
    expect(compileMasterConfig({}, { env: { BITACORA_DATA_DIR: '/data' }, cwd: '/srv' }).dataDir).toBe('/data');
  });

  it('names every bad option by its path', () => {
    const issues = issuesOf(() =>
      compileMasterConfig({ http: 'localhost', heartbeatInterval: '15', missedHeartbeats: 0, outputLimit: 'lots', localWorker: 'maybe' }, context),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(['heartbeatInterval', 'http', 'localWorker', 'missedHeartbeats', 'outputLimit']);
    expect(issues.find((i) => i.path === 'heartbeatInterval')?.message).toContain('add a unit, e.g. 15ms or 15s');
    expect(issues.find((i) => i.path === 'http')?.message).toContain('missing :port');
  });

  it('refuses unknown options (typos)', () => {
    expect(issuesOf(() => compileMasterConfig({ heartbeatIntervall: '1s' } as never, context))[0]?.message).toMatch(/heartbeatIntervall/);
  });

  it('refuses a self-fence time shorter than failure detection, and one address for both endpoints', () => {
    const issues = issuesOf(() => compileMasterConfig({ selfFenceAfter: '4s', http: '127.0.0.1:9000', grpc: '127.0.0.1:9000' }, context));
    expect(issues.map((i) => i.path).sort()).toEqual(['grpc', 'selfFenceAfter']);
    expect(issues.find((i) => i.path === 'selfFenceAfter')?.message).toContain('5000 ms');
  });

  it('takes an absolute ACL policy file as is and refuses one with control characters', () => {
    expect(compileMasterConfig({ aclPolicyFile: '/etc/bitacora/acl.json' }, context).security.aclPolicyFile).toBe('/etc/bitacora/acl.json');
    const issues = issuesOf(() => compileMasterConfig({ aclPolicyFile: 'acl\n.yaml' }, context));
    expect(issues.map((i) => i.path)).toEqual(['aclPolicyFile']);
  });

  it('serves the HTTP side with TLS from the fleet CA or configured files (resolved against the working directory)', () => {
    expect(compileMasterConfig({ httpTls: 'fleet-ca' }, context).http.tls).toEqual({ mode: 'fleet-ca' });
    expect(compileMasterConfig({ httpTls: 'off' }, context).http.tls).toEqual({ mode: 'off' });
    expect(compileMasterConfig({ httpTls: { certFile: 'tls/web.pem', keyFile: '/etc/web-key.pem' } }, context).http.tls).toEqual({
      mode: 'files', certFile: '/srv/fleet/tls/web.pem', keyFile: '/etc/web-key.pem',
    });
  });

  it('refuses an unknown TLS mode or a certificate without its key, naming the option', () => {
    expect(issuesOf(() => compileMasterConfig({ httpTls: 'on' as never }, context)).map((i) => i.path)).toEqual(['httpTls']);
    expect(issuesOf(() => compileMasterConfig({ httpTls: { certFile: 'a.pem' } as never }, context))[0]?.path).toMatch(/^httpTls/);
    expect(issuesOf(() => compileMasterConfig({ httpTls: { certFile: '', keyFile: 'k.pem' } }, context))[0]?.path).toBe('httpTls.certFile');
  });
});
