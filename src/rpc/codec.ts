/**
 * Wire ↔ domain translation of the agent protocol. Decoding never throws anything but a
 * FrameError (undecodable bytes, oversize, unknown or invalid message): transports turn it
 * into an `error` frame and a recorded violation instead of a crash.
 */
import { issuesOf, describeIssues, ErrorCode, type LogStream, type TaskKind } from '../core/index.js';
import { FrameError } from './errors.js';
import {
  MAX_BATCH_ITEMS, MAX_MESSAGE_BYTES, type AgentMessage, type CoordinatorMessage, type EmergencyTier, type TaskRef, type TaskReports,
} from './messages.js';
import { agentMessageSchema, coordinatorMessageSchema } from './schemas.js';
import { wire } from './wire.js';
import type { AgentFrame, AgentFrame__Output } from './gen/bitacora/fleet/v1/AgentFrame.js';
import type { CoordinatorFrame, CoordinatorFrame__Output } from './gen/bitacora/fleet/v1/CoordinatorFrame.js';
import type { LogChunk__Output } from './gen/bitacora/fleet/v1/LogChunk.js';
import type { Resources__Output } from './gen/bitacora/fleet/v1/Resources.js';
import type { TaskRef__Output } from './gen/bitacora/fleet/v1/TaskRef.js';

// ── enum tables (proto names are prefixed per proto3 scoping rules) ──
const ROLE_TO_WIRE = { worker: 'NODE_ROLE_WORKER', hybrid: 'NODE_ROLE_HYBRID' } as const;
const ROLE_FROM_WIRE: Record<string, 'worker' | 'hybrid'> = { NODE_ROLE_WORKER: 'worker', NODE_ROLE_HYBRID: 'hybrid' };
const KIND_TO_WIRE = { spark: 'TASK_KIND_SPARK', command: 'TASK_KIND_COMMAND', action: 'TASK_KIND_ACTION' } as const;
const KIND_FROM_WIRE: Record<string, TaskKind> = { TASK_KIND_SPARK: 'spark', TASK_KIND_COMMAND: 'command', TASK_KIND_ACTION: 'action' };
const STREAM_TO_WIRE = { stdout: 'LOG_STREAM_STDOUT', stderr: 'LOG_STREAM_STDERR', system: 'LOG_STREAM_SYSTEM' } as const;
const STREAM_FROM_WIRE: Record<string, LogStream> = { LOG_STREAM_STDOUT: 'stdout', LOG_STREAM_STDERR: 'stderr', LOG_STREAM_SYSTEM: 'system' };
const TIER_TO_WIRE = {
  'stop-dispatch': 'EMERGENCY_TIER_STOP_DISPATCH',
  'cancel-all': 'EMERGENCY_TIER_CANCEL_ALL',
  'shutdown-nodes': 'EMERGENCY_TIER_SHUTDOWN_NODES',
} as const;
const TIER_FROM_WIRE: Record<string, EmergencyTier> = {
  EMERGENCY_TIER_STOP_DISPATCH: 'stop-dispatch',
  EMERGENCY_TIER_CANCEL_ALL: 'cancel-all',
  EMERGENCY_TIER_SHUTDOWN_NODES: 'shutdown-nodes',
};

const refsFrom = (refs: TaskRef__Output[] | undefined): TaskRef[] =>
  (refs ?? []).map((r) => ({ taskId: r.taskId, attempt: r.attempt }));
const resourcesFrom = (r: Resources__Output | null | undefined) =>
  r ? { cpus: r.cpus, memoryBytes: r.memoryBytes, load: r.load } : undefined;
/** proto3 `optional` fields decode as absent; domain uses null. */
const orNull = <T>(v: T | undefined | null): T | null => (v === undefined ? null : v);
const chunkFrom = (c: LogChunk__Output) => ({
  taskId: c.taskId, attempt: c.attempt, seq: c.seq, stream: STREAM_FROM_WIRE[c.stream], data: c.data, at: c.at,
});

// ───────────────────────── agent → coordinator ─────────────────────────

export function agentToWire(msg: AgentMessage): AgentFrame {
  switch (msg.type) {
    case 'hello':
      return {
        hello: {
          protocolVersion: msg.protocolVersion,
          joinToken: msg.joinToken ?? '',
          credential: msg.credential ?? null,
          csrPem: msg.csrPem ?? '',
          node: { ...msg.node, role: ROLE_TO_WIRE[msg.node.role] },
          running: msg.running,
        },
      };
    case 'heartbeat':
      return { heartbeat: { at: msg.at, resources: msg.resources, running: msg.running } };
    case 'reports':
      return {
        reports: {
          started: msg.started.map((r) => ({ taskId: r.taskId, attempt: r.attempt, at: r.at })),
          output: msg.output.map((c) => ({ ...c, stream: STREAM_TO_WIRE[c.stream] })),
          finished: msg.finished.map((f) => {
            const { exitCode, error, durationMs } = f.result;
            return {
              taskId: f.taskId,
              attempt: f.attempt,
              result: { durationMs, ...(exitCode === null ? {} : { exitCode }), ...(error === null ? {} : { error }) },
            };
          }),
          rejected: msg.rejected.map((r) => ({ taskId: r.taskId, attempt: r.attempt, reason: r.reason })),
        },
      };
    case 'leaving':
      return { leaving: { reason: msg.reason, stopped: msg.stopped } };
    case 'renewCertificate':
      return { renewCertificate: { csrPem: msg.csrPem } };
  }
}

/** Maps a decoded frame to a candidate domain object (not yet validated). */
function agentCandidate(frame: AgentFrame__Output): unknown {
  switch (frame.msg) {
    case 'hello': {
      const h = frame.hello!;
      return {
        type: 'hello',
        protocolVersion: h.protocolVersion,
        ...(h.joinToken ? { joinToken: h.joinToken } : {}),
        ...(h.credential ? { credential: { nodeId: h.credential.nodeId, secret: h.credential.secret } } : {}),
        ...(h.csrPem ? { csrPem: h.csrPem } : {}),
        node: h.node
          ? {
              name: h.node.name,
              role: ROLE_FROM_WIRE[h.node.role],
              capabilities: h.node.capabilities,
              specializations: h.node.specializations,
              capacity: h.node.capacity,
              resources: resourcesFrom(h.node.resources),
              agentVersion: h.node.agentVersion,
            }
          : undefined,
        running: refsFrom(h.running),
      };
    }
    case 'heartbeat': {
      const b = frame.heartbeat!;
      return { type: 'heartbeat', at: b.at, resources: resourcesFrom(b.resources), running: refsFrom(b.running) };
    }
    case 'reports': {
      const r = frame.reports!;
      return {
        type: 'reports',
        started: (r.started ?? []).map((s) => ({ taskId: s.taskId, attempt: s.attempt, at: s.at })),
        output: (r.output ?? []).map(chunkFrom),
        finished: (r.finished ?? []).map((f) => ({
          taskId: f.taskId,
          attempt: f.attempt,
          result: f.result
            ? { exitCode: orNull(f.result.exitCode), error: orNull(f.result.error), durationMs: Math.round(f.result.durationMs) }
            : undefined,
        })),
        rejected: (r.rejected ?? []).map((x) => ({ taskId: x.taskId, attempt: x.attempt, reason: x.reason })),
      };
    }
    case 'renewCertificate':
      return { type: 'renewCertificate', csrPem: frame.renewCertificate!.csrPem };
    case 'leaving':
      return { type: 'leaving', reason: frame.leaving!.reason, stopped: refsFrom(frame.leaving!.stopped) };
    default:
      throw new FrameError(ErrorCode.ProtocolViolation, 'agent frame carries no known message (empty frame or newer protocol)');
  }
}

// ───────────────────────── coordinator → agent ─────────────────────────

export function coordinatorToWire(msg: CoordinatorMessage): CoordinatorFrame {
  switch (msg.type) {
    case 'welcome':
      return {
        welcome: {
          protocolVersion: msg.protocolVersion,
          nodeId: msg.nodeId,
          credentialSecret: msg.credentialSecret ?? '',
          certificatePem: msg.certificatePem ?? '',
          config: msg.config,
          voidTasks: msg.voidTasks,
        },
      };
    case 'executeTasks':
      return {
        executeTasks: {
          tasks: msg.tasks.map((t) => ({
            taskId: t.taskId,
            attempt: t.attempt,
            kind: KIND_TO_WIRE[t.kind],
            command: t.command,
            env: t.env,
            needs: t.needs,
            ...(t.project === null ? {} : { project: t.project }),
            ...(t.timeoutMs === null ? {} : { timeoutMs: t.timeoutMs }),
          })),
        },
      };
    case 'cancelTask':
      return { cancelTask: { taskId: msg.taskId, attempt: msg.attempt, reason: msg.reason } };
    case 'voidTasks':
      return { voidTasks: { tasks: msg.tasks } };
    case 'heartbeatAck':
      return { heartbeatAck: { at: msg.at } };
    case 'resultAcks':
      return { resultAcks: { acks: msg.acks.map((a) => ({ taskId: a.taskId, attempt: a.attempt, accepted: a.accepted, reason: a.reason ?? '' })) } };
    case 'updateConfiguration':
      return { updateConfiguration: { config: msg.config } };
    case 'setRole':
      return { setRole: { role: ROLE_TO_WIRE[msg.role] } };
    case 'emergencyShutdown':
      return { emergencyShutdown: { tier: TIER_TO_WIRE[msg.tier], reason: msg.reason } };
    case 'error':
      return { error: { code: msg.code, message: msg.message, fatal: msg.fatal } };
    case 'certificate':
      return { certificate: { certificatePem: msg.certificatePem, notAfter: msg.notAfter } };
    case 'auditCheckpoint': {
      const c = msg.checkpoint;
      return {
        auditCheckpoint: {
          version: c.version, headIndex: c.headIndex, headHash: c.headHash, at: c.at, previous: c.previous ?? '', keyId: c.keyId, signature: c.signature,
        },
      };
    }
  }
}

function coordinatorCandidate(frame: CoordinatorFrame__Output): unknown {
  switch (frame.msg) {
    case 'welcome': {
      const w = frame.welcome!;
      return {
        type: 'welcome',
        protocolVersion: w.protocolVersion,
        nodeId: w.nodeId,
        ...(w.credentialSecret ? { credentialSecret: w.credentialSecret } : {}),
        ...(w.certificatePem ? { certificatePem: w.certificatePem } : {}),
        config: w.config
          ? { heartbeatIntervalMs: w.config.heartbeatIntervalMs, selfFenceAfterMs: w.config.selfFenceAfterMs }
          : undefined,
        voidTasks: refsFrom(w.voidTasks),
      };
    }
    case 'executeTasks':
      return {
        type: 'executeTasks',
        tasks: (frame.executeTasks!.tasks ?? []).map((t) => ({
          taskId: t.taskId,
          attempt: t.attempt,
          kind: KIND_FROM_WIRE[t.kind],
          project: orNull(t.project),
          command: t.command,
          env: t.env,
          timeoutMs: orNull(t.timeoutMs),
          needs: t.needs,
        })),
      };
    case 'cancelTask': {
      const c = frame.cancelTask!;
      return { type: 'cancelTask', taskId: c.taskId, attempt: c.attempt, reason: c.reason };
    }
    case 'voidTasks':
      return { type: 'voidTasks', tasks: refsFrom(frame.voidTasks!.tasks) };
    case 'heartbeatAck':
      return { type: 'heartbeatAck', at: frame.heartbeatAck!.at };
    case 'resultAcks':
      return {
        type: 'resultAcks',
        acks: (frame.resultAcks!.acks ?? []).map((a) => ({
          taskId: a.taskId, attempt: a.attempt, accepted: a.accepted, ...(a.reason ? { reason: a.reason } : {}),
        })),
      };
    case 'updateConfiguration': {
      const c = frame.updateConfiguration!.config;
      const config: Record<string, number> = {};
      if (c?.heartbeatIntervalMs !== undefined) config['heartbeatIntervalMs'] = c.heartbeatIntervalMs;
      if (c?.selfFenceAfterMs !== undefined) config['selfFenceAfterMs'] = c.selfFenceAfterMs;
      return { type: 'updateConfiguration', config };
    }
    case 'setRole':
      return { type: 'setRole', role: ROLE_FROM_WIRE[frame.setRole!.role] };
    case 'emergencyShutdown': {
      const e = frame.emergencyShutdown!;
      return { type: 'emergencyShutdown', tier: TIER_FROM_WIRE[e.tier], reason: e.reason };
    }
    case 'error': {
      const e = frame.error!;
      return { type: 'error', code: e.code, message: e.message, fatal: e.fatal };
    }
    case 'certificate': {
      const c = frame.certificate!;
      return { type: 'certificate', certificatePem: c.certificatePem, notAfter: c.notAfter };
    }
    case 'auditCheckpoint': {
      const c = frame.auditCheckpoint!;
      return {
        type: 'auditCheckpoint',
        checkpoint: { version: c.version, headIndex: c.headIndex, headHash: c.headHash, at: c.at, previous: c.previous || null, keyId: c.keyId, signature: c.signature },
      };
    }
    default:
      throw new FrameError(ErrorCode.ProtocolViolation, 'coordinator frame carries no known message (empty frame or newer protocol)');
  }
}

// ───────────────────────── bytes ─────────────────────────

function checkSize(bytes: Buffer, what: string): void {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new FrameError(ErrorCode.PayloadTooLarge, `${what} of ${bytes.length} bytes exceeds the limit of ${MAX_MESSAGE_BYTES} bytes`);
  }
}

function decodeWith<T>(bytes: Buffer, what: string, decode: (b: Buffer) => unknown, candidate: (f: never) => unknown,
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: import('zod').ZodError } }): T {
  checkSize(bytes, what);
  let frame: unknown;
  try {
    frame = decode(bytes);
  } catch (err) {
    throw new FrameError(ErrorCode.ProtocolViolation, `${what} is not valid protobuf: ${(err as Error).message}`, [], { cause: err });
  }
  const parsed = schema.safeParse(candidate(frame as never));
  if (parsed.success) return parsed.data;
  const issues = issuesOf(parsed.error);
  throw new FrameError(ErrorCode.Validation, `invalid ${what}:\n${describeIssues(issues)}`, issues);
}

/** Bytes from an agent → validated AgentMessage. Throws FrameError only. */
export function decodeAgentMessage(bytes: Buffer): AgentMessage {
  return decodeWith(bytes, 'agent frame', wire().decodeAgent, agentCandidate, agentMessageSchema) as AgentMessage;
}

/** Bytes from the coordinator → validated CoordinatorMessage. Throws FrameError only. */
export function decodeCoordinatorMessage(bytes: Buffer): CoordinatorMessage {
  return decodeWith(bytes, 'coordinator frame', wire().decodeCoordinator, coordinatorCandidate, coordinatorMessageSchema) as CoordinatorMessage;
}

/** Exactly one frame. Throws FrameError PayloadTooLarge when the peer would refuse it. */
export function encodeAgentMessage(msg: AgentMessage): Buffer {
  const bytes = wire().encodeAgent(agentToWire(msg));
  checkSize(bytes, `outgoing ${msg.type} frame`);
  return bytes;
}

export function encodeCoordinatorMessage(msg: CoordinatorMessage): Buffer {
  const bytes = wire().encodeCoordinator(coordinatorToWire(msg));
  checkSize(bytes, `outgoing ${msg.type} frame`);
  return bytes;
}

// ───────────────────────── batched frames ─────────────────────────

/** How a batched message is cut: its item count, and the message holding items [from, to). */
interface Batching<M> {
  count(msg: M): number | null;
  slice(msg: M, from: number, to: number): M;
}

/**
 * The frames that carry `msg`, in order: one, unless it is a batch of more than
 * MAX_BATCH_ITEMS items or more than MAX_MESSAGE_BYTES encoded — then it is cut into
 * consecutive slices (halves, as long as a slice is too large). Throws FrameError
 * PayloadTooLarge only when a single item (or an unbatched message) is too large.
 */
function framesOf<M extends { type: string }>(msg: M, encode: (m: M) => Buffer, batching: Batching<M>): Buffer[] {
  const n = batching.count(msg);
  if (n !== null && n > MAX_BATCH_ITEMS) {
    const out: Buffer[] = [];
    for (let from = 0; from < n; from += MAX_BATCH_ITEMS) out.push(...framesOf(batching.slice(msg, from, Math.min(n, from + MAX_BATCH_ITEMS)), encode, batching));
    return out;
  }
  const bytes = encode(msg);
  if (bytes.length <= MAX_MESSAGE_BYTES || n === null || n <= 1) {
    checkSize(bytes, `outgoing ${msg.type} frame`);
    return [bytes];
  }
  const mid = Math.ceil(n / 2);
  return [...framesOf(batching.slice(msg, 0, mid), encode, batching), ...framesOf(batching.slice(msg, mid, n), encode, batching)];
}

/** The lists of a `reports` frame in the order the coordinator applies them. */
const REPORT_LISTS = ['started', 'output', 'finished', 'rejected'] as const satisfies ReadonlyArray<keyof TaskReports>;

const agentBatching: Batching<AgentMessage> = {
  count: (m) => (m.type === 'reports' ? m.started.length + m.output.length + m.finished.length + m.rejected.length : null),
  // Items [from, to) of the lists laid end to end in application order: consecutive slices,
  // applied one after the other, are applied exactly as the whole frame would have been.
  slice(m, from, to) {
    if (m.type !== 'reports') return m;
    const out: AgentMessage = { type: 'reports', started: [], output: [], finished: [], rejected: [] };
    let offset = 0;
    for (const list of REPORT_LISTS) {
      const items = m[list];
      (out[list] as unknown[]) = items.slice(Math.max(0, from - offset), Math.max(0, to - offset));
      offset += items.length;
    }
    return out;
  },
};

const coordinatorBatching: Batching<CoordinatorMessage> = {
  count: (m) => (m.type === 'executeTasks' ? m.tasks.length : m.type === 'resultAcks' ? m.acks.length : null),
  slice: (m, from, to) =>
    m.type === 'executeTasks' ? { type: 'executeTasks', tasks: m.tasks.slice(from, to) }
    : m.type === 'resultAcks' ? { type: 'resultAcks', acks: m.acks.slice(from, to) }
    : m,
};

/** The frames carrying `msg` (a batch too large for one frame is cut, in order). See framesOf. */
export function encodeAgentFrames(msg: AgentMessage): Buffer[] {
  return framesOf(msg, (m) => wire().encodeAgent(agentToWire(m)), agentBatching);
}

export function encodeCoordinatorFrames(msg: CoordinatorMessage): Buffer[] {
  return framesOf(msg, (m) => wire().encodeCoordinator(coordinatorToWire(m)), coordinatorBatching);
}

/** Where a decoded frame goes: both ends of the stream have these two callbacks. */
export interface FrameSink<M> {
  onMessage(message: M): void;
  onInvalid(error: FrameError): void;
}

/**
 * Decodes one received frame and hands it to `sink`: the message, or the FrameError saying
 * why it was refused (anything unexpected from the decoder becomes a protocol violation).
 * Never throws, so a bad frame cannot tear down the stream's event handler.
 */
export function deliverFrame<M>(bytes: Buffer, decode: (bytes: Buffer) => M, sink: FrameSink<M>): void {
  let message: M;
  try {
    message = decode(bytes);
  } catch (err) {
    sink.onInvalid(err instanceof FrameError ? err : new FrameError(ErrorCode.ProtocolViolation, String(err)));
    return;
  }
  sink.onMessage(message);
}
