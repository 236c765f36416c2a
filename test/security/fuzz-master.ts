/**
 * A real master for the boundary fuzz suites, started through the composition root
 * (`startMaster`, what `bitacora up` runs) in this process: temp data dir, free ports on
 * loopback, no local worker. In-process so the tests can read its store directly (the
 * "nothing changed" checks) and so a crash of the master is a crash of the test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent } from '../../src/bin/agent-main.js';
import { startMaster, type LocalMaster } from '../../src/bin/master.js';
import type { RawAgentMaster } from '../helpers/faults/raw-agent.js';

const quiet = { info() {}, warn() {}, error() {} };
const log = process.env['BITACORA_TEST_LOG'] ? { info: console.error, warn: console.error, error: console.error } : quiet;

export interface FuzzMaster {
  dir: string;
  master: LocalMaster;
  /** The API base URL (`http://127.0.0.1:PORT`). */
  url: string;
  token: string;
  /** Set when the master stopped on its own (it must not). */
  stoppedEarly: () => boolean;
  /** RawAgent's view of this master. */
  raw: RawAgentMaster;
  /** A JSON request with the admin token. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Starts a real agent (the `bitacora join` runtime) and waits until it is ready. */
  joinRealAgent(name: string): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}

export async function startFuzzMaster(prefix: string): Promise<FuzzMaster> {
  const dir = mkdtempSync(join(tmpdir(), `bitacora-${prefix}-`));
  const master = await startMaster(
    { dataDir: join(dir, 'master'), http: '127.0.0.1:0', grpc: '127.0.0.1:0', localWorker: false },
    // Generous liveness: the fuzzers' hand-driven agents heartbeat slowly on a busy machine.
    { log, durability: 'normal', settings: { heartbeatIntervalMs: 500, missedHeartbeats: 20, reconnectGraceMs: 2_000 } },
  );
  let stopped = false;
  void master.closed.then(() => (stopped = true));
  const url = master.httpUrl.replace('//0.0.0.0:', '//127.0.0.1:');
  const agents: { close(): Promise<void> }[] = [];
  const fm: FuzzMaster = {
    dir, master, url, token: master.adminToken,
    stoppedEarly: () => stopped,
    raw: {
      info: { httpUrl: url, grpcAddress: master.grpcAddress },
      createToken: async (role) => master.coordinator.createJoinToken({ role, createdBy: 'fuzz' }),
    },
    async api(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${master.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(20_000),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed };
    },
    async joinRealAgent(name) {
      const agent = await startAgent({
        masterUrl: url,
        token: (await master.coordinator.createJoinToken({ role: 'worker', createdBy: 'fuzz' })).token,
        caHash: master.caHash,
        role: 'worker',
        name,
        capabilities: [],
        specializations: [],
        capacity: 2,
        dataDir: join(dir, name),
      });
      agents.push(agent);
      return agent;
    },
    async close() {
      for (const a of agents) await a.close().catch(() => {});
      await master.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fm;
}

/** Polls until `probe` is truthy (or throws after `timeoutMs`). */
export { waitFor } from '../helpers/in-process-fleet.js';
