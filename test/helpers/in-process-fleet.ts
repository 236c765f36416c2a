/**
 * A whole fleet inside the test process — real SQLite file, real fleet CA, real gRPC over
 * TLS on loopback, real API server, real agents running real processes — for tests that
 * need to reach into the coordinator (fake connections, exact timings). Multi-process
 * behaviour (SIGKILL, SIGSTOP, restarts) is tested with test/helpers/processes.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type AgentOptions } from '../../src/agent/index.js';
import { ProcessRunner } from '../../src/agent/runner/process-runner.js';
import { DirectoryWorkspaces } from '../../src/agent/runner/workspaces.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { grpcAgentEndpoint } from '../../src/bin/agent-endpoint.js';
import { Coordinator, type CoordinatorOptions, type CoordinatorSettings } from '../../src/coordinator/index.js';
import { PlacementScheduler } from '../../src/scheduler/index.js';
import { ensureFleetCa, generateSecret, hashSecret, secretsEqual } from '../../src/security/index.js';
import { openSqliteBackbone, type SqliteBackbone } from '../../src/store/sqlite/index.js';

export interface InProcessFleet {
  dir: string;
  backbone: SqliteBackbone;
  coordinator: Coordinator;
  api: ApiServer;
  caHash: string;
  caCertPem: string;
  /** Bearer token of user `admin` (role admin) for the REST API. */
  adminToken: string;
  agents: Agent[];
  addAgent(name: string, options?: Partial<AgentOptions> & { capacity?: number; specializations?: string[] }): Promise<Agent>;
  close(): Promise<void>;
}

const quiet = { info() {}, warn() {}, error() {} };

/** `extras.aclPolicy`: the coordinator's ACL policy (default DEFAULT_ACL_POLICY). */
export async function startInProcessFleet(settings: Partial<CoordinatorSettings> = {}, extras: Pick<CoordinatorOptions, 'aclPolicy'> = {}): Promise<InProcessFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'bitacora-fleet-'));
  const backbone = await openSqliteBackbone({ file: join(dir, 'master', 'fleet.db'), durability: 'normal' });
  const tls = await ensureFleetCa(join(dir, 'master'), { hosts: ['127.0.0.1'] });
  const coordinator = new Coordinator({
    backbone,
    scheduler: new PlacementScheduler(),
    secrets: { generateSecret: generateSecret as (p: string) => string, hashSecret, secretsEqual },
    settings: { heartbeatIntervalMs: 200, missedHeartbeats: 3, reconnectGraceMs: 500, selfFenceAfterMs: 3000, ...settings },
    agentEndpoint: grpcAgentEndpoint({ host: '127.0.0.1', port: 0, tls: { certPem: tls.serverCertPem, keyPem: tls.serverKeyPem, clientCaPem: tls.caCertPem } }),
    nodeCa: { ca: { certPem: tls.caCertPem, keyPem: tls.caKeyPem } },
    ...extras,
    identity: { caCertPem: tls.caCertPem, caHash: tls.caHash, httpUrl: '' },
    log: process.env['BITACORA_TEST_LOG'] ? { info: console.error, warn: console.error, error: console.error } : quiet,
  });
  await coordinator.start();
  const system = { kind: 'system', name: 'test' } as const;
  await coordinator.access.addUser({ name: 'admin', role: 'admin' }, system);
  const adminToken = (await coordinator.access.createApiToken({ user: 'admin' }, system)).token;
  const api = await startApiServer({ fleet: coordinator, host: '127.0.0.1', port: 0, access: coordinator.access });
  coordinator.setHttpUrl(api.url);
  const agents: Agent[] = [];
  const fleet: InProcessFleet = {
    dir, backbone, coordinator, api, caHash: tls.caHash, caCertPem: tls.caCertPem, adminToken, agents,
    async addAgent(name, options = {}) {
      const { capacity, specializations, ...rest } = options;
      const agentDir = join(dir, name);
      const agent = new Agent({
        masterUrl: api.url,
        dataDir: agentDir,
        token: (await coordinator.createJoinToken({ role: 'hybrid', createdBy: 'test' })).token,
        caHash: tls.caHash,
        node: { name, role: 'worker', capabilities: [], specializations: specializations ?? [], capacity: capacity ?? 4 },
        runner: new ProcessRunner(),
        workspaces: new DirectoryWorkspaces(join(agentDir, 'workspaces')),
        backoff: { initialMs: 50, maxMs: 500 },
        log: process.env['BITACORA_TEST_LOG'] ? { info: console.error, warn: console.error, error: console.error } : quiet,
        ...rest,
      });
      agents.push(agent);
      await agent.start();
      return agent;
    },
    async close() {
      await Promise.all(agents.map((a) => a.close()));
      await api.close();
      await coordinator.close();
      await backbone.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fleet;
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
