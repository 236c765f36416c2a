/**
 * What every CLI command receives. The concrete implementations (SQLite backbone, process
 * runner, master and agent processes) are wired in `src/bin/bitacora.ts`; commands only see
 * these interfaces, so they stay testable and the layering holds.
 */
import type { AgentOptions, MasterOptions } from '../config/index.js';
import type { Backbone } from '../store/backbone.js';
import type { CommandRunner, WorkspaceProvider } from '../engine/ports.js';

export interface MasterStartOptions {
  dataDir: string;
  /** host:port of REST + WebSocket + dashboard. Default: `settings.http`, else 127.0.0.1:7700. */
  http?: string;
  /** host:port of the gRPC agent endpoint. Default: `settings.grpc`, else 127.0.0.1:7701. */
  grpc?: string;
  /** Every other master option (a `--config` file's `up:` section); the fields above win over it. */
  settings?: Partial<MasterOptions>;
  /** The local worker's node name. Default `<host name>-local`. */
  localWorkerName?: string;
  /** `--log-format`: human lines (default) or one JSON object per line. */
  logFormat?: 'human' | 'json';
  localWorker: boolean;
  /** The ACL policy file. Default `<dataDir>/acl.yaml`. */
  aclPolicyFile?: string;
  /**
   * TLS of the HTTP side: `off` (plain HTTP, loopback development), `fleet-ca` (the fleet CA's
   * server certificate) or a configured certificate and key (PEM files). Default off.
   */
  httpTls?: 'off' | 'fleet-ca' | { certFile: string; keyFile: string };
}

export interface MasterHandle {
  httpUrl: string;
  dashboardUrl: string;
  grpcAddress: string;
  /** Admin bearer token (also saved in `<dataDir>/client.json` for the local CLI). */
  adminToken: string;
  /** First start only: a one-time dashboard login token for user admin (valid 15 min). */
  loginToken?: string;
  /** With `loginToken`: the link that signs a browser in with it (`<dashboardUrl>#login=…`). */
  loginUrl?: string;
  caHash: string;
  /** `bitacora join <url> --token <fresh token> --ca-hash <hash>` for another machine. */
  joinCommand: string;
  /** Resolves when the master stops (signal or emergency shutdown). */
  closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * What `join` was given. Node settings left undefined (role, name, capabilities,
 * specializations, capacity, allow-lists) keep what the node saved at its last start, else
 * their defaults; the ones given are saved for the next start.
 */
export interface AgentStartOptions {
  masterUrl: string;
  token?: string;
  caHash?: string;
  role?: 'worker' | 'hybrid';
  name?: string;
  capabilities?: string[];
  specializations?: string[];
  capacity?: number;
  serveOnly?: string[];
  serveProjects?: string[];
  /** Advertise what the machine is found to have (os, arch, tools on PATH). Default true. */
  fingerprint?: boolean;
  dataDir: string;
  /** Every other agent option (a `--config` file's `join:` section: heartbeat, reconnect, …); the fields above win over it. */
  settings?: Partial<Omit<AgentOptions, 'masterUrl'>>;
  /** `--log-format`: human lines (default) or one JSON object per line. */
  logFormat?: 'human' | 'json';
}

export interface AgentHandle {
  /** What the node runs as, saved flags and fingerprint included (absent in fakes). */
  settings?: { role: string; name: string; capabilities: readonly string[]; restored: readonly string[] };
  nodeId(): string | null;
  closed: Promise<void>;
  close(): Promise<void>;
}

export interface CliDeps {
  /** Opens (creating when needed) the backbone of a data directory; the caller closes it. */
  openBackbone(dataDir: string): Promise<Backbone>;
  newCommandRunner(): CommandRunner;
  newWorkspaces(root: string): WorkspaceProvider;
  startMaster(options: MasterStartOptions): Promise<MasterHandle>;
  startAgent(options: AgentStartOptions): Promise<AgentHandle>;
  /**
   * Starts this same `bitacora` executable as a child process with `args` (used by `demo`,
   * which plays the story with real processes, exactly as a user would start them).
   * Output goes to `logFile` when given.
   */
  spawnSelf(args: string[], options?: { logFile?: string; env?: NodeJS.ProcessEnv }): SpawnedProcess;
}

/** A child process started by `spawnSelf`. */
export interface SpawnedProcess {
  readonly pid: number;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CliContext extends CliIo {
  deps: CliDeps;
  /**
   * Aborted when the user asks the process to stop (SIGINT/SIGTERM). Long-running commands
   * (`up`, `join`, `logs --follow`, `run --wait`) watch it; the first call installs the signal
   * handlers, so short commands keep the default Ctrl-C behaviour. Absent in tests that do not
   * need it (the signal then never aborts).
   */
  stopSignal?: () => AbortSignal;
}
