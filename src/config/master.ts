/**
 * The master's options (flags, environment, later a file) → its compiled configuration:
 * validated, fully defaulted, frozen. Every default is in MASTER_DEFAULTS and on its option.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { parseOptions, deepFreeze, type ConfigContext, type DeepReadonly } from './compile.js';
import { resolveDataDir } from './data-dir.js';
import { formatHostPort, parseHostPort, type HostPort } from './host-port.js';
import { durationMs, flag, hostPort, integer, sizeBytes } from './values.js';

const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export const MASTER_DEFAULTS = Object.freeze({
  http: '127.0.0.1:7700',
  grpc: '127.0.0.1:7701',
  localWorker: false,
  heartbeatIntervalMs: 1000,
  missedHeartbeats: 3,
  reconnectGraceMs: 2000,
  selfFenceAfterMs: 15 * SECOND,
  taskMaxRetries: 3,
  taskTimeoutMs: null,
  sparkConcurrency: 4,
  approvalExpiryMs: HOUR,
  consultOnMedium: false,
  outputLimitBytes: 1024 * 1024,
  killGraceMs: 2000,
  joinTokenTtlMs: HOUR,
  nodeCertValidityDays: 7,
  httpTls: 'off' as const,
});

const filePath = z.string().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters')
  // eslint-disable-next-line no-control-regex
  .refine((s) => !/[\u0000-\u001f]/.test(s), 'must not contain control characters');

/**
 * How the HTTP side (REST, WebSocket, dashboard) is served: `off` = plain HTTP (loopback dev),
 * `fleet-ca` = TLS with the server certificate the fleet CA issues for the reachable hosts (the
 * one gRPC uses), or a configured certificate and key (PEM files, read and checked at start).
 */
const httpTlsOption = z.union([
  z.enum(['off', 'fleet-ca']),
  z.object({ certFile: filePath, keyFile: filePath }).strict(),
]);

/** Compiled `http.tls`; configured files are absolute. */
export type HttpTlsConfig = { mode: 'off' } | { mode: 'fleet-ca' } | { mode: 'files'; certFile: string; keyFile: string };

/** `none`/`off`/null mean no timeout; anything else is a duration. */
const optionalTimeout = z.union([z.null(), z.enum(['none', 'off']).transform(() => null), durationMs({ min: 1, max: 7 * DAY })]);

/** What `bitacora up` accepts. Durations: ms numbers or `30s`-style text; sizes: bytes or `1MiB`. */
export const masterOptionsSchema = z
  .object({
    /** `--data-dir`. Default: `$BITACORA_DATA_DIR`, else `./.bitacora`. */
    dataDir: z.string().optional(),
    /** REST + WebSocket + dashboard address. Default 127.0.0.1:7700. */
    http: hostPort.default(parseHostPort(MASTER_DEFAULTS.http)),
    /** TLS of the HTTP side: `off`, `fleet-ca` or `{ certFile, keyFile }` (relative to the working directory). Default off. */
    httpTls: httpTlsOption.default(MASTER_DEFAULTS.httpTls),
    /** gRPC agent endpoint. Default 127.0.0.1:7701. */
    grpc: hostPort.default(parseHostPort(MASTER_DEFAULTS.grpc)),
    /** Also run a hybrid agent in this process. Default false. */
    localWorker: flag.default(MASTER_DEFAULTS.localWorker),
    /** How often agents send heartbeats. Default 1s. */
    heartbeatInterval: durationMs({ min: 50, max: HOUR }).default(MASTER_DEFAULTS.heartbeatIntervalMs),
    /** Heartbeats missed in a row before a node is down. Default 3. */
    missedHeartbeats: integer({ min: 1, max: 100 }).default(MASTER_DEFAULTS.missedHeartbeats),
    /** After an agent's stream closes, how long it may reconnect before it is down. Default 2s. */
    reconnectGrace: durationMs({ min: 0, max: HOUR }).default(MASTER_DEFAULTS.reconnectGraceMs),
    /**
     * The agents' lease: an agent that has had no answer from the master for this long kills its
     * tasks, and the master moves a lost node's tasks only once this (+1 s) has passed since it
     * last heard from it — so a task never runs twice at once. Default 15s.
     */
    selfFenceAfter: durationMs({ min: 100, max: DAY }).default(MASTER_DEFAULTS.selfFenceAfterMs),
    /** Default retries of a task after infrastructure failures. Default 3. */
    taskMaxRetries: integer({ min: 0, max: 100 }).default(MASTER_DEFAULTS.taskMaxRetries),
    /** Default task timeout. Default none. */
    taskTimeout: optionalTimeout.default(MASTER_DEFAULTS.taskTimeoutMs),
    /** Sparks of one pool run at once. Default 4. */
    sparkConcurrency: integer({ min: 1, max: 1024 }).default(MASTER_DEFAULTS.sparkConcurrency),
    /** A pending approval expires (and its topic stops) after this. Default 1h. */
    approvalExpiry: durationMs({ min: SECOND, max: 30 * DAY }).default(MASTER_DEFAULTS.approvalExpiryMs),
    /** Ask the user for medium-risk topics too (high risk always asks). Default false. */
    consultOnMedium: flag.default(MASTER_DEFAULTS.consultOnMedium),
    /** Output kept per task attempt; the rest is counted, not kept. Default 1MiB. */
    outputLimit: sizeBytes({ min: 1024, max: 1024 ** 3 }).default(MASTER_DEFAULTS.outputLimitBytes),
    /** After SIGTERM (timeout, cancel), how long before SIGKILL. Default 2s. */
    killGrace: durationMs({ min: 0, max: 10 * 60 * SECOND }).default(MASTER_DEFAULTS.killGraceMs),
    /** Lifetime of a join token. Default 1h. */
    joinTokenTtl: durationMs({ min: SECOND, max: 30 * DAY }).default(MASTER_DEFAULTS.joinTokenTtlMs),
    /** Lifetime of a node certificate, in days; rotated before it ends. Default 7. */
    nodeCertValidityDays: integer({ min: 1, max: 365 }).default(MASTER_DEFAULTS.nodeCertValidityDays),
    /** The ACL policy file (YAML or JSON), watched for live edits. Default `<dataDir>/acl.yaml`; relative to the working directory. */
    aclPolicyFile: filePath.optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    const detectMs = o.heartbeatInterval * o.missedHeartbeats + o.reconnectGrace;
    // An agent that fences itself before the master even declares it down would kill work the
    // master still counts as running: the two timeouts must be ordered.
    if (o.selfFenceAfter <= detectMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['selfFenceAfter'],
        message: `must be longer than failure detection (heartbeatInterval × missedHeartbeats + reconnectGrace = ${detectMs} ms)`,
      });
    }
    if (o.http.host === o.grpc.host && o.http.port === o.grpc.port && o.http.port !== 0) {
      ctx.addIssue({ code: 'custom', path: ['grpc'], message: 'must differ from the http address' });
    }
  });

export type MasterOptions = z.input<typeof masterOptionsSchema>;

export interface Address extends HostPort {
  /** `host:port` with IPv6 bracketed. */
  address: string;
}

export type MasterConfig = DeepReadonly<{
  /** Absolute. */
  dataDir: string;
  http: Address & { tls: HttpTlsConfig };
  grpc: Address;
  localWorker: boolean;
  heartbeat: {
    intervalMs: number;
    missedBeforeDown: number;
    reconnectGraceMs: number;
    /** intervalMs × missedBeforeDown: silence after which a node is down. */
    downAfterMs: number;
  };
  agent: { selfFenceAfterMs: number };
  tasks: { maxRetries: number; timeoutMs: number | null; outputLimitBytes: number; killGraceMs: number };
  sparks: { concurrency: number };
  approvals: { expiryMs: number; consultOnMedium: boolean };
  security: {
    joinTokenTtlMs: number;
    nodeCertValidityDays: number;
    /** Absolute path of the ACL policy file (it may not exist: then the default policy holds). */
    aclPolicyFile: string;
  };
}>;

/** Validates and completes the master's options. ValidationError listing every bad option by name. */
export function compileMasterConfig(options: MasterOptions | undefined, context: ConfigContext): MasterConfig {
  const o = parseOptions(masterOptionsSchema, options, 'master configuration');
  const dataDir = resolveDataDir({ flag: o.dataDir, env: context.env, cwd: context.cwd });
  const aclPolicyFile = o.aclPolicyFile === undefined ? join(dataDir, 'acl.yaml') : isAbsolute(o.aclPolicyFile) ? o.aclPolicyFile : resolve(context.cwd, o.aclPolicyFile);
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(context.cwd, path));
  const tls: HttpTlsConfig = typeof o.httpTls === 'string' ? { mode: o.httpTls } : { mode: 'files', certFile: absolute(o.httpTls.certFile), keyFile: absolute(o.httpTls.keyFile) };
  return deepFreeze({
    dataDir,
    http: { ...address(o.http), tls },
    grpc: address(o.grpc),
    localWorker: o.localWorker,
    heartbeat: {
      intervalMs: o.heartbeatInterval,
      missedBeforeDown: o.missedHeartbeats,
      reconnectGraceMs: o.reconnectGrace,
      downAfterMs: o.heartbeatInterval * o.missedHeartbeats,
    },
    agent: { selfFenceAfterMs: o.selfFenceAfter },
    tasks: { maxRetries: o.taskMaxRetries, timeoutMs: o.taskTimeout, outputLimitBytes: o.outputLimit, killGraceMs: o.killGrace },
    sparks: { concurrency: o.sparkConcurrency },
    approvals: { expiryMs: o.approvalExpiry, consultOnMedium: o.consultOnMedium },
    security: { joinTokenTtlMs: o.joinTokenTtl, nodeCertValidityDays: o.nodeCertValidityDays, aclPolicyFile },
  });
}

export function address(hp: HostPort): Address {
  return { host: hp.host, port: hp.port, address: formatHostPort(hp) };
}
