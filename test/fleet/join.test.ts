/**
 * Joining: bad, expired and reused tokens are refused, recorded and audited as denied joins; a
 * wrong CA pin makes the agent refuse (and log) the master before anything reaches it; a
 * restarted agent rejoins without a token.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetEvent, FleetNode } from '../../src/core/index.js';
import type { StoredAuditEntry } from '../../src/access/audit-writer.js';
import { AgentProcess, Cleanup, freePort, MasterProcess, waitFor } from '../helpers/processes.js';

const cleanup = new Cleanup();
let master: MasterProcess;
let dir: string;

beforeAll(async () => {
  dir = cleanup.dir();
  master = cleanup.track(await MasterProcess.start({ dataDir: join(dir, 'master'), httpPort: await freePort(), grpcPort: await freePort() }));
});
afterAll(() => cleanup.run());

function agent(name: string, extra: { token?: string; caHash?: string }): AgentProcess {
  return cleanup.track(AgentProcess.spawn({ masterUrl: master.info.httpUrl, name, dataDir: join(dir, name), caHash: master.info.caHash, ...extra }));
}

async function refusal(a: AgentProcess): Promise<{ code: unknown; exit: number | null }> {
  const line = await a.waitLine((l) => l.event === 'refused' || l.event === 'joined', 20_000, 'refusal');
  expect(line.event).toBe('refused');
  return { code: line['code'], exit: await a.exited };
}

async function refusedTokenEvents(): Promise<FleetEvent[]> {
  return (await master.call<FleetEvent[]>('events')).filter((e) => e.type === 'token.refused');
}

/** The master's audit trail: denied joins with the refusal's code. */
async function deniedJoins(): Promise<StoredAuditEntry['entry'][]> {
  return (await master.call<StoredAuditEntry[]>('auditLog')).map((s) => s.entry).filter((e) => e.action === 'node.join' && e.outcome === 'denied');
}

describe('joining a fleet', () => {
  it('refuses an unknown token, registers nothing and records the attempt', async () => {
    const before = (await refusedTokenEvents()).length;
    const r = await refusal(agent('bad', { token: 'bjt_this-is-not-a-real-token-at-all-0000000000' }));
    expect(r).toEqual({ code: 'BIT_ERR_TOKEN_INVALID', exit: 2 });
    expect(await master.call<FleetNode[]>('listNodes')).toHaveLength(0);
    const events = await refusedTokenEvents();
    expect(events.length).toBe(before + 1);
    expect(JSON.stringify(events)).not.toContain('bjt_this-is-not');
    expect(existsSync(join(dir, 'bad', 'agent.json'))).toBe(false);
    const audited = await deniedJoins();
    expect(audited.at(-1)).toMatchObject({ actor: expect.stringMatching(/^anonymous@/), details: { code: 'BIT_ERR_TOKEN_INVALID', nodeName: 'bad' } });
    expect(JSON.stringify(audited)).not.toContain('bjt_this-is-not');
  });

  it('refuses an expired token', async () => {
    const { token } = await master.createToken('worker', 1000);
    await new Promise((r) => setTimeout(r, 1300));
    expect(await refusal(agent('late', { token }))).toEqual({ code: 'BIT_ERR_TOKEN_EXPIRED', exit: 2 });
    expect((await refusedTokenEvents()).at(-1)?.data['code']).toBe('BIT_ERR_TOKEN_EXPIRED');
    expect((await deniedJoins()).at(-1)).toMatchObject({ details: { code: 'BIT_ERR_TOKEN_EXPIRED', nodeName: 'late' } });
    expect(JSON.stringify(await master.call('auditLog'))).not.toContain(token);
  });

  it('accepts a token once and refuses its reuse', async () => {
    const { token } = await master.createToken();
    const first = agent('first', { token });
    await first.joined();
    expect(await refusal(agent('second', { token }))).toEqual({ code: 'BIT_ERR_TOKEN_USED', exit: 2 });
    const nodes = await master.call<FleetNode[]>('listNodes');
    expect(nodes.map((n) => n.name)).toEqual(['first']);
    expect((await deniedJoins()).at(-1)).toMatchObject({ details: { code: 'BIT_ERR_TOKEN_USED', nodeName: 'second' } });
    // The credential is stored owner-only, and a restart rejoins without a token.
    const state = join(dir, 'first', 'agent.json');
    expect(statSync(state).mode & 0o777).toBe(0o600);
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const again = agent('first', {});
    expect(await again.joined()).toBe(first.nodeId);
    await waitFor('first ready again', async () => (await master.call<FleetNode>('getNode', 'first')).status === 'ready');
  });

  it('makes the agent refuse a master whose CA does not match the pinned hash', async () => {
    const { token } = await master.createToken();
    const wrong = `sha256:${'0'.repeat(64)}`;
    const pinned = agent('pinned', { token, caHash: wrong });
    expect(await refusal(pinned)).toEqual({ code: 'BIT_ERR_CA_MISMATCH', exit: 2 });
    // Refused and logged on the agent side: the TLS stream was never opened, so the master has nothing to audit.
    expect(pinned.stderr).toMatch(/refusing the master: BIT_ERR_CA_MISMATCH/);
    expect(JSON.stringify(await master.call('auditLog'))).not.toContain('pinned');
    expect(existsSync(join(dir, 'pinned', 'agent.json'))).toBe(false);
    // Nothing reached the master: the token is still unused.
    const ok = agent('pinned-ok', { token });
    await ok.joined();
  });
});
