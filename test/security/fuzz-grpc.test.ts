/**
 * Hostile input at the agent endpoint (gRPC over TLS). Two layers:
 * - the codec (src/rpc/codec.ts) as pure properties: decoding arbitrary or corrupted bytes only
 *   ever throws a FrameError with a stable code, and encode∘decode round-trips valid messages;
 * - a real master (startMaster) fed arbitrary frames on certless streams and well-typed but
 *   hostile messages on authenticated ones (results before hello, for tasks never assigned,
 *   for another node's task, huge strings, out-of-range numbers, unknown enum values). The
 *   master answers or closes the stream, nothing it stores changes, another node's task is
 *   untouched, and afterwards a real agent still joins and runs a task.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/index.js';
import {
  decodeAgentMessage, decodeCoordinatorMessage, encodeAgentMessage, encodeCoordinatorMessage,
} from '../../src/rpc/codec.js';
import { FrameError } from '../../src/rpc/errors.js';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION, type AgentMessage, type CoordinatorMessage, type TaskRef } from '../../src/rpc/messages.js';
import { agentMessageSchema, coordinatorMessageSchema } from '../../src/rpc/schemas.js';
import { wire } from '../../src/rpc/wire.js';
import { RawAgent, reports, type RawIdentity } from '../helpers/faults/raw-agent.js';
import { startFuzzMaster, waitFor, type FuzzMaster } from './fuzz-master.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, liveParams } from './fuzz-support.js';

const FRAME_CODES = new Set<string>([ErrorCode.ProtocolViolation, ErrorCode.Validation, ErrorCode.PayloadTooLarge]);

/** Decodes, asserting the only failure is a FrameError with a boundary code; a success must satisfy the schema. */
function decodeOrFrameError<M>(decode: (b: Buffer) => M, schema: { parse(v: unknown): unknown }, bytes: Buffer): M | FrameError {
  try {
    const message = decode(bytes);
    schema.parse(message);
    return message;
  } catch (err) {
    if (!(err instanceof FrameError)) {
      throw new Error(`decode threw ${(err as Error)?.name ?? typeof err} instead of a FrameError: ${String(err)}`, { cause: err });
    }
    expect(FRAME_CODES.has(err.code), err.code).toBe(true);
    expect(err.message.length).toBeGreaterThan(0);
    return err;
  }
}

// ───────────── arbitraries of valid messages ─────────────

const id = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme-ascii' });
const attempt = fc.integer({ min: 1, max: 2_147_483_647 });
/** A finite double; -0 is sent as proto3's default (absent) and reads back as 0, so it is left out. */
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n));
const nonNegative = fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n));
const text = (max: number) => fc.string({ maxLength: max, unit: 'binary' });
const slug = fc.stringMatching(/^[a-z0-9](?:[a-z0-9_-]{0,20}[a-z0-9])?$/);
const capability = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/);
const resources = fc.record({ cpus: fc.integer({ min: 0, max: 65_536 }), memoryBytes: nonNegative, load: nonNegative });
const ref: fc.Arbitrary<TaskRef> = fc.record({ taskId: id, attempt });
const pem = fc.string({ maxLength: 200, unit: 'grapheme-ascii' }).map((body) => `-----BEGIN CERTIFICATE REQUEST-----\n${body}`);

const validAgentMessage: fc.Arbitrary<AgentMessage> = fc.oneof(
  fc.record(
    {
      type: fc.constant('hello' as const),
      protocolVersion: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      joinToken: fc.string({ minLength: 1, maxLength: 60 }),
      credential: fc.record({ nodeId: id, secret: fc.string({ minLength: 1, maxLength: 60 }) }),
      csrPem: pem,
      node: fc.record({
        name: slug, role: fc.constantFrom('worker' as const, 'hybrid' as const),
        capabilities: fc.array(capability, { maxLength: 4 }), specializations: fc.array(capability, { maxLength: 4 }),
        capacity: fc.integer({ min: 0, max: 1024 }), resources, agentVersion: text(64),
      }),
      running: fc.array(ref, { maxLength: 5 }),
    },
    { requiredKeys: ['type', 'protocolVersion', 'node', 'running'] },
  ),
  fc.record({ type: fc.constant('heartbeat' as const), at: finite, resources, running: fc.array(ref, { maxLength: 5 }) }),
  fc.record({
    type: fc.constant('reports' as const),
    started: fc.array(fc.record({ taskId: id, attempt, at: finite }), { maxLength: 4 }),
    output: fc.array(
      fc.record({ taskId: id, attempt, seq: fc.integer({ min: 0, max: 2 ** 32 - 1 }), stream: fc.constantFrom('stdout' as const, 'stderr' as const, 'system' as const), data: text(100), at: finite }),
      { maxLength: 4 },
    ),
    finished: fc.array(
      fc.record({
        taskId: id, attempt,
        result: fc.record({
          exitCode: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { nil: null }),
          error: fc.option(text(200), { nil: null }),
          durationMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        }),
      }),
      { maxLength: 4 },
    ),
    rejected: fc.array(fc.record({ taskId: id, attempt, reason: text(100) }), { maxLength: 4 }),
  }),
  fc.record({ type: fc.constant('leaving' as const), reason: text(100), stopped: fc.array(ref, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('renewCertificate' as const), csrPem: pem }),
);

const validCoordinatorMessage: fc.Arbitrary<CoordinatorMessage> = fc.oneof(
  fc.record(
    {
      type: fc.constant('welcome' as const), protocolVersion: fc.integer({ min: 0, max: 2 ** 32 - 1 }), nodeId: id,
      credentialSecret: fc.string({ minLength: 1, maxLength: 60 }), certificatePem: pem,
      config: fc.record({ heartbeatIntervalMs: fc.integer({ min: 10, max: 3_600_000 }), selfFenceAfterMs: fc.integer({ min: 10, max: 86_400_000 }) }),
      voidTasks: fc.array(ref, { maxLength: 4 }),
    },
    { requiredKeys: ['type', 'protocolVersion', 'nodeId', 'config', 'voidTasks'] },
  ),
  fc.record({
    type: fc.constant('executeTasks' as const),
    tasks: fc.array(
      fc.record({
        taskId: id, attempt, kind: fc.constantFrom('spark' as const, 'command' as const, 'action' as const),
        project: fc.option(slug, { nil: null }), command: fc.array(text(40), { minLength: 1, maxLength: 5 }),
        env: fc.dictionary(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/), text(30), { maxKeys: 4 }),
        timeoutMs: fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: null }),
        needs: fc.array(slug, { maxLength: 4 }),
      }),
      { maxLength: 4 },
    ),
  }),
  fc.record({ type: fc.constant('cancelTask' as const), taskId: id, attempt, reason: text(100) }),
  fc.record({ type: fc.constant('voidTasks' as const), tasks: fc.array(ref, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('heartbeatAck' as const), at: finite }),
  fc.record({
    type: fc.constant('resultAcks' as const),
    acks: fc.array(
      fc.record(
        { taskId: id, attempt, accepted: fc.boolean(), reason: fc.string({ minLength: 1, maxLength: 50 }) },
        { requiredKeys: ['taskId', 'attempt', 'accepted'] },
      ),
      { maxLength: 4 },
    ),
  }),
  fc.record({
    type: fc.constant('updateConfiguration' as const),
    config: fc.record({ heartbeatIntervalMs: fc.integer({ min: 10, max: 3_600_000 }), selfFenceAfterMs: fc.integer({ min: 10, max: 86_400_000 }) }, { requiredKeys: [] }),
  }),
  fc.record({ type: fc.constant('setRole' as const), role: fc.constantFrom('worker' as const, 'hybrid' as const) }),
  fc.record({ type: fc.constant('emergencyShutdown' as const), tier: fc.constantFrom('stop-dispatch' as const, 'cancel-all' as const, 'shutdown-nodes' as const), reason: text(50) }),
  fc.record({ type: fc.constant('error' as const), code: fc.string({ maxLength: 64 }), message: text(200), fatal: fc.boolean() }),
  fc.record({ type: fc.constant('certificate' as const), certificatePem: pem, notAfter: finite }),
);

// ───────────── arbitraries of hostile bytes ─────────────

/** Byte-level damage to an encoded frame: flips, truncation, splices, duplication. */
const corrupt = (bytes: Buffer) =>
  fc.oneof(
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
      const b = Buffer.from(bytes);
      if (b.length > 0) b[at % b.length]! ^= x;
      return b;
    }),
    fc.nat().map((n) => bytes.subarray(0, bytes.length === 0 ? 0 : n % bytes.length)),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, ins]) => {
      const i = bytes.length === 0 ? 0 : at % bytes.length;
      return Buffer.concat([bytes.subarray(0, i), Buffer.from(ins), bytes.subarray(i)]);
    }),
    fc.constant(Buffer.concat([bytes, bytes])),
  );

/** Protobuf-shaped noise: random field numbers, wire types and (often bogus) lengths. */
const protobufish = fc
  .array(
    fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 24 }), fc.integer({ min: 0, max: 300 })),
    { maxLength: 8 },
  )
  .map((fields) =>
    Buffer.concat(
      fields.map(([field, wt, payload, len]) => {
        const key = varint((field << 3) | wt);
        if (wt === 2) return Buffer.concat([key, varint(len % 2 === 0 ? payload.length : len), Buffer.from(payload)]);
        return Buffer.concat([key, Buffer.from(payload)]);
      }),
    ),
  );

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/** Well-typed wire objects the domain codec would never produce: unknown enums, out-of-range numbers, NaN. */
const hostileWireFrame = fc.oneof(
  fc.record({
    hello: fc.record({
      protocolVersion: fc.integer({ min: -5, max: 2 ** 32 + 5 }),
      joinToken: fc.oneof(fc.constant(''), fc.string({ maxLength: 2000 })),
      node: fc.record({
        name: fc.string({ maxLength: 100 }), role: fc.oneof(fc.integer({ min: -3, max: 99 }), fc.constantFrom('NODE_ROLE_WORKER', 'NODE_ROLE_UNSPECIFIED')),
        capabilities: fc.array(fc.string({ maxLength: 80 }), { maxLength: 70 }), specializations: fc.array(fc.string(), { maxLength: 3 }),
        capacity: fc.integer({ min: -10, max: 1_000_000 }), resources: fc.record({ cpus: fc.integer(), memoryBytes: fc.double(), load: fc.double() }),
        agentVersion: fc.string({ maxLength: 100 }),
      }),
      running: fc.array(fc.record({ taskId: fc.string({ maxLength: 200 }), attempt: fc.integer() }), { maxLength: 5 }),
    }),
  }),
  fc.record({ heartbeat: fc.record({ at: fc.double(), resources: fc.option(fc.record({ cpus: fc.integer(), memoryBytes: fc.double(), load: fc.double() }), { nil: null }) }) }),
  fc.record({
    reports: fc.record(
      {
        started: fc.array(fc.record({ taskId: fc.string({ maxLength: 300 }), attempt: fc.integer(), at: fc.double() }), { maxLength: 3 }),
        output: fc.array(fc.record({ taskId: fc.string(), attempt: fc.integer(), seq: fc.integer(), stream: fc.oneof(fc.integer({ min: -1, max: 50 }), fc.constant('LOG_STREAM_STDOUT')), data: fc.string({ maxLength: 500 }), at: fc.double() }), { maxLength: 4 }),
        finished: fc.array(
          fc.record({
            taskId: fc.string({ maxLength: 300 }), attempt: fc.integer(),
            result: fc.option(fc.record({ exitCode: fc.integer(), error: fc.string({ maxLength: 5000 }), durationMs: fc.double() }, { requiredKeys: ['durationMs'] }), { nil: null }),
          }),
          { maxLength: 3 },
        ),
        rejected: fc.array(fc.record({ taskId: fc.string(), attempt: fc.integer(), reason: fc.string({ maxLength: 1500 }) }), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ renewCertificate: fc.record({ csrPem: fc.oneof(fc.string(), fc.constant(`-----BEGIN X-----${'A'.repeat(20_000)}`)) }) }),
  fc.constant({}),
);

function encodeWireAgent(frame: unknown): Buffer | null {
  try {
    return wire().encodeAgent(frame as never);
  } catch {
    return null; // protobufjs refused to encode it: nothing to send
  }
}

const hostileBytes = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)), weight: 3 },
  { arbitrary: protobufish, weight: 3 },
  { arbitrary: validAgentMessage.chain((m) => corrupt(encodeAgentMessage(m))), weight: 4 },
  { arbitrary: hostileWireFrame.map((f) => encodeWireAgent(f) ?? Buffer.alloc(0)), weight: 4 },
  { arbitrary: fc.constantFrom(Buffer.alloc(0), Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x0a), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), weight: 1 },
);

// ───────────── codec properties ─────────────

describe('agent protocol codec under hostile bytes', () => {
  it('decodeAgentMessage throws only FrameErrors on arbitrary and corrupted bytes', () => {
    fc.assert(fc.property(hostileBytes, (bytes) => void decodeOrFrameError(decodeAgentMessage, agentMessageSchema, bytes)), fuzzParams(1500));
  }, FUZZ_TIMEOUT_MS);

  it('decodeCoordinatorMessage throws only FrameErrors on arbitrary and corrupted bytes', () => {
    const coordinatorBytes = fc.oneof(
      fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
      protobufish,
      validCoordinatorMessage.chain((m) => corrupt(encodeCoordinatorMessage(m))),
      // Agent frames sent to an agent: same wire, other message type.
      validAgentMessage.map((m) => encodeAgentMessage(m)),
      fc.record({
        executeTasks: fc.record({
          tasks: fc.array(
            fc.record({
              taskId: fc.string(), attempt: fc.integer(), kind: fc.integer({ min: -1, max: 9 }), command: fc.array(fc.string(), { maxLength: 3 }),
              env: fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'PATH', 'toString', ''), fc.string()), timeoutMs: fc.double(),
            }),
            { maxLength: 3 },
          ),
        }),
      }).map((f) => {
        try {
          return wire().encodeCoordinator(f as never);
        } catch {
          return Buffer.alloc(0);
        }
      }),
    );
    fc.assert(fc.property(coordinatorBytes, (bytes) => void decodeOrFrameError(decodeCoordinatorMessage, coordinatorMessageSchema, bytes)), fuzzParams(1500));
  }, FUZZ_TIMEOUT_MS);

  it('re-encodes whatever it accepted to the same message (decode → encode → decode is stable)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(hostileBytes, (bytes) => {
        const m = decodeOrFrameError(decodeAgentMessage, agentMessageSchema, bytes);
        if (m instanceof FrameError) return;
        accepted++;
        expect(decodeAgentMessage(encodeAgentMessage(m))).toEqual(m);
      }),
      fuzzParams(1500),
    );
    expect(accepted).toBeGreaterThan(0);
  }, FUZZ_TIMEOUT_MS);

  it('round-trips every valid agent message', () => {
    fc.assert(fc.property(validAgentMessage, (m) => void expect(decodeAgentMessage(encodeAgentMessage(m))).toEqual(m)), fuzzParams(1000));
  }, FUZZ_TIMEOUT_MS);

  it('round-trips every valid coordinator message', () => {
    fc.assert(fc.property(validCoordinatorMessage, (m) => void expect(decodeCoordinatorMessage(encodeCoordinatorMessage(m))).toEqual(m)), fuzzParams(1000));
  }, FUZZ_TIMEOUT_MS);
});

// ───────────── the live endpoint ─────────────

describe('agent endpoint of a real master under hostile frames', () => {
  let fm: FuzzMaster;
  let owner: RawAgent;
  let mallory: RawIdentity;
  let victim: TaskRef;
  let beat: NodeJS.Timeout;
  const snapshot = async () => ({
    tasks: (await fm.master.fleet.listTasks()).map((t) => ({ id: t.id, state: t.state, attempt: t.attempt, nodeId: t.nodeId })),
    nodes: fm.master.fleet.listNodes().map((n) => ({ id: n.id, name: n.name, drained: n.status === 'draining' })),
  });
  let before: Awaited<ReturnType<typeof snapshot>>;
  let seqBefore = 0;

  beforeAll(async () => {
    fm = await startFuzzMaster('fuzz-grpc');
    owner = await RawAgent.connect(fm.raw, { name: 'owner', capacity: 4 });
    const resources = { cpus: 1, memoryBytes: 1 << 30, load: 0 };
    beat = setInterval(() => {
      if (!owner.isClosed) owner.send({ type: 'heartbeat', at: Date.now(), resources, running: [victim].filter(Boolean) });
    }, 200);
    const m = await RawAgent.connect(fm.raw, { name: 'mallory', capacity: 0 });
    mallory = m.identity;
    m.close();
    const { task } = await fm.master.fleet.submitTask({ command: ['sleep', '600'] });
    const assigned = await owner.execute(task.id, 1);
    victim = { taskId: assigned.taskId, attempt: assigned.attempt };
    owner.send(owner.started(victim));
    await waitFor('victim running', async () => (await fm.master.fleet.getTask(task.id)).state === 'running');
    before = await snapshot();
    seqBefore = await fm.master.backbone.events.latestSeq();
  }, 60_000);

  afterAll(async () => {
    clearInterval(beat);
    owner?.close();
    await fm?.close();
  });

  /** Nothing the fleet stores changed: tasks, nodes, and no task events but refusals since the snapshot. */
  async function assertUnchanged(): Promise<void> {
    expect(fm.stoppedEarly()).toBe(false);
    expect(await snapshot()).toEqual(before);
    const events = await fm.master.backbone.events.read(seqBefore, 100_000);
    // `task.fenced` records a refused report (wrong node or attempt): a denial, not a change.
    const taskEvents = events.filter((e) => e.type.startsWith('task.') && e.type !== 'task.fenced');
    expect(taskEvents, JSON.stringify(taskEvents.slice(0, 3))).toEqual([]);
    expect(owner.isClosed, `owner stream closed: ${owner.closedReason}`).toBe(false);
  }

  /**
   * Sends the frames, then an empty frame (always refused: "no known message") and waits until
   * the master has answered it with an error frame or closed the stream: proof it read them all.
   */
  async function sendAndSettle(agent: RawAgent, frames: Buffer[]): Promise<void> {
    const errorsBefore = agent.received.filter((m) => m.type === 'error').length;
    for (const f of frames) if (!agent.sendRaw(f)) break;
    agent.sendRaw(Buffer.alloc(0));
    await waitFor(
      'an error frame or the stream closed',
      () => agent.isClosed || agent.closedReason !== null || agent.received.filter((m) => m.type === 'error').length > errorsBefore,
      15_000,
      10,
    );
  }

  it('answers arbitrary frames on certless (join) streams with an error or a close, changing nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileBytes, { minLength: 1, maxLength: 4 }), async (frames) => {
        const agent = await RawAgent.open(fm.raw, 'fuzz-anon');
        try {
          await sendAndSettle(agent, frames);
          for (const m of agent.received) {
            expect(m.type === 'error' || m.type === 'welcome').toBe(true);
            if (m.type === 'error') expect(m.code).toMatch(/^BIT_ERR_[A-Z_]+$/);
          }
          expect(agent.received.some((m) => m.type === 'welcome')).toBe(false);
        } finally {
          agent.close();
        }
        await assertUnchanged();
      }),
      liveParams(60),
    );
  }, FUZZ_TIMEOUT_MS);

  it('refuses well-typed hostile messages from an authenticated node without touching other nodes’ tasks', async () => {
    const resources = { cpus: 1, memoryBytes: 1 << 30, load: 0 };
    const taskId = fc.oneof(
      fc.constant(null), // the victim's id: another node's task
      fc.string({ minLength: 1, maxLength: 128 }),
      fc.constantFrom('../../etc/passwd', "tsk_'; DROP TABLE tasks;--", '\u0000', 'x'.repeat(129)),
    );
    const hostileAttempt = fc.oneof(fc.constant(null), fc.integer({ min: -5, max: 5 }), fc.constantFrom(2 ** 31, 2 ** 32 - 1, 2 ** 32 + 1, 1.5));
    const message = fc.tuple(
      fc.constantFrom('started', 'output', 'finished', 'rejected', 'burst', 'heartbeat', 'hello', 'renewCertificate', 'wire'),
      taskId, hostileAttempt, fc.string({ maxLength: 50 }), fc.integer({ min: 0, max: 2 }), hostileWireFrame,
    ).map(([kind, tid, att, s, size, wireFrame]): Buffer | null => {
      const t = tid ?? victim.taskId;
      const a = att ?? victim.attempt;
      const big = ['', 'x'.repeat(5_000), 'y'.repeat(3 * 1024 * 1024)][size]!;
      switch (kind) {
        case 'started': return encodeAgentMessage(reports({ started: [{ taskId: t, attempt: a, at: -1e300 }] }));
        case 'output': return encodeAgentMessage(reports({ output: [{ taskId: t, attempt: a, seq: 0, stream: 'stdout', data: big || s, at: 1 }] }));
        case 'finished': return encodeAgentMessage(reports({ finished: [{ taskId: t, attempt: a, result: { exitCode: -1, error: big || null, durationMs: 1 } }] }));
        case 'rejected': return encodeAgentMessage(reports({ rejected: [{ taskId: t, attempt: a, reason: big || s }] }));
        // Every kind of report in one frame, about the victim and the fuzzed ref: each item is refused on its own.
        case 'burst': return encodeAgentMessage(reports({
          started: [{ taskId: t, attempt: a, at: 1 }, { ...victim, at: 1 }],
          output: [{ taskId: t, attempt: a, seq: 0, stream: 'stdout', data: s, at: 1 }, { ...victim, seq: 1_000_000, stream: 'stderr', data: 'forged', at: 1 }],
          finished: [{ ...victim, result: { exitCode: 0, error: null, durationMs: 1 } }, { taskId: t, attempt: a, result: { exitCode: 0, error: null, durationMs: 1 } }],
          rejected: [{ ...victim, reason: 'forged' }],
        }));
        case 'heartbeat': return encodeAgentMessage({ type: 'heartbeat', at: Date.now(), resources, running: [{ taskId: t, attempt: a }] });
        case 'hello':
          // A second hello, claiming the owner's name and id.
          return encodeAgentMessage({
            type: 'hello', protocolVersion: PROTOCOL_VERSION, credential: { nodeId: owner.nodeId, secret: s || 'x' },
            node: { name: 'owner', role: 'hybrid', capabilities: [], specializations: [], capacity: 4, resources, agentVersion: big.slice(0, 100) },
            running: [victim],
          });
        case 'renewCertificate': return encodeAgentMessage({ type: 'renewCertificate', csrPem: `-----BEGIN CERTIFICATE REQUEST-----\n${s}` });
        default: return encodeWireAgent(wireFrame);
      }
    });
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(message, { minLength: 1, maxLength: 5 }), async (sayHello, frames) => {
        const agent = sayHello ? await RawAgent.connect(fm.raw, { name: 'mallory', identity: mallory, capacity: 0 }) : await RawAgent.open(fm.raw, 'mallory', mallory);
        try {
          await sendAndSettle(agent, frames.filter((f): f is Buffer => f !== null));
          for (const m of agent.received) {
            if (m.type === 'error') expect(m.code).toMatch(/^BIT_ERR_[A-Z_]+$/);
            if (m.type === 'resultAcks') for (const ack of m.acks) expect(ack.accepted).toBe(false);
            expect(m.type).not.toBe('executeTasks');
          }
        } finally {
          agent.close();
        }
        await assertUnchanged();
      }),
      liveParams(40),
    );
  }, FUZZ_TIMEOUT_MS);

  it('refuses a frame above the codec limit with PayloadTooLarge, and one above the transport limit by cutting the stream', async () => {
    const agent = await RawAgent.open(fm.raw, 'fuzz-big', mallory);
    try {
      await sendAndSettle(agent, [Buffer.alloc(MAX_MESSAGE_BYTES + 10, 0x0a)]);
      const first = agent.received.find((m) => m.type === 'error');
      if (first?.type === 'error') expect([ErrorCode.PayloadTooLarge, ErrorCode.ProtocolViolation]).toContain(first.code);
    } finally {
      agent.close();
    }
    const huge = await RawAgent.open(fm.raw, 'fuzz-huge', mallory);
    try {
      huge.sendRaw(Buffer.alloc(2 * MAX_MESSAGE_BYTES + 10, 0x0a));
      await waitFor('the oversized stream is cut', () => huge.isClosed || huge.received.some((m) => m.type === 'error'), 20_000, 10);
    } finally {
      huge.close();
    }
    await assertUnchanged();
  });

  it('still serves valid traffic: the owner finishes its task and a real agent joins and runs one', async () => {
    await assertUnchanged();
    owner.send(owner.finished(victim));
    await owner.until('ack of the victim', (m) => m.type === 'resultAcks' && m.acks.some((a) => a.taskId === victim.taskId && a.accepted));
    await waitFor('victim succeeded', async () => (await fm.master.fleet.getTask(victim.taskId)).state === 'succeeded');
    await fm.master.fleet.drainNode('owner');

    await fm.joinRealAgent('fuzz-real');
    await waitFor('real agent ready', () => fm.master.fleet.listNodes().some((n) => n.name === 'fuzz-real' && n.status === 'ready'));
    const { task } = await fm.master.fleet.submitTask({ command: ['sh', '-c', 'echo after-fuzz'] });
    await waitFor('task after the fuzz succeeded', async () => (await fm.master.fleet.getTask(task.id)).state === 'succeeded', 30_000);
    expect((await fm.master.fleet.getTask(task.id)).nodeId).toBe(fm.master.fleet.getNode('fuzz-real').id);
  });
});
