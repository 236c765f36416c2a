import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/index.js';
import type { CommandRunner, WorkspaceProvider } from '../engine/ports.js';
import type { CoordinatorLink, CoordinatorLinkHandlers } from '../rpc/client/index.js';
import { PROTOCOL_VERSION, type AgentMessage, type CoordinatorMessage } from '../rpc/messages.js';
import { Agent } from './agent.js';
import { AgentRefusedError } from './errors.js';
import { saveAgentState } from './state-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A data dir holding a (legacy credential) identity, so the agent dials without enrolling. */
function joinedDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bitacora-agent-test-'));
  dirs.push(dir);
  saveAgentState(dir, {
    version: 1, masterUrl: 'https://127.0.0.1:1', grpcAddress: '127.0.0.1:1', caCertPem: 'unused', caHash: 'sha256:unused',
    nodeId: 'nod_1', credentialSecret: 'bnc_secret', role: 'worker', keyPem: null, certPem: null,
  });
  return dir;
}

/** A master that answers every hello with `answer`, then ends the stream. Counts the streams opened. */
function fakeMaster(answer: CoordinatorMessage) {
  const hellos: Array<Extract<AgentMessage, { type: 'hello' }>> = [];
  const connect = (): CoordinatorLink => {
    let handlers: CoordinatorLinkHandlers | null = null;
    let closed = false;
    const link: CoordinatorLink = {
      get isClosed() {
        return closed;
      },
      start: (h) => void (handlers = h),
      send: (m) => {
        if (m.type === 'hello') {
          hellos.push(m);
          setImmediate(() => {
            handlers?.onMessage(answer);
            link.close('coordinator ended the stream');
          });
        }
        return !closed;
      },
      sendRaw: () => !closed,
      close: (reason = 'closed by agent') => {
        if (closed) return;
        closed = true;
        handlers?.onClose(reason);
      },
      closeGracefully: async (reason) => link.close(reason),
    };
    return link;
  };
  return { connect, hellos };
}

function agentAgainst(master: ReturnType<typeof fakeMaster>, errors: string[]): Agent {
  return new Agent({
    masterUrl: 'https://127.0.0.1:1',
    dataDir: joinedDataDir(),
    node: { name: 'w1', role: 'worker', capabilities: [], specializations: [], capacity: 1 },
    runner: {} as CommandRunner,
    workspaces: {} as WorkspaceProvider,
    log: { info() {}, warn() {}, error: (m) => errors.push(m) },
    // A retry loop would show at once: reconnects 1 ms apart.
    backoff: { initialMs: 1, maxMs: 1 },
    connect: master.connect,
    fetch: () => Promise.reject(new TypeError('fetch failed')),
  });
}

describe('Agent and protocol versions', () => {
  it('stops for good, logging both versions, when the master refuses its protocol version', async () => {
    const master = fakeMaster({
      type: 'error', code: ErrorCode.ProtocolVersion, fatal: true,
      message: `agent speaks protocol ${PROTOCOL_VERSION}, this coordinator speaks 1: upgrade the older side`,
    });
    const errors: string[] = [];
    const agent = agentAgainst(master, errors);
    const refused = await agent.start().then(() => null, (err: unknown) => err);
    expect(refused).toBeInstanceOf(AgentRefusedError);
    expect(refused).toMatchObject({ code: ErrorCode.ProtocolVersion });
    await expect(agent.closed).rejects.toThrow(`agent speaks protocol ${PROTOCOL_VERSION}, this coordinator speaks 1`);
    await new Promise((r) => setTimeout(r, 100));
    expect(master.hellos.map((h) => h.protocolVersion)).toEqual([PROTOCOL_VERSION]);
    expect(agent.status).toBe('closed');
    expect(errors).toEqual([expect.stringMatching(/refused this agent \(protocol 2\).*coordinator speaks 1.*not retrying/)]);
  });

  it('refuses, and stops for good, a master whose welcome states another protocol version', async () => {
    const master = fakeMaster({
      type: 'welcome', protocolVersion: 1, nodeId: 'nod_1', config: { heartbeatIntervalMs: 1000, selfFenceAfterMs: 15_000 }, voidTasks: [],
    });
    const errors: string[] = [];
    const agent = agentAgainst(master, errors);
    await expect(agent.start()).rejects.toThrow(`master speaks protocol 1, this agent speaks ${PROTOCOL_VERSION}`);
    await new Promise((r) => setTimeout(r, 100));
    expect(master.hellos).toHaveLength(1);
    expect(agent.status).toBe('closed');
    expect(errors).toEqual([expect.stringContaining(`${ErrorCode.ProtocolVersion}: master speaks protocol 1, this agent speaks 2`)]);
  });
});
