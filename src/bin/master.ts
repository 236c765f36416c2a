/**
 * Composition root of a master: SQLite backbone, fleet CA, Coordinator (gRPC endpoint for
 * agents), REST/WebSocket API with the admin token, and optionally an in-process hybrid
 * agent. `startMaster` is what `bitacora up` calls; signal handling stays with the CLI.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer } from '../api/server.js';
import { dashboardLoginUrl } from '../client/index.js';
import type { MasterHandle, MasterStartOptions } from '../cli/context.js';
import { compileMasterConfig, nodeNameFromHostname, processContext } from '../config/index.js';
import { Coordinator, type AccessControl, type CoordinatorSettings, type FleetService, type Logger, type SystemActor } from '../coordinator/index.js';
import { loadAgentState } from '../agent/index.js';
import { PlacementScheduler } from '../scheduler/index.js';
import { auditTrustFor, ensureFleetCa, generateSecret, hashSecret, reachableHostsFor, secretsEqual, writeFileDurably, type FleetTlsMaterial } from '../security/index.js';
import { ValidationError } from '../core/index.js';
import type { HttpTlsConfig } from '../config/index.js';
import { openSqliteBackbone } from '../store/sqlite/index.js';
import type { Backbone } from '../store/backbone.js';
import { startAgent } from './agent-main.js';
import { grpcAgentEndpoint } from './agent-endpoint.js';
import { stderrLogger } from './support.js';

export const CLIENT_FILE = 'client.json';
export const ADMIN_KEY = 'auth/admin';
export const LOCAL_AGENT_DIR = 'local-agent';
export const DASHBOARD_SESSIONS_FILE = 'dashboard-sessions.json';

/** What tests and embedders get beyond MasterHandle: the running service itself. */
export interface LocalMaster extends MasterHandle {
  fleet: FleetService;
  coordinator: Coordinator;
  backbone: Backbone;
}

export interface MasterExtras {
  /** Coordinator timing overrides (tests, benchmarks). Default: DEFAULT_SETTINGS. */
  settings?: Partial<CoordinatorSettings>;
  /** Store durability; 'normal' is for benchmarks only. Default 'full'. */
  durability?: 'full' | 'normal';
  /** Time between audit checkpoints while the trail grows. Default 5 s. */
  auditCheckpointIntervalMs?: number;
  log?: Logger;
}

export async function startMaster(options: MasterStartOptions, extras: MasterExtras = {}): Promise<LocalMaster> {
  const log = extras.log ?? stderrLogger('master', options.logFormat);
  const config = compileMasterConfig(
    {
      ...options.settings,
      dataDir: options.dataDir, localWorker: options.localWorker,
      ...(options.http !== undefined ? { http: options.http } : {}),
      ...(options.grpc !== undefined ? { grpc: options.grpc } : {}),
      ...(options.aclPolicyFile !== undefined ? { aclPolicyFile: options.aclPolicyFile } : {}),
      ...(options.httpTls !== undefined ? { httpTls: options.httpTls } : {}),
    },
    processContext(),
  );
  // A configured certificate is read and checked before anything is created or started.
  const configuredHttpTls = config.http.tls.mode === 'files' ? loadHttpCertificate(config.http.tls) : null;
  const { http, grpc, dataDir } = config;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const settings: Partial<CoordinatorSettings> = {
    heartbeatIntervalMs: config.heartbeat.intervalMs,
    missedHeartbeats: config.heartbeat.missedBeforeDown,
    reconnectGraceMs: config.heartbeat.reconnectGraceMs,
    selfFenceAfterMs: config.agent.selfFenceAfterMs,
    maxOutputBytesPerAttempt: config.tasks.outputLimitBytes,
    joinTokenTtlMs: config.security.joinTokenTtlMs,
    ...extras.settings,
  };

  const backbone = await openSqliteBackbone({ file: join(dataDir, 'fleet.db'), ...(extras.durability ? { durability: extras.durability } : {}) });
  const cleanups: Array<() => Promise<void> | void> = [() => backbone.close()];
  const unwind = async () => {
    for (const fn of cleanups.reverse()) await fn();
  };
  try {
    const tls = await ensureFleetCa(dataDir, { hosts: [...reachableHostsFor(grpc.host), ...reachableHostsFor(http.host)] });
    // The audit keys and checkpoint file live beside the database, never in it.
    const auditTrust = auditTrustFor(dataDir);
    let stopRequested: ((reason: string) => void) | null = null;
    const coordinator = new Coordinator({
      backbone,
      scheduler: new PlacementScheduler(),
      secrets: { generateSecret: generateSecret as (p: string) => string, hashSecret, secretsEqual },
      settings,
      // Mutual TLS: agents present node certificates from the fleet CA (a certless stream may only join).
      agentEndpoint: grpcAgentEndpoint({ host: grpc.host, port: grpc.port, tls: { certPem: tls.serverCertPem, keyPem: tls.serverKeyPem, clientCaPem: tls.caCertPem } }),
      nodeCa: { ca: { certPem: tls.caCertPem, keyPem: tls.caKeyPem }, validityDays: config.security.nodeCertValidityDays },
      identity: { caCertPem: tls.caCertPem, caHash: tls.caHash, httpUrl: '' },
      aclPolicyFile: config.security.aclPolicyFile,
      log,
      audit: { trust: auditTrust, ...(extras.auditCheckpointIntervalMs ? { checkpointIntervalMs: extras.auditCheckpointIntervalMs } : {}) },
      onShutdownRequested: (reason) => stopRequested?.(reason),
    });
    await coordinator.start();
    cleanups.push(() => coordinator.close());

    const access = coordinator.access;
    const firstStart = await ensureAdminUser(access);
    const admin = await adminTokenFor(access, backbone, dataDir);
    // On first start the admin gets a one-time dashboard login token (`bitacora up` prints it).
    const loginToken = firstStart ? (await access.createLoginToken(ADMIN_USER, BOOTSTRAP)).token : undefined;
    // The WebSocket hello names the latest seq in the same tick as it subscribes: kept current here.
    let latestSeq = await backbone.events.latestSeq();
    cleanups.push(backbone.events.watch(latestSeq, (event) => (latestSeq = event.seq)));
    const httpTls = config.http.tls.mode === 'fleet-ca' ? fleetCaHttpTls(tls) : configuredHttpTls;
    const api = await startApiServer({
      ...(httpTls ? { tls: httpTls } : {}),
      fleet: coordinator,
      host: http.host,
      port: http.port,
      access: coordinator.access,
      latestEventSeq: () => latestSeq,
      logbook: backbone,
      auditCheckpoints: { publicKeyPem: auditTrust.keys.publicKeyPem, checkpoints: () => auditTrust.checkpointFile.read() },
      // Built by `npm run build` (vite) next to dist/bin; sessions survive restarts of this master.
      dashboard: { root: dashboardRoot() },
      sessions: { file: join(dataDir, DASHBOARD_SESSIONS_FILE) },
    });
    cleanups.push(() => api.close());
    coordinator.setHttpUrl(api.url);
    writeClientFile(dataDir, { url: loopbackUrl(api.url), token: admin.token, ...(config.http.tls.mode === 'fleet-ca' ? { caFile: tls.paths.caCert } : {}) });
    if (admin.rotated) log.warn(`the CLI token in ${CLIENT_FILE} was missing or no longer valid: a new admin API token is in ${join(dataDir, CLIENT_FILE)}`);

    if (config.localWorker) {
      const agentDir = join(dataDir, LOCAL_AGENT_DIR);
      const joined = safeLoadAgentState(agentDir)?.credentialSecret;
      const agent = await startAgent({
        masterUrl: loopbackUrl(api.url),
        ...(joined ? {} : { token: (await coordinator.createJoinToken({ role: 'hybrid', ttlMs: 600_000, createdBy: 'local-worker' })).token }),
        caHash: tls.caHash,
        role: 'hybrid',
        name: options.localWorkerName ?? `${masterName().slice(0, 58)}-local`,
        capabilities: [],
        specializations: [],
        capacity: Math.max(1, cpus().length),
        dataDir: agentDir,
        ...(options.logFormat ? { logFormat: options.logFormat } : {}),
      }, {
        // Join info straight from the coordinator: the API may serve a certificate that does not
        // name 127.0.0.1 (`--http-cert`). The pinned CA hash is still checked against it.
        fetch: async () => new Response(JSON.stringify(coordinator.joinInfo()), { status: 200, headers: { 'content-type': 'application/json' } }),
      });
      cleanups.push(() => agent.close());
    }

    const joinToken = await coordinator.createJoinToken({ role: 'hybrid', createdBy: 'bitacora up' });
    let closing: Promise<void> | null = null;
    let markClosed!: () => void;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        await unwind();
        markClosed();
      })());
    stopRequested = (reason) => {
      log.warn(`stopping the master: emergency shutdown (${reason})`);
      void close();
    };
    return {
      httpUrl: api.url,
      dashboardUrl: `${api.url}/`,
      grpcAddress: coordinator.agentAddress,
      adminToken: admin.token,
      ...(loginToken ? { loginToken, loginUrl: dashboardLoginUrl(api.url, loginToken) } : {}),
      caHash: tls.caHash,
      joinCommand: joinToken.join,
      closed,
      close,
      fleet: coordinator,
      coordinator,
      backbone,
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

/**
 * The dashboard's built files: dist/web beside dist/bin; a master run from src/ (in-process
 * tests) uses the repository's dist/web. When neither is built, `/` says to run `npm run build`.
 */
function dashboardRoot(): string {
  const candidates = [new URL('../web/', import.meta.url), new URL('../../dist/web/', import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]!;
}

/** The user created on first start; the CLI's token in client.json acts for it. */
export const ADMIN_USER = 'admin';
const BOOTSTRAP: SystemActor = { kind: 'system', name: 'bootstrap' };
const CLI_TOKEN_LABEL = `local CLI (${CLIENT_FILE})`;

/** First start (no user at all, also a data directory from before users existed): creates user `admin`. True when it did. */
async function ensureAdminUser(access: AccessControl): Promise<boolean> {
  if ((await access.listUsers()).length > 0) return false;
  await access.addUser({ name: ADMIN_USER, role: 'admin' }, BOOTSTRAP);
  return true;
}

/**
 * The local CLI's bearer: an API token of an admin user, stored hashed like every API token, in
 * plaintext only in `<dataDir>/client.json` (0600). Reused while client.json's token still
 * authenticates as an admin; an old data directory's `auth/admin` hash is migrated into an API
 * token (the token in client.json keeps working); otherwise (first start, file lost, token
 * revoked) a new one is issued and `rotated` says an old one was replaced.
 */
async function adminTokenFor(access: AccessControl, backbone: Backbone, dataDir: string): Promise<{ token: string; rotated: boolean }> {
  const fromFile = readClientFile(dataDir)?.token;
  if (fromFile && (await access.authenticate(fromFile))?.role === 'admin') return { token: fromFile, rotated: false };
  const users = await access.listUsers();
  const owner = users.find((u) => u.name === ADMIN_USER && u.role === 'admin') ?? users.find((u) => u.role === 'admin');
  if (!owner) throw new Error(`no admin user left to own the CLI token in ${CLIENT_FILE}`);
  const legacy = await backbone.kv.get<{ hash: string }>(ADMIN_KEY);
  if (legacy && fromFile && secretsEqual(hashSecret(fromFile), legacy.value.hash)) {
    await access.importApiToken(legacy.value.hash, owner.name, CLI_TOKEN_LABEL, BOOTSTRAP);
    await backbone.kv.delete(ADMIN_KEY);
    return { token: fromFile, rotated: false };
  }
  const created = await access.createApiToken({ user: owner.name, label: CLI_TOKEN_LABEL }, BOOTSTRAP);
  if (legacy) await backbone.kv.delete(ADMIN_KEY);
  return { token: created.token, rotated: fromFile !== undefined || legacy !== null };
}

function readClientFile(dataDir: string): { url?: string; token?: string } | null {
  const file = join(dataDir, CLIENT_FILE);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { url?: string; token?: string };
  } catch {
    return null;
  }
}

/** `caFile`: the fleet CA the local CLI must find the HTTPS server's certificate chained to (`--http-tls fleet-ca`). */
function writeClientFile(dataDir: string, content: { url: string; token: string; caFile?: string }): void {
  // Holds the admin's token: 0600, and durable (a crash must not leave it empty or half written).
  writeFileDurably(join(dataDir, CLIENT_FILE), `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
}

/**
 * The fleet CA's server certificate (issued for the reachable HTTP and gRPC hosts), with the CA
 * appended: an agent that holds only the pinned hash finds the CA in the chain (join-info.ts).
 */
function fleetCaHttpTls(tls: FleetTlsMaterial): { certPem: string; keyPem: string } {
  return { certPem: `${tls.serverCertPem.trimEnd()}\n${tls.caCertPem}`, keyPem: tls.serverKeyPem };
}

/** `--http-cert`/`--http-key`: readable, PEM, the key matches, valid now. ValidationError naming the file otherwise. */
export function loadHttpCertificate(files: Extract<HttpTlsConfig, { mode: 'files' }>, now = new Date()): { certPem: string; keyPem: string } {
  const read = (path: string, what: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new ValidationError(`cannot read the HTTPS ${what} ${path}: ${(err as Error).message}`, [{ path: `httpTls.${what === 'certificate' ? 'certFile' : 'keyFile'}`, message: 'unreadable' }]);
    }
  };
  const certPem = read(files.certFile, 'certificate');
  const keyPem = read(files.keyFile, 'key');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new ValidationError(`${files.certFile} is not a PEM certificate`, [{ path: 'httpTls.certFile', message: 'not a PEM certificate' }]);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new ValidationError(`${files.keyFile} is not a PEM private key`, [{ path: 'httpTls.keyFile', message: 'not a PEM private key' }]);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new ValidationError(`${files.keyFile} is not the key of the certificate ${files.certFile}`, [{ path: 'httpTls.keyFile', message: 'does not match the certificate' }]);
  }
  if (now.getTime() < Date.parse(cert.validFrom) || now.getTime() > Date.parse(cert.validTo)) {
    throw new ValidationError(`the certificate ${files.certFile} is not valid now (${cert.validFrom} – ${cert.validTo})`, [{ path: 'httpTls.certFile', message: 'expired or not yet valid' }]);
  }
  return { certPem, keyPem };
}

function safeLoadAgentState(dir: string): ReturnType<typeof loadAgentState> {
  try {
    return loadAgentState(dir);
  } catch {
    return null;
  }
}

/** A wildcard-bound API is reached locally through loopback. */
function loopbackUrl(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

/** This machine's name as a node-name slug. */
export function masterName(): string {
  return nodeNameFromHostname(hostname());
}


