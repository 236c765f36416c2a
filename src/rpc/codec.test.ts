import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/index.js';
import {
  decodeAgentMessage, decodeCoordinatorMessage, encodeAgentFrames, encodeAgentMessage, encodeCoordinatorFrames, encodeCoordinatorMessage,
} from './codec.js';
import { FrameError } from './errors.js';
import {
  MAX_BATCH_ITEMS, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, type AgentMessage, type CoordinatorMessage, type ExecuteTaskCommand, type TaskReports,
} from './messages.js';
import { wire } from './wire.js';

const resources = { cpus: 4, memoryBytes: 8e9, load: 0.5 };
const agentMessages: AgentMessage[] = [
  {
    type: 'hello', protocolVersion: PROTOCOL_VERSION, joinToken: 'bjt_secret',
    node: { name: 'worker-1', role: 'hybrid', capabilities: ['linux'], specializations: ['build'], capacity: 4, resources, agentVersion: '0.1.0' },
    running: [{ taskId: 'tsk_a', attempt: 2 }],
  },
  {
    type: 'hello', protocolVersion: PROTOCOL_VERSION, credential: { nodeId: 'nod_1', secret: 's' },
    node: { name: 'w', role: 'worker', capabilities: [], specializations: [], capacity: 0, resources, agentVersion: '' },
    running: [],
  },
  { type: 'heartbeat', at: 1_700_000_000_123, resources, running: [] },
  {
    type: 'reports',
    started: [{ taskId: 'tsk_a', attempt: 1, at: 1_700_000_000_000 }, { taskId: 'tsk_b', attempt: 2, at: 1_700_000_000_001 }],
    output: [{ taskId: 'tsk_a', attempt: 1, seq: 0, stream: 'stderr', data: 'héllo\n', at: 5 }],
    finished: [
      { taskId: 'tsk_a', attempt: 1, result: { exitCode: 0, error: null, durationMs: 12 } },
      { taskId: 'tsk_c', attempt: 3, result: { exitCode: null, error: 'timeout', durationMs: 0 } },
    ],
    rejected: [{ taskId: 'tsk_d', attempt: 1, reason: 'at capacity' }],
  },
  { type: 'reports', started: [], output: [], finished: [], rejected: [{ taskId: 'tsk_a', attempt: 1, reason: 'at capacity' }] },
  { type: 'reports', started: [], output: [], finished: [], rejected: [] },
  { type: 'leaving', reason: 'agent stopping', stopped: [{ taskId: 'tsk_a', attempt: 2 }] },
  { type: 'leaving', reason: 'agent stopping', stopped: [] },
];

const coordinatorMessages: CoordinatorMessage[] = [
  {
    type: 'welcome', protocolVersion: PROTOCOL_VERSION, nodeId: 'nod_1', credentialSecret: 'bnc_x',
    config: { heartbeatIntervalMs: 1000, selfFenceAfterMs: 15000 }, voidTasks: [{ taskId: 't', attempt: 1 }],
  },
  { type: 'welcome', protocolVersion: 1, nodeId: 'nod_1', config: { heartbeatIntervalMs: 250, selfFenceAfterMs: 900 }, voidTasks: [] },
  {
    type: 'executeTasks',
    tasks: [
      { taskId: 't', attempt: 1, kind: 'spark', project: null, command: ['sh', '-c', 'echo hi'], env: { A: '1' }, timeoutMs: null, needs: [] },
      { taskId: 'u', attempt: 7, kind: 'command', project: 'proj-b', command: ['true'], env: {}, timeoutMs: 30_000, needs: ['linux', 'docker'] },
    ],
  },
  { type: 'executeTasks', tasks: [] },
  { type: 'cancelTask', taskId: 't', attempt: 1, reason: 'user' },
  { type: 'voidTasks', tasks: [{ taskId: 't', attempt: 1 }] },
  { type: 'heartbeatAck', at: 1_765_000_000_123.5 },
  { type: 'resultAcks', acks: [{ taskId: 't', attempt: 1, accepted: true }, { taskId: 'u', attempt: 1, accepted: false, reason: 'superseded' }] },
  { type: 'updateConfiguration', config: { heartbeatIntervalMs: 200 } },
  { type: 'updateConfiguration', config: {} },
  { type: 'setRole', role: 'worker' },
  { type: 'emergencyShutdown', tier: 'cancel-all', reason: 'fire' },
  { type: 'error', code: ErrorCode.TokenUsed, message: 'used', fatal: true },
  { type: 'auditCheckpoint', checkpoint: { version: 1, headIndex: 0, headHash: '0'.repeat(64), at: 1, previous: null, keyId: 'k1', signature: 'c2ln' } },
  { type: 'auditCheckpoint', checkpoint: { version: 1, headIndex: 42, headHash: 'a'.repeat(64), at: 1_765_000_000_123, previous: 'b'.repeat(64), keyId: 'k1', signature: 'c2ln' } },
];

function frameError(fn: () => unknown): FrameError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FrameError);
    return err as FrameError;
  }
  throw new Error('expected a FrameError');
}

describe('codec', () => {
  it.each(agentMessages.map((m) => [m.type, m] as const))('round-trips the agent message %s', (_t, msg) => {
    expect(decodeAgentMessage(encodeAgentMessage(msg))).toEqual(msg);
  });

  it.each(coordinatorMessages.map((m) => [m.type, m] as const))('round-trips the coordinator message %s', (_t, msg) => {
    expect(decodeCoordinatorMessage(encodeCoordinatorMessage(msg))).toEqual(msg);
  });

  it('refuses bytes that are not protobuf with a ProtocolViolation', () => {
    const err = frameError(() => decodeAgentMessage(Buffer.from('garbage garbage garbage')));
    expect(err.code).toBe(ErrorCode.ProtocolViolation);
  });

  it('refuses an empty frame', () => {
    expect(frameError(() => decodeAgentMessage(Buffer.alloc(0))).code).toBe(ErrorCode.ProtocolViolation);
    expect(frameError(() => decodeCoordinatorMessage(Buffer.alloc(0))).code).toBe(ErrorCode.ProtocolViolation);
  });

  it('refuses frames above MAX_MESSAGE_BYTES before decoding them', () => {
    expect(frameError(() => decodeAgentMessage(Buffer.alloc(MAX_MESSAGE_BYTES + 1))).code).toBe(ErrorCode.PayloadTooLarge);
    const huge: AgentMessage = {
      type: 'reports', started: [], finished: [], rejected: [],
      output: [{ taskId: 't', attempt: 1, seq: 0, stream: 'stdout', data: 'x'.repeat(MAX_MESSAGE_BYTES), at: 0 }],
    };
    expect(frameError(() => encodeAgentMessage(huge)).code).toBe(ErrorCode.PayloadTooLarge);
    // Cutting cannot help a single item that is too large on its own.
    expect(frameError(() => encodeAgentFrames(huge)).code).toBe(ErrorCode.PayloadTooLarge);
  });

  it('names every invalid field of a well-formed but invalid frame', () => {
    const bytes = wire().encodeAgent({
      hello: { protocolVersion: 1, node: { name: '../etc', role: 'NODE_ROLE_UNSPECIFIED', capacity: 5000 }, running: [{ taskId: '', attempt: 0 }] },
    });
    const err = frameError(() => decodeAgentMessage(bytes));
    expect(err.code).toBe(ErrorCode.Validation);
    const paths = err.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['node.name', 'node.role', 'node.capacity', 'running[0].taskId', 'running[0].attempt']));
  });

  it('refuses a frame whose required sub-message is missing', () => {
    const err = frameError(() => decodeAgentMessage(wire().encodeAgent({ reports: { finished: [{ taskId: 't', attempt: 1 }] } })));
    expect(err.issues.map((i) => i.path)).toContain('finished[0].result');
  });

  it('refuses version 1 single-item frames as unknown messages', () => {
    // Field 5 was task_finished (reserved since version 2): a length-delimited field the frame no longer knows.
    const v1TaskFinished = Buffer.from([0x2a, 0x03, 0x0a, 0x01, 0x74]);
    expect(frameError(() => decodeAgentMessage(v1TaskFinished)).code).toBe(ErrorCode.ProtocolViolation);
  });
});

describe('batched frames', () => {
  const chunk = (taskId: string, seq: number, size: number) => ({ taskId, attempt: 1, seq, stream: 'stdout' as const, data: 'x'.repeat(size), at: 1 });
  const reportsOf = (frames: Buffer[]): TaskReports[] => frames.map((f) => decodeAgentMessage(f) as Extract<AgentMessage, { type: 'reports' }>);
  /** The reports of consecutive frames, laid end to end in the order the coordinator applies them. */
  const applied = (frames: Buffer[]) =>
    reportsOf(frames).flatMap((r) => [
      ...r.started.map((x) => `started ${x.taskId}`), ...r.output.map((x) => `output ${x.taskId}#${x.seq}`),
      ...r.finished.map((x) => `finished ${x.taskId}`), ...r.rejected.map((x) => `rejected ${x.taskId}`),
    ]);

  it('sends a batch that fits as exactly one frame', () => {
    const msg: AgentMessage = {
      type: 'reports', started: [{ taskId: 'a', attempt: 1, at: 1 }], output: [chunk('a', 0, 10)],
      finished: [{ taskId: 'a', attempt: 1, result: { exitCode: 0, error: null, durationMs: 1 } }], rejected: [],
    };
    const frames = encodeAgentFrames(msg);
    expect(frames).toHaveLength(1);
    expect(decodeAgentMessage(frames[0]!)).toEqual(msg);
  });

  it('cuts a reports batch above MAX_MESSAGE_BYTES into frames that apply in the same order', () => {
    const msg: AgentMessage = {
      type: 'reports',
      started: [{ taskId: 'a', attempt: 1, at: 1 }, { taskId: 'b', attempt: 1, at: 1 }],
      output: [chunk('a', 0, MAX_MESSAGE_BYTES / 3), chunk('a', 1, MAX_MESSAGE_BYTES / 3), chunk('b', 0, MAX_MESSAGE_BYTES / 3), chunk('b', 1, 5)],
      finished: [{ taskId: 'a', attempt: 1, result: { exitCode: 0, error: null, durationMs: 1 } }],
      rejected: [{ taskId: 'c', attempt: 1, reason: 'at capacity' }],
    };
    const frames = encodeAgentFrames(msg);
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) expect(f.length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(applied(frames)).toEqual(['started a', 'started b', 'output a#0', 'output a#1', 'output b#0', 'output b#1', 'finished a', 'rejected c']);
  });

  it('cuts batches of more than MAX_BATCH_ITEMS items, in order', () => {
    const task = (i: number): ExecuteTaskCommand => ({ taskId: `t${i}`, attempt: 1, kind: 'spark', project: null, command: ['true'], env: {}, timeoutMs: null, needs: [] });
    const tasks = Array.from({ length: MAX_BATCH_ITEMS + 3 }, (_, i) => task(i));
    const frames = encodeCoordinatorFrames({ type: 'executeTasks', tasks });
    expect(frames).toHaveLength(2);
    const decoded = frames.map((f) => decodeCoordinatorMessage(f) as Extract<CoordinatorMessage, { type: 'executeTasks' }>);
    expect(decoded.flatMap((m) => m.tasks.map((t) => t.taskId))).toEqual(tasks.map((t) => t.taskId));
    const acks = Array.from({ length: 2 * MAX_BATCH_ITEMS }, (_, i) => ({ taskId: `t${i}`, attempt: 1, accepted: true }));
    expect(encodeCoordinatorFrames({ type: 'resultAcks', acks })).toHaveLength(2);
    expect(encodeCoordinatorFrames({ type: 'heartbeatAck', at: 1 })).toHaveLength(1);
  });

  it('refuses a batch of more than MAX_BATCH_ITEMS items from the wire', () => {
    const acks = Array.from({ length: MAX_BATCH_ITEMS + 1 }, (_, i) => ({ taskId: `t${i}`, attempt: 1, accepted: true }));
    const err = frameError(() => decodeCoordinatorMessage(wire().encodeCoordinator({ resultAcks: { acks } })));
    expect(err.code).toBe(ErrorCode.Validation);
  });
});
