import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/index.js';
import {
  decodeAgentMessage, decodeCoordinatorMessage, encodeAgentMessage, encodeCoordinatorMessage,
} from './codec.js';
import { FrameError } from './errors.js';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION, type AgentMessage, type CoordinatorMessage } from './messages.js';
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
  { type: 'taskStarted', taskId: 'tsk_a', attempt: 1, at: 1_700_000_000_000 },
  { type: 'taskOutput', chunks: [{ taskId: 'tsk_a', attempt: 1, seq: 0, stream: 'stderr', data: 'héllo\n', at: 5 }] },
  { type: 'taskFinished', taskId: 'tsk_a', attempt: 1, result: { exitCode: 0, error: null, durationMs: 12 } },
  { type: 'taskFinished', taskId: 'tsk_a', attempt: 3, result: { exitCode: null, error: 'timeout', durationMs: 0 } },
  { type: 'taskRejected', taskId: 'tsk_a', attempt: 1, reason: 'at capacity' },
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
    type: 'executeTask',
    task: { taskId: 't', attempt: 1, kind: 'spark', project: null, command: ['sh', '-c', 'echo hi'], env: { A: '1' }, timeoutMs: null, needs: [] },
  },
  {
    type: 'executeTask',
    task: { taskId: 't', attempt: 7, kind: 'command', project: 'proj-b', command: ['true'], env: {}, timeoutMs: 30_000, needs: ['linux', 'docker'] },
  },
  { type: 'cancelTask', taskId: 't', attempt: 1, reason: 'user' },
  { type: 'voidTasks', tasks: [{ taskId: 't', attempt: 1 }] },
  { type: 'heartbeatAck', at: 1_765_000_000_123.5 },
  { type: 'resultAck', taskId: 't', attempt: 1, accepted: true },
  { type: 'resultAck', taskId: 't', attempt: 1, accepted: false, reason: 'superseded' },
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
      type: 'taskOutput',
      chunks: [{ taskId: 't', attempt: 1, seq: 0, stream: 'stdout', data: 'x'.repeat(MAX_MESSAGE_BYTES), at: 0 }],
    };
    expect(frameError(() => encodeAgentMessage(huge)).code).toBe(ErrorCode.PayloadTooLarge);
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
    const err = frameError(() => decodeAgentMessage(wire().encodeAgent({ taskFinished: { taskId: 't', attempt: 1 } })));
    expect(err.issues.map((i) => i.path)).toContain('result');
  });
});
