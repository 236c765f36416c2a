/**
 * The agent ↔ coordinator protocol in domain terms. `rpc/server` and `rpc/client` translate
 * these to and from the protobuf wire types of `proto/fleet.proto`; nothing outside `rpc/`
 * sees wire types. Bump PROTOCOL_VERSION (here and in the proto header) on any breaking change.
 *
 * Flow: first join — the agent dials without a client certificate and sends `hello` with the
 * join token and a CSR; the coordinator answers `welcome` with the node certificate and ends
 * that stream. Every later stream is mutual TLS: `hello` (identity from the certificate, plus
 * the tasks it still runs = SyncState) → `welcome` (node id, configuration, void tasks) or
 * `error` and close.
 * Then heartbeats and task traffic flow both ways on the one stream until it closes.
 *
 * Task traffic is batched (version 2): the coordinator sends each dispatch pass's assignments
 * for a node as one `executeTasks`; the agent sends what one turn of its event loop produced
 * (starts, output, results, rejections) as one `reports`; the coordinator answers a turn's
 * results with one `resultAcks`. A batch larger than a frame may hold is split into several
 * frames by the codec (`encodeAgentFrames` / `encodeCoordinatorFrames`), in order.
 */
import type { AgentConfig, AuditCheckpoint, EmergencyTier, NodeResources, NodeRole, TaskKind, TaskLogChunk, TaskResult } from '../core/index.js';

/** Defined in core (shared with the API client); re-exported as part of the protocol. */
export type { AgentConfig, EmergencyTier } from '../core/index.js';

export const PROTOCOL_VERSION = 2;

/** Largest message either side accepts (bytes); larger ones are refused with an error. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * Most items one batched frame carries: tasks of an `executeTasks`, acks of a `resultAcks`,
 * and the four lists of a `reports` together. Larger batches travel as several frames.
 */
export const MAX_BATCH_ITEMS = 5_000;

export interface TaskRef {
  taskId: string;
  attempt: number;
}

export interface AgentNodeInfo {
  name: string;
  role: Exclude<NodeRole, 'master'>;
  capabilities: string[];
  specializations: string[];
  capacity: number;
  resources: NodeResources;
  agentVersion: string;
}

/** The agent began running the attempt (`at`: the agent's clock). */
export interface TaskStartedReport {
  taskId: string;
  attempt: number;
  at: number;
}

export interface TaskFinishedReport {
  taskId: string;
  attempt: number;
  result: TaskResult;
}

/** The agent will not run (or no longer runs) an assigned attempt: capacity, capability, draining, self-fence. */
export interface TaskRejectedReport {
  taskId: string;
  attempt: number;
  reason: string;
}

/**
 * One `reports` frame. The coordinator applies the lists in this order — started, output,
 * finished, rejected: an attempt's life — so the sender never puts into one frame a report
 * that must follow a report of a later list about the same task.
 */
export interface TaskReports {
  started: TaskStartedReport[];
  output: TaskLogChunk[];
  finished: TaskFinishedReport[];
  rejected: TaskRejectedReport[];
}

export type AgentMessage =
  | {
      type: 'hello';
      protocolVersion: number;
      /** First join: the one-time join token. */
      joinToken?: string;
      /** Rejoin: the credential received in the first welcome. */
      credential?: { nodeId: string; secret: string };
      /**
       * First join: PKCS#10 request for the node certificate (the key stays on the node).
       * A stream without a valid client certificate may carry only this join hello.
       */
      csrPem?: string;
      node: AgentNodeInfo;
      /** Tasks the agent still runs or holds unsent results for (SyncState). */
      running: TaskRef[];
    }
  | { type: 'heartbeat'; at: number; resources: NodeResources; running: TaskRef[] }
  /** What one turn of the agent's event loop produced about its attempts (see TaskReports). */
  | ({ type: 'reports' } & TaskReports)
  /** A clean stop: no more work; `stopped` ran here and are dead now (requeue them at once). */
  | { type: 'leaving'; reason: string; stopped: TaskRef[] }
  /** Certificate rotation over the live stream: a CSR for a fresh key pair. */
  | { type: 'renewCertificate'; csrPem: string };

export interface ExecuteTaskCommand {
  taskId: string;
  attempt: number;
  kind: TaskKind;
  project: string | null;
  command: string[];
  env: Record<string, string>;
  timeoutMs: number | null;
  /** Capabilities the task requires (the agent checks them against what it serves). */
  needs: string[];
}

/** Acknowledges a result so the agent can drop it from its resend buffer. */
export interface ResultAck {
  taskId: string;
  attempt: number;
  accepted: boolean;
  /** Why not accepted; absent when accepted. */
  reason?: string;
}

/** A signed audit checkpoint, as the master sends it to agents. */
export type AuditCheckpointMessage = AuditCheckpoint;

export type CoordinatorMessage =
  | {
      type: 'welcome';
      protocolVersion: number;
      nodeId: string;
      /** Only on first join: the node's long-lived credential secret, to be stored by the agent. */
      credentialSecret?: string;
      /** Only on first join: the node certificate; the coordinator then ends the join stream. */
      certificatePem?: string;
      config: AgentConfig;
      /** Tasks the agent reported that are no longer its to run: kill them, drop their results. */
      voidTasks: TaskRef[];
    }
  /** One dispatch pass's assignments for this node. */
  | { type: 'executeTasks'; tasks: ExecuteTaskCommand[] }
  | { type: 'cancelTask'; taskId: string; attempt: number; reason: string }
  | { type: 'voidTasks'; tasks: TaskRef[] }
  /** Answers a heartbeat, echoing its `at`: the agent's lease runs from that sending time. */
  | { type: 'heartbeatAck'; at: number }
  /** The acknowledgements of one turn for this node. */
  | { type: 'resultAcks'; acks: ResultAck[] }
  | { type: 'updateConfiguration'; config: Partial<AgentConfig> }
  | { type: 'setRole'; role: Exclude<NodeRole, 'master'> }
  | { type: 'emergencyShutdown'; tier: EmergencyTier; reason: string }
  | { type: 'error'; code: string; message: string; fatal: boolean }
  /** A fresh node certificate (answer to renewCertificate). `notAfter` in ms since the epoch. */
  | { type: 'certificate'; certificatePem: string; notAfter: number }
  /** The newest signed checkpoint of the audit trail: the agent keeps it (`bitacora audit verify --checkpoint`). */
  | { type: 'auditCheckpoint'; checkpoint: AuditCheckpointMessage };
