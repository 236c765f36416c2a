/**
 * Node identity and the audit trail against a real coordinator (real gRPC with mutual TLS,
 * real SQLite file): each attack is refused and audited; revocation cuts a live node off;
 * certificates rotate over the live stream; the audit chain survives nothing but honesty.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, enrollNode, loadAgentState } from '../../src/agent/index.js';
import { ProcessRunner } from '../../src/agent/runner/process-runner.js';
import { DirectoryWorkspaces } from '../../src/agent/runner/workspaces.js';
import { connectToCoordinator, type CoordinatorLink } from '../../src/rpc/client/index.js';
import { PROTOCOL_VERSION, type AgentNodeInfo, type CoordinatorMessage } from '../../src/rpc/messages.js';
import { createCsr, createFleetCa, DEFAULT_ACL_POLICY, generateKeyPair, issueNodeCertificate, parseAclPolicy } from '../../src/security/index.js';
import { startInProcessFleet, waitFor, type InProcessFleet } from '../helpers/in-process-fleet.js';

let fleet: InProcessFleet | null = null;
afterEach(async () => {
  await fleet?.close();
  fleet = null;
});

const nodeInfo = (name: string, role: 'worker' | 'hybrid' = 'worker'): AgentNodeInfo => ({
  name, role, capabilities: [], specializations: [], capacity: 1, resources: { cpus: 1, memoryBytes: 1, load: 0 }, agentVersion: 'test',
});

/** A raw stream (mutual TLS when `identity` is given) that records what the master answers until it closes. */
function rawStream(f: InProcessFleet, identity?: { keyPem: string; certPem: string }) {
  const link: CoordinatorLink = connectToCoordinator({
    address: f.coordinator.agentAddress,
    caCertPem: f.caCertPem,
    ...(identity ? { clientKeyPem: identity.keyPem, clientCertPem: identity.certPem } : {}),
  });
  const received: CoordinatorMessage[] = [];
  const closed = new Promise<string>((resolve) => link.start({ onMessage: (m) => received.push(m), onInvalid: () => {}, onClose: resolve }));
  return { link, received, closed };
}

const auditEntries = async (f: InProcessFleet) => (await f.coordinator.auditLog()).map((s) => s.entry);
const denials = async (f: InProcessFleet, action: string) => (await auditEntries(f)).filter((e) => e.action === action && e.outcome === 'denied');

describe('node identity (mutual TLS)', () => {
  it('lets a stream without a client certificate carry nothing but a join', async () => {
    fleet = await startInProcessFleet();
    const s = rawStream(fleet);
    s.link.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, node: nodeInfo('no-cert'), running: [] });
    await s.closed;
    expect(s.received[0]).toMatchObject({ type: 'error', code: 'BIT_ERR_UNAUTHENTICATED', fatal: true });
    expect((await denials(fleet, 'node.join'))[0]).toMatchObject({ actor: expect.stringMatching(/^anonymous@/), details: { code: 'BIT_ERR_UNAUTHENTICATED' } });
    expect(fleet.coordinator.listNodes()).toHaveLength(0);
  });

  it('refuses and audits a stream without a client certificate that sends anything before a hello', async () => {
    fleet = await startInProcessFleet();
    const s = rawStream(fleet);
    s.link.send({ type: 'heartbeat', at: Date.now(), resources: { cpus: 1, memoryBytes: 1, load: 0 }, running: [] });
    await s.closed;
    expect(s.received[0]).toMatchObject({ type: 'error', code: 'BIT_ERR_PROTOCOL_VIOLATION', fatal: true });
    expect((await denials(fleet, 'node.join'))[0]).toMatchObject({ actor: expect.stringMatching(/^anonymous@/), details: { code: 'BIT_ERR_PROTOCOL_VIOLATION' } });
    expect(fleet.coordinator.listNodes()).toHaveLength(0);
  });

  it('refuses and audits a certificate-less hello that carries a credential instead of a join token', async () => {
    fleet = await startInProcessFleet();
    const agent = await fleet.addAgent('real');
    const s = rawStream(fleet);
    s.link.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, credential: { nodeId: agent.nodeId()!, secret: 'bnc_guess' }, node: nodeInfo('real'), running: [] });
    await s.closed;
    expect(s.received[0]).toMatchObject({ type: 'error', code: 'BIT_ERR_UNAUTHENTICATED', fatal: true });
    expect(await denials(fleet, 'node.join')).toHaveLength(1);
    expect(agent.status).toBe('connected');
  });

  it('treats a certificate from a foreign CA as no certificate at all', async () => {
    fleet = await startInProcessFleet();
    const agent = await fleet.addAgent('honest');
    const foreign = await createFleetCa({ commonName: 'Mallory CA' });
    const { keys, keyPem } = await generateKeyPair();
    // A forged certificate naming a real member: only the fleet CA's signature makes it count.
    const forged = await issueNodeCertificate(foreign, await createCsr(keys, { commonName: 'x' }), { nodeId: agent.nodeId()!, role: 'hybrid' });
    const s = rawStream(fleet, { keyPem, certPem: forged.certPem });
    s.link.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, node: nodeInfo('honest', 'hybrid'), running: [] });
    await s.closed;
    expect(s.received[0]).toMatchObject({ type: 'error', code: 'BIT_ERR_UNAUTHENTICATED', fatal: true });
    expect(await denials(fleet, 'node.join')).toHaveLength(1);
    expect((await denials(fleet, 'node.join'))[0]).toMatchObject({ actor: expect.stringMatching(/^anonymous@/), details: { code: 'BIT_ERR_UNAUTHENTICATED' } });
    expect(agent.status).toBe('connected');
    // Acting on the forged certificate without a hello is refused and audited the same way.
    const t = rawStream(fleet, { keyPem, certPem: forged.certPem });
    t.link.send({ type: 'reports', started: [], output: [], finished: [{ taskId: 'tsk_x', attempt: 1, result: { exitCode: 0, error: null, durationMs: 1 } }], rejected: [] });
    await t.closed;
    expect(t.received[0]).toMatchObject({ type: 'error', fatal: true });
    expect(await denials(fleet, 'node.join')).toHaveLength(2);
  });

  it('refuses and audits a worker certificate whose hello claims the master role', async () => {
    fleet = await startInProcessFleet();
    const { token } = await fleet.coordinator.createJoinToken({ role: 'worker', createdBy: 'test' });
    const identity = await enrollNode({ address: fleet.coordinator.agentAddress, caCertPem: fleet.caCertPem, token, node: nodeInfo('usurper') });
    const s = rawStream(fleet, identity);
    // No agent may be master: the protocol has no such role, so the hello does not even decode.
    s.link.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, node: { ...nodeInfo('usurper'), role: 'master' as never }, running: [] });
    await s.closed;
    const refusal = s.received[0] as Extract<CoordinatorMessage, { type: 'error' }>;
    expect(refusal).toMatchObject({ type: 'error', code: 'BIT_ERR_VALIDATION', fatal: true });
    expect((await denials(fleet, 'node.connect'))[0]).toMatchObject({ actor: expect.stringMatching(/^peer:[0-9a-f]+$/), details: { code: refusal.code } });
    expect(fleet.coordinator.getNode('usurper')).toMatchObject({ role: 'worker', status: 'joining' });
    expect(fleet.coordinator.listNodes().some((n) => n.role === 'master')).toBe(false);
  });

  it('refuses and audits a worker certificate whose hello claims another role', async () => {
    fleet = await startInProcessFleet();
    const { token } = await fleet.coordinator.createJoinToken({ role: 'worker', createdBy: 'test' });
    const identity = await enrollNode({ address: fleet.coordinator.agentAddress, caCertPem: fleet.caCertPem, token, node: nodeInfo('climber', 'hybrid') });
    const s = rawStream(fleet, identity);
    s.link.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, node: nodeInfo('climber', 'hybrid'), running: [] });
    await s.closed;
    expect(s.received[0]).toMatchObject({ type: 'error', code: 'BIT_ERR_FORBIDDEN', fatal: true });
    expect((await denials(fleet, 'node.connect'))[0]).toMatchObject({ details: { certificateRole: 'worker', claimedRole: 'hybrid' } });
    // The same certificate, honest about its role, is admitted.
    const ok = rawStream(fleet, identity);
    ok.link.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, node: nodeInfo('climber', 'worker'), running: [] });
    await waitFor('welcome', () => ok.received.find((m) => m.type === 'welcome'));
    expect(fleet.coordinator.getNode('climber')).toMatchObject({ role: 'worker', status: 'ready' });
    ok.link.close();
  });

  it('audits refused join tokens (reused, revoked) without the token in plaintext', async () => {
    fleet = await startInProcessFleet();
    const { token } = await fleet.coordinator.createJoinToken({ role: 'worker', createdBy: 'test' });
    await enrollNode({ address: fleet.coordinator.agentAddress, caCertPem: fleet.caCertPem, token, node: nodeInfo('first') });
    await expect(enrollNode({ address: fleet.coordinator.agentAddress, caCertPem: fleet.caCertPem, token, node: nodeInfo('second') })).rejects.toMatchObject({ code: 'BIT_ERR_TOKEN_USED' });
    const revoked = await fleet.coordinator.createJoinToken({ role: 'worker', createdBy: 'test' });
    await fleet.backbone.joinTokens.revoke(revoked.id, Date.now());
    await expect(enrollNode({ address: fleet.coordinator.agentAddress, caCertPem: fleet.caCertPem, token: revoked.token, node: nodeInfo('third') })).rejects.toMatchObject({ code: 'BIT_ERR_TOKEN_REVOKED' });
    const expired = await fleet.coordinator.createJoinToken({ role: 'worker', ttlMs: 1000, createdBy: 'test' });
    await new Promise((r) => setTimeout(r, 1100));
    await expect(enrollNode({ address: fleet.coordinator.agentAddress, caCertPem: fleet.caCertPem, token: expired.token, node: nodeInfo('fourth') })).rejects.toMatchObject({ code: 'BIT_ERR_TOKEN_EXPIRED' });
    expect((await denials(fleet, 'node.join')).map((e) => e.details['code'])).toEqual(['BIT_ERR_TOKEN_USED', 'BIT_ERR_TOKEN_REVOKED', 'BIT_ERR_TOKEN_EXPIRED']);
    const everything = JSON.stringify(await fleet.backbone.events.read(0, 100_000));
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(revoked.token);
    expect(everything).not.toContain(expired.token);
  });

  it('keeps the private key on the node (0600) and rejoins after a restart with its certificate', async () => {
    fleet = await startInProcessFleet();
    const agent = await fleet.addAgent('keeper');
    const dataDir = join(fleet.dir, 'keeper');
    const state = loadAgentState(dataDir)!;
    expect(statSync(join(dataDir, 'agent.json')).mode & 0o777).toBe(0o600);
    expect(state.keyPem).toContain('PRIVATE KEY');
    expect(state.credentialSecret).toBeNull();
    const keyBody = state.keyPem!.split('\n')[1]!;
    for (const file of ['fleet.db', 'fleet.db-wal']) {
      try {
        expect(readFileSync(join(fleet.dir, 'master', file)).includes(keyBody)).toBe(false);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    await agent.close();
    const again = await fleet.addAgent('keeper', { token: undefined as unknown as string });
    expect(again.nodeId()).toBe(agent.nodeId());
  });

  it('rotates the certificate over the live stream and uses it after a restart', async () => {
    fleet = await startInProcessFleet();
    const agent = await fleet.addAgent('rotor', { certificateCheckMs: 200, renewAtFraction: 0 });
    const dataDir = join(fleet.dir, 'rotor');
    const first = loadAgentState(dataDir)!.certPem;
    const before = fleet.coordinator.listNodes()[0]!;
    await waitFor('a rotated certificate', () => loadAgentState(dataDir)!.certPem !== first);
    expect((await auditEntries(fleet)).some((e) => e.action === 'node.certificate.renew' && e.outcome === 'succeeded')).toBe(true);
    expect(agent.status).toBe('connected');
    expect(fleet.coordinator.getNode('rotor').status).toBe(before.status);
    await agent.close();
    const again = await fleet.addAgent('rotor', { token: undefined as unknown as string });
    expect(again.nodeId()).toBe(before.id);
  });
});

describe('ACL at the gRPC entry', () => {
  it('refuses and audits what a node role may not do, and lets the rest flow', async () => {
    // A policy where workers may report status but not results.
    const policy = parseAclPolicy({
      version: 1,
      roles: { ...DEFAULT_ACL_POLICY.roles, hybrid: [], worker: [{ operation: 'ReportStatus', targets: ['node'], selfOnly: true }, { operation: 'SyncState', targets: ['node'], selfOnly: true }] },
    });
    fleet = await startInProcessFleet({}, { aclPolicy: policy });
    const { token } = await fleet.coordinator.createJoinToken({ role: 'worker', createdBy: 'test' });
    const identity = await enrollNode({ address: fleet.coordinator.agentAddress, caCertPem: fleet.caCertPem, token, node: nodeInfo('limited') });
    const s = rawStream(fleet, identity);
    s.link.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, node: nodeInfo('limited'), running: [] });
    await waitFor('welcome', () => s.received.find((m) => m.type === 'welcome'));
    s.link.send({ type: 'reports', started: [], output: [], finished: [{ taskId: 'tsk_x', attempt: 1, result: { exitCode: 0, error: null, durationMs: 1 } }], rejected: [] });
    await waitFor('a refusal', () => s.received.find((m) => m.type === 'error'));
    expect(s.received.find((m) => m.type === 'error')).toMatchObject({ code: 'BIT_ERR_FORBIDDEN', fatal: false });
    expect((await denials(fleet, 'ReportResult'))[0]).toMatchObject({ actor: `node:${identity.nodeId}`, target: identity.nodeId });
    s.link.send({ type: 'heartbeat', at: Date.now(), resources: { cpus: 1, memoryBytes: 1, load: 0 }, running: [] });
    await new Promise((r) => setTimeout(r, 300));
    expect(s.received.filter((m) => m.type === 'error')).toHaveLength(1);
    expect(s.link.isClosed).toBe(false);
    s.link.close();
  });
});

describe('revocation', () => {
  it('closes the live connection within 5 s, moves its task on, and refuses the node from then on', async () => {
    fleet = await startInProcessFleet();
    const victim = await fleet.addAgent('victim', { capacity: 1 });
    await fleet.addAgent('other', { capacity: 1 });
    const { task } = await fleet.coordinator.submitTask({ command: ['sleep', '30'], pinnedNode: null });
    const onVictim = await waitFor('the task runs somewhere', async () => (await fleet!.coordinator.getTask(task.id)).state === 'running' && (await fleet!.coordinator.getTask(task.id)).nodeId);
    const target = onVictim === victim.nodeId() ? victim : fleet.agents.find((a) => a.nodeId() === onVictim)!;
    const name = target === victim ? 'victim' : 'other';
    const started = Date.now();
    await fleet.coordinator.revokeNode!(name, 'stolen laptop');
    await expect(target.closed).rejects.toMatchObject({ code: 'BIT_ERR_CERTIFICATE_REVOKED' });
    expect(Date.now() - started).toBeLessThan(5000);
    const moved = await waitFor('the task runs on the other node', async () => {
      const t = await fleet!.coordinator.getTask(task.id);
      return t.state === 'running' && t.nodeId !== target.nodeId() ? t : null;
    });
    expect(moved.attempt).toBe(2);
    expect(fleet.coordinator.getNode(name).status).toBe('left');
    // The stored certificate is still within its validity, yet refused.
    const retry = new Agent({
      masterUrl: fleet.api.url, dataDir: join(fleet.dir, name), caHash: fleet.caHash,
      node: { name, role: 'worker', capabilities: [], specializations: [], capacity: 1 },
      runner: new ProcessRunner(), workspaces: new DirectoryWorkspaces(join(fleet.dir, name, 'workspaces')),
    });
    await expect(retry.start()).rejects.toMatchObject({ code: 'BIT_ERR_CERTIFICATE_REVOKED' });
    expect((await denials(fleet, 'node.connect')).some((e) => e.details['code'] === 'BIT_ERR_CERTIFICATE_REVOKED')).toBe(true);
    expect((await auditEntries(fleet)).find((e) => e.action === 'node.revoke')).toMatchObject({ outcome: 'allowed', actor: 'user:admin', details: { reason: 'stolen laptop' } });
    await fleet.coordinator.cancelTask(task.id);
  });
});

describe('audit trail', () => {
  /** Opens the master's SQLite file a second time, as an attacker with file access would. */
  const raw = (f: InProcessFleet) => new Database(join(f.dir, 'master', 'fleet.db'));
  const auditSeqs = async (f: InProcessFleet) => (await f.coordinator.auditLog()).map((s) => s.seq);

  async function fleetWithHistory(): Promise<InProcessFleet> {
    const f = await startInProcessFleet();
    await f.addAgent('a1');
    await f.coordinator.drainNode('a1');
    await f.coordinator.undrainNode('a1');
    await f.coordinator.updateConfiguration({ heartbeatIntervalMs: 300 });
    expect(await f.coordinator.verifyAudit()).toMatchObject({ ok: true });
    return f;
  }

  it('names an entry edited in the SQLite file', async () => {
    fleet = await fleetWithHistory();
    const seq = (await auditSeqs(fleet))[2]!;
    const db = raw(fleet);
    db.prepare(`UPDATE events SET data = json_set(data, '$.actor', 'user:nobody') WHERE seq = ?`).run(seq);
    db.close();
    expect((await fleet.coordinator.verifyAudit()).break).toMatchObject({ seq, index: 3, kind: 'edited' });
  });

  it('names where an entry was deleted and where entries were swapped', async () => {
    fleet = await fleetWithHistory();
    const seqs = await auditSeqs(fleet);
    const db = raw(fleet);
    const data = (s: number) => (db.prepare('SELECT data FROM events WHERE seq = ?').get(s) as { data: string }).data;
    const [d1, d2] = [data(seqs[1]!), data(seqs[2]!)];
    db.prepare('UPDATE events SET data = ? WHERE seq = ?').run(d2, seqs[1]);
    db.prepare('UPDATE events SET data = ? WHERE seq = ?').run(d1, seqs[2]);
    expect((await fleet.coordinator.verifyAudit()).break).toMatchObject({ seq: seqs[1], kind: 'reordered' });
    db.prepare('UPDATE events SET data = ? WHERE seq = ?').run(d1, seqs[1]);
    db.prepare('UPDATE events SET data = ? WHERE seq = ?').run(d2, seqs[2]);
    expect((await fleet.coordinator.verifyAudit()).ok).toBe(true);
    db.prepare('DELETE FROM events WHERE seq = ?').run(seqs[1]);
    db.close();
    expect((await fleet.coordinator.verifyAudit()).break).toMatchObject({ seq: seqs[2], index: 2, kind: 'deleted' });
  });

  it('is served by the REST API, and a revocation through REST is audited', async () => {
    fleet = await fleetWithHistory();
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${fleet!.api.url}${path}`, {
        method, headers: { authorization: `Bearer ${fleet!.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect((await call('POST', '/v1/nodes/a1/revoke', { reason: 'via rest' })).body).toMatchObject({ name: 'a1', status: 'left' });
    const log = (await call('GET', '/v1/audit?limit=2')).body as unknown as Array<{ entry: { action: string } }>;
    expect(log.map((l) => l.entry.action)).toContain('node.revoke');
    expect((await call('GET', '/v1/audit/verify')).body).toMatchObject({ ok: true, break: null });
    expect((await call('POST', '/v1/nodes/a1/revoke', { bogus: 1 })).status).toBe(400);
  });

  it('refuses privileged operations while the audit trail cannot be written (fail-closed)', async () => {
    fleet = await fleetWithHistory();
    const db = raw(fleet);
    db.exec(`CREATE TRIGGER audit_down BEFORE INSERT ON events WHEN NEW.type = 'audit' BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    await expect(fleet!.coordinator.drainNode('a1')).rejects.toThrow(expect.objectContaining({ code: 'BIT_ERR_AUDIT_UNAVAILABLE' }));
    await expect(fleet!.coordinator.revokeNode!('a1')).rejects.toThrow(expect.objectContaining({ code: 'BIT_ERR_AUDIT_UNAVAILABLE' }));
    expect(fleet.coordinator.getNode('a1').status).toBe('ready');
    db.exec('DROP TRIGGER audit_down');
    db.close();
    expect((await fleet.coordinator.drainNode('a1')).status).toBe('draining');
    expect((await fleet.coordinator.verifyAudit()).ok).toBe(true);
  });
});
