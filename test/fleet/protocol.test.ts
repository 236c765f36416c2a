/** Hostile and broken agent input against a real master: each bad stream is answered and recorded, everyone else keeps working. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetEvent, Task } from '../../src/core/index.js';
import { enrollNode } from '../../src/agent/index.js';
import { connectToCoordinator, type CoordinatorLink } from '../../src/rpc/client/index.js';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION, type AgentMessage, type CoordinatorMessage } from '../../src/rpc/messages.js';
import { AgentProcess, Cleanup, freePort, MasterProcess, waitFor } from '../helpers/processes.js';

const cleanup = new Cleanup();
let master: MasterProcess;
let caCertPem: string;
let worker: AgentProcess;

beforeAll(async () => {
  const dir = cleanup.dir();
  master = cleanup.track(await MasterProcess.start({ dataDir: join(dir, 'master'), httpPort: await freePort(), grpcPort: await freePort() }));
  caCertPem = ((await (await fetch(`${master.info.httpUrl}/v1/join-info`)).json()) as { caCertPem: string }).caCertPem;
  const { token } = await master.createToken();
  worker = cleanup.track(AgentProcess.spawn({ masterUrl: master.info.httpUrl, token, caHash: master.info.caHash, name: 'honest', dataDir: join(dir, 'honest') }));
  await worker.joined();
});
afterAll(() => cleanup.run());

/** A raw stream to the master (mutual TLS when `identity` is given), collecting what it answers until it closes. */
function rawStream(identity?: { keyPem: string; certPem: string }): { link: CoordinatorLink; received: CoordinatorMessage[]; closed: Promise<string> } {
  const link = connectToCoordinator({
    address: master.info.grpcAddress,
    caCertPem,
    ...(identity ? { clientKeyPem: identity.keyPem, clientCertPem: identity.certPem } : {}),
  });
  const received: CoordinatorMessage[] = [];
  const closed = new Promise<string>((resolve) => link.start({ onMessage: (m) => received.push(m), onInvalid: () => {}, onClose: resolve }));
  return { link, received, closed };
}

const node = { name: 'raw', role: 'worker' as const, capabilities: [], specializations: [], capacity: 1, resources: { cpus: 1, memoryBytes: 1, load: 0 }, agentVersion: 'test' };

async function violations(): Promise<FleetEvent[]> {
  return (await master.call<FleetEvent[]>('events')).filter((e) => e.type === 'protocol.violation');
}

async function honestWorkerStillRuns(): Promise<void> {
  const { task } = await master.call<{ task: Task }>('submitTask', { command: ['true'] });
  await waitFor('the honest worker ran a task', async () => (await master.call<Task>('getTask', task.id)).state === 'succeeded');
}

describe('bad input on the agent stream', () => {
  it('answers bytes that are not protobuf with an error and closes that stream', async () => {
    const before = (await violations()).length;
    const s = rawStream();
    s.link.sendRaw(Buffer.from('this is not a protobuf frame at all'));
    await s.closed;
    expect(s.received).toEqual([expect.objectContaining({ type: 'error', code: 'BIT_ERR_PROTOCOL_VIOLATION', fatal: true })]);
    expect((await violations()).length).toBe(before + 1);
    await honestWorkerStillRuns();
  });

  it('refuses a heartbeat before hello', async () => {
    const s = rawStream();
    s.link.send({ type: 'heartbeat', at: Date.now(), resources: node.resources, running: [] });
    await s.closed;
    expect(s.received[0]).toMatchObject({ type: 'error', code: 'BIT_ERR_PROTOCOL_VIOLATION', fatal: true });
    expect((s.received[0] as { message: string }).message).toContain('before hello');
    await honestWorkerStillRuns();
  });

  it('refuses an oversized frame with PayloadTooLarge', async () => {
    const s = rawStream();
    s.link.sendRaw(Buffer.alloc(MAX_MESSAGE_BYTES + 1024, 1));
    await s.closed;
    expect(s.received[0]).toMatchObject({ type: 'error', code: 'BIT_ERR_PAYLOAD_TOO_LARGE' });
    await honestWorkerStillRuns();
  });

  it('refuses an agent of protocol version 1 with an error naming both versions, and closes its stream', async () => {
    expect(PROTOCOL_VERSION).toBe(2);
    const { token } = await master.createToken();
    const s = rawStream();
    // Version 1's hello has the same shape: only the version it states differs.
    s.link.send({ type: 'hello', protocolVersion: 1, joinToken: token, node: { ...node, name: 'raw-v1' }, running: [] });
    await s.closed;
    expect(s.received).toEqual([expect.objectContaining({ type: 'error', code: 'BIT_ERR_PROTOCOL_VERSION', fatal: true })]);
    const { message } = s.received[0] as { message: string };
    expect(message).toContain('agent speaks protocol 1');
    expect(message).toContain('this coordinator speaks 2');
  });

  it('refuses a hello with another protocol version', async () => {
    const { token } = await master.createToken();
    const s = rawStream();
    s.link.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION + 1, joinToken: token, node, running: [] });
    await s.closed;
    expect(s.received[0]).toMatchObject({ type: 'error', code: 'BIT_ERR_PROTOCOL_VERSION', fatal: true });
  });

  it('after hello, answers results for unknown tasks and bad frames without closing, until too many', async () => {
    const { token } = await master.createToken();
    // First join on a certless stream yields a certificate; the traffic then flows over mutual TLS.
    const identity = await enrollNode({ address: master.info.grpcAddress, caCertPem, token, node: { ...node, name: 'raw-joined' } });
    const s = rawStream(identity);
    const send = (m: AgentMessage) => s.link.send(m);
    send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, node: { ...node, name: 'raw-joined' }, running: [] });
    await waitFor('welcome', () => s.received.some((m) => m.type === 'welcome'));
    send({ type: 'reports', started: [], output: [], finished: [{ taskId: 'tsk_does_not_exist', attempt: 1, result: { exitCode: 0, error: null, durationMs: 1 } }], rejected: [] });
    const acks = await waitFor('ack refusing the unknown task', () => s.received.find((m) => m.type === 'resultAcks'));
    expect(acks).toEqual({ type: 'resultAcks', acks: [{ taskId: 'tsk_does_not_exist', attempt: 1, accepted: false, reason: 'unknown task' }] });
    expect(s.received.find((m) => m.type === 'error')).toMatchObject({ code: 'BIT_ERR_PROTOCOL_VIOLATION', fatal: false });
    s.link.sendRaw(Buffer.from([0x0a, 0xff, 0xff]));
    await waitFor('error for the bad frame', () => s.received.filter((m) => m.type === 'error').length >= 2);
    expect(s.link.isClosed).toBe(false);
    // A flood of bad frames ends the stream; the node itself stays a member.
    for (let i = 0; i < 30; i++) s.link.sendRaw(Buffer.from('garbage'));
    await s.closed;
    await honestWorkerStillRuns();
  });
});

describe('batched task traffic', () => {
  it('assigns a pass to a node in one executeTasks frame and answers a burst of results with one resultAcks frame', async () => {
    const { token } = await master.createToken();
    const info = { ...node, name: 'raw-batch', capacity: 8 };
    const identity = await enrollNode({ address: master.info.grpcAddress, caCertPem, token, node: info });
    const s = rawStream(identity);
    s.link.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, node: info, running: [] });
    await waitFor('welcome', () => s.received.some((m) => m.type === 'welcome'));
    const beat = setInterval(() => s.link.send({ type: 'heartbeat', at: Date.now(), resources: node.resources, running: [] }), 200);
    try {
      // One submission of eight tasks pinned to this node: one dispatch pass places them all.
      const submitted = await master.call<{ task: Task }[]>('submitTasks', Array.from({ length: 8 }, () => ({ command: ['true'], pinnedNode: 'raw-batch' })));
      const ids = submitted.map((r) => r.task.id);
      await waitFor('all eight assigned', () => s.received.flatMap((m) => (m.type === 'executeTasks' ? m.tasks : [])).length === 8);
      const frames = s.received.filter((m): m is Extract<CoordinatorMessage, { type: 'executeTasks' }> => m.type === 'executeTasks');
      expect(frames).toHaveLength(1);
      expect(frames[0]!.tasks.map((t) => t.taskId).sort()).toEqual([...ids].sort());

      // The whole burst — every start and every result — in one reports frame.
      const refs = frames[0]!.tasks.map((t) => ({ taskId: t.taskId, attempt: t.attempt }));
      s.link.send({
        type: 'reports',
        started: refs.map((r) => ({ ...r, at: Date.now() })),
        output: refs.map((r) => ({ ...r, seq: 0, stream: 'stdout' as const, data: `${r.taskId}\n`, at: Date.now() })),
        finished: refs.map((r) => ({ ...r, result: { exitCode: 0, error: null, durationMs: 1 } })),
        rejected: [],
      });
      await waitFor('acks of the burst', () => s.received.flatMap((m) => (m.type === 'resultAcks' ? m.acks : [])).length >= 8);
      const ackFrames = s.received.filter((m): m is Extract<CoordinatorMessage, { type: 'resultAcks' }> => m.type === 'resultAcks');
      expect(ackFrames).toHaveLength(1);
      expect(ackFrames[0]!.acks.map((a) => [a.taskId, a.accepted]).sort()).toEqual(refs.map((r) => [r.taskId, true]).sort());
      for (const id of ids) expect(await master.call<Task>('getTask', id)).toMatchObject({ state: 'succeeded' });
    } finally {
      clearInterval(beat);
      s.link.close();
    }
  });
});
