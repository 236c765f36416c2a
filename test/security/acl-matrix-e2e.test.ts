/**
 * The ACL end to end, through a real master (startMaster: real AccessControl, real audit trail,
 * real policy file): every user-facing operation × admin / operator / viewer / an operator
 * limited to `alpha` over REST, the events WebSocket, live policy changes (API and hand edits of
 * the file), and node requesters over gRPC with worker and hybrid certificates. Expectations
 * come from the pure `authorize()` under the policy in force AND from a hard-coded table; both
 * must agree, so a change of a route's wiring or of the default policy fails here.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ErrorCode } from '../../src/core/index.js';
import { encodeCoordinatorMessage } from '../../src/rpc/codec.js';
import type { AgentMessage, CoordinatorMessage, TaskRef, TaskReports } from '../../src/rpc/messages.js';
import {
  authorize, DEFAULT_ACL_POLICY, OPERATIONS, type AclPolicy, type AuditEntry, type NodeAclRole, type Operation, type Requester, type Target,
} from '../../src/security/index.js';
import type { RawAgent } from '../helpers/faults/raw-agent.js';
import { helloAnswer, joinRawNode, reconnectRawNode, type RawNode } from './acl-nodes.js';
import { startFuzzMaster, waitFor, type FuzzMaster } from './fuzz-master.js';

type Who = 'viewer' | 'limited' | 'operator' | 'admin';
/** Least privileged first, so a granted state change never hides a later denial. */
const WHO: Who[] = ['viewer', 'limited', 'operator', 'admin'];
const USER_SPECS: Record<Exclude<Who, 'admin'>, { role: 'viewer' | 'operator'; projects?: string[] }> = {
  viewer: { role: 'viewer' },
  limited: { role: 'operator', projects: ['alpha'] },
  operator: { role: 'operator' },
};
/** Operations only nodes perform (or the master commands); no REST route carries them. */
const NODE_ONLY: Operation[] = ['ExecuteTask', 'MigrateProject', 'SyncState', 'ReportStatus', 'ReportResult', 'RenewCertificate'];

interface Call { method: string; path: string; body?: unknown }
interface Row {
  name: string;
  operation: Operation;
  target: (w: World) => Target;
  /** Builds the request (fresh entities per call where the route changes them). */
  call: (w: World) => Promise<Call> | Call;
  /** An allowed call changes state and must leave an audit entry naming the user. */
  changes: boolean;
  /** Hard-coded: who may under DEFAULT_ACL_POLICY (checked equal to the computed expectation). */
  allowed: Who[];
}

interface World {
  fm: FuzzMaster;
  tokens: Record<Who, string>;
  topic: Record<'alpha' | 'beta', string>;
  drainNode: RawNode;
  revokeNode: RawNode;
  taskId: string;
  seq: number;
}

const project = (p: string): Target => ({ kind: 'project', project: p });
const FLEET: Target = { kind: 'fleet' };
const EVERYONE: Who[] = ['viewer', 'limited', 'operator', 'admin'];
const OPERATORS: Who[] = ['limited', 'operator', 'admin'];
const UNLIMITED_OPS: Who[] = ['operator', 'admin'];
const ADMIN: Who[] = ['admin'];

async function newTask(w: World, p: string): Promise<string> {
  const res = await w.fm.api('POST', '/v1/tasks', { command: ['true'], project: p });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (res.body as { task: { id: string } }).task.id;
}
async function newApproval(w: World, p: 'alpha' | 'beta'): Promise<string> {
  const now = Date.now();
  return (await w.fm.master.backbone.approvals.request({ topicId: w.topic[p], project: p, reason: 'risky', expiresAt: now + 3_600_000 }, now)).id;
}

const perProject = (p: 'alpha' | 'beta') => ({
  submit: { name: `POST /v1/tasks (${p})`, operation: 'SubmitTask', target: () => project(p), changes: true, allowed: p === 'alpha' ? OPERATORS : UNLIMITED_OPS, call: () => ({ method: 'POST', path: '/v1/tasks', body: { command: ['true'], project: p } }) },
  cancel: { name: `POST /v1/tasks/:id/cancel (${p})`, operation: 'CancelTask', target: () => project(p), changes: true, allowed: p === 'alpha' ? OPERATORS : UNLIMITED_OPS, call: async (w: World) => ({ method: 'POST', path: `/v1/tasks/${await newTask(w, p)}/cancel`, body: {} }) },
  approve: { name: `POST /v1/approvals/:id/approve (${p})`, operation: 'Approve', target: () => project(p), changes: true, allowed: p === 'alpha' ? OPERATORS : UNLIMITED_OPS, call: async (w: World) => ({ method: 'POST', path: `/v1/approvals/${await newApproval(w, p)}/approve`, body: { note: 'ok' } }) },
  reject: { name: `POST /v1/approvals/:id/reject (${p})`, operation: 'Reject', target: () => project(p), changes: true, allowed: p === 'alpha' ? OPERATORS : UNLIMITED_OPS, call: async (w: World) => ({ method: 'POST', path: `/v1/approvals/${await newApproval(w, p)}/reject`, body: { note: 'no' } }) },
  topic: { name: `POST /v1/topics (${p})`, operation: 'WriteLogbook', target: () => project(p), changes: true, allowed: p === 'alpha' ? OPERATORS : UNLIMITED_OPS, call: (w: World) => ({ method: 'POST', path: '/v1/topics', body: { project: p, title: `t${w.seq++}` } }) },
}) satisfies Record<string, Row>;

const ROWS: Row[] = [
  { name: 'GET /v1/status', operation: 'ReadState', target: () => FLEET, changes: false, allowed: EVERYONE, call: () => ({ method: 'GET', path: '/v1/status' }) },
  { name: 'GET /v1/tasks/:id/logs', operation: 'ReadLogs', target: () => FLEET, changes: false, allowed: EVERYONE, call: (w) => ({ method: 'GET', path: `/v1/tasks/${w.taskId}/logs` }) },
  { name: 'GET /v1/audit', operation: 'ReadAudit', target: () => FLEET, changes: false, allowed: ADMIN, call: () => ({ method: 'GET', path: '/v1/audit?limit=1' }) },
  ...(['alpha', 'beta'] as const).flatMap((p) => Object.values(perProject(p)) as Row[]),
  { name: 'POST /v1/sparks (fleet)', operation: 'WriteLogbook', target: () => FLEET, changes: true, allowed: OPERATORS, call: () => ({ method: 'POST', path: '/v1/sparks', body: { content: 'idea' } }) },
  { name: 'POST /v1/nodes/:id/drain', operation: 'ManageNodes', target: (w) => ({ kind: 'node', nodeId: w.drainNode.agent.nodeId }), changes: true, allowed: ADMIN, call: (w) => ({ method: 'POST', path: `/v1/nodes/${w.drainNode.agent.nodeId}/drain`, body: {} }) },
  { name: 'POST /v1/nodes/:id/revoke', operation: 'RevokeNode', target: (w) => ({ kind: 'node', nodeId: w.revokeNode.agent.nodeId }), changes: true, allowed: ADMIN, call: (w) => ({ method: 'POST', path: `/v1/nodes/${w.revokeNode.agent.nodeId}/revoke`, body: { reason: 'matrix' } }) },
  { name: 'POST /v1/tokens', operation: 'ManageTokens', target: () => FLEET, changes: true, allowed: ADMIN, call: () => ({ method: 'POST', path: '/v1/tokens', body: { role: 'worker', ttl: '1h' } }) },
  { name: 'POST /v1/users', operation: 'ManageUsers', target: () => FLEET, changes: true, allowed: ADMIN, call: (w) => ({ method: 'POST', path: '/v1/users', body: { name: `newbie-${w.seq++}`, role: 'viewer' } }) },
  { name: 'GET /v1/acl', operation: 'ManagePolicy', target: () => FLEET, changes: false, allowed: ADMIN, call: () => ({ method: 'GET', path: '/v1/acl' }) },
  { name: 'PATCH /v1/config', operation: 'UpdateConfiguration', target: () => FLEET, changes: true, allowed: ADMIN, call: () => ({ method: 'PATCH', path: '/v1/config', body: { heartbeatIntervalMs: 500 } }) },
  { name: 'POST /v1/resume', operation: 'EmergencyShutdown', target: () => FLEET, changes: true, allowed: ADMIN, call: () => ({ method: 'POST', path: '/v1/resume', body: {} }) },
];

/** Operations whose allowed changes leave no audit entry of their own: none. */
const UNAUDITED_CHANGES = new Set<Operation>([]);

// ───────────── helpers ─────────────

async function request(w: World, who: Who, call: Call): Promise<{ status: number; body: any }> {
  const res = await fetch(`${w.fm.url}${call.path}`, {
    method: call.method,
    headers: { authorization: `Bearer ${w.tokens[who]}`, ...(call.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}

/** Audit entries after `cursor` (read as admin), and the new cursor. */
async function auditAfter(w: World, cursor: number): Promise<AuditEntry[]> {
  const res = await w.fm.api('GET', `/v1/audit?afterIndex=${cursor}&limit=10000`);
  expect(res.status).toBe(200);
  return (res.body as { entry: AuditEntry }[]).map((e) => e.entry);
}
async function auditCursor(w: World): Promise<number> {
  let cursor = 0;
  for (;;) {
    const page = await auditAfter(w, cursor);
    if (page.length === 0) return cursor;
    cursor = page.at(-1)!.index;
  }
}

function requesterOf(who: Who): Requester {
  if (who === 'admin') return { kind: 'user', name: 'admin', role: 'admin' };
  const spec = USER_SPECS[who];
  return { kind: 'user', name: who, role: spec.role, ...(spec.projects ? { projects: spec.projects } : {}) };
}

function targetString(t: Target): string {
  return t.kind === 'fleet' ? 'fleet' : t.kind === 'node' ? `node:${t.nodeId}` : `project:${t.project}`;
}

const clone = (p: AclPolicy): AclPolicy => structuredClone(p);

function wsUrl(w: World, query: string): string {
  return `${w.fm.url.replace(/^http/, 'ws')}/v1/events${query}`;
}

/** Opens the events WebSocket: the hello frame, or the HTTP status the upgrade was refused with. */
function subscribe(w: World, who: Who, query: string): Promise<{ status: number; ws?: WebSocket; hello?: any; body?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(w, query), { headers: { authorization: `Bearer ${w.tokens[who]}` } });
    const timer = setTimeout(() => reject(new Error(`no answer to the ${who} subscription`)), 15_000);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve({ status: 101, ws, hello: JSON.parse(String(data)) });
    });
    ws.once('error', (err) => {
      if (err.message.includes('Unexpected server response')) return;
      clearTimeout(timer);
      reject(err);
    });
  });
}

function nextFrame(ws: WebSocket, match: (f: any) => boolean): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching frame')), 15_000);
    const on = (data: WebSocket.RawData) => {
      const frame = JSON.parse(String(data));
      if (!match(frame)) return;
      clearTimeout(timer);
      ws.off('message', on);
      resolve(frame);
    };
    ws.on('message', on);
  });
}

// ───────────── the world ─────────────

describe('ACL matrix end to end (real master)', () => {
  const w = { seq: 0 } as World;
  let worker: RawNode;
  let hybrid: RawNode;

  beforeAll(async () => {
    w.fm = await startFuzzMaster('acl-e2e');
    const admin = w.fm.token;
    w.tokens = { admin } as Record<Who, string>;
    for (const [name, spec] of Object.entries(USER_SPECS)) {
      expect((await w.fm.api('POST', '/v1/users', { name, ...spec })).status).toBe(201);
      const token = await w.fm.api('POST', '/v1/api-tokens', { user: name, label: 'acl-e2e' });
      expect(token.status).toBe(201);
      w.tokens[name as Who] = (token.body as { token: string }).token;
    }
    for (const p of ['alpha', 'beta'] as const) expect((await w.fm.api('POST', '/v1/projects', { name: p })).status).toBe(201);
    w.topic = { alpha: '', beta: '' };
    for (const p of ['alpha', 'beta'] as const) {
      const topic = await w.fm.api('POST', '/v1/topics', { project: p, title: `main ${p}` });
      expect(topic.status).toBe(201);
      w.topic[p] = (topic.body as { id: string }).id;
    }
    // Nodes: two that take work (one per certificate role) and two without capacity as REST targets.
    worker = await joinRawNode(w.fm.raw, 'acl-worker', 'worker', 1);
    hybrid = await joinRawNode(w.fm.raw, 'acl-hybrid', 'hybrid', 1);
    w.drainNode = await joinRawNode(w.fm.raw, 'acl-drain', 'worker', 0);
    w.revokeNode = await joinRawNode(w.fm.raw, 'acl-revoke', 'worker', 0);
    w.taskId = await newTask(w, 'alpha');
  }, 60_000);

  afterAll(async () => {
    for (const n of [worker, hybrid, w.drainNode, w.revokeNode]) n?.agent.close();
    await w.fm?.close();
  });

  describe('REST', () => {
    it('has one row per user-facing operation, and the hard-coded table equals authorize() under the default policy', () => {
      const userFacing = OPERATIONS.filter((op) => !NODE_ONLY.includes(op));
      expect(new Set(ROWS.map((r) => r.operation))).toEqual(new Set(userFacing));
      for (const row of ROWS) {
        const computed = WHO.filter((who) => authorize(row.operation, requesterOf(who), row.target(w), DEFAULT_ACL_POLICY).allowed);
        expect(computed, row.name).toEqual(row.allowed);
      }
      expect(w.fm.master.coordinator.access.aclPolicy()).toEqual(DEFAULT_ACL_POLICY);
    });

    it.each(ROWS.map((r) => [r.name, r] as const))('%s: allowed or 403 + audited denial for each user', async (_name, row) => {
      for (const who of WHO) {
        const policy = w.fm.master.coordinator.access.aclPolicy();
        const allowed = authorize(row.operation, requesterOf(who), row.target(w), policy).allowed;
        expect(allowed, `${row.name} as ${who}: hard-coded table`).toBe(row.allowed.includes(who));
        const call = await row.call(w);
        const cursor = await auditCursor(w);
        const res = await request(w, who, call);
        const context = `${row.name} as ${who}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
        const entries = (await auditAfter(w, cursor)).filter((e) => e.actor === `user:${who}`);
        if (allowed) {
          expect([401, 403], context).not.toContain(res.status);
          expect(res.status, context).toBeLessThan(300);
          expect(entries.filter((e) => e.outcome === 'denied'), context).toEqual([]);
          if (row.changes && !UNAUDITED_CHANGES.has(row.operation)) expect(entries.length, `${context}: no audit entry by user:${who}`).toBeGreaterThan(0);
        } else {
          expect(res.status, context).toBe(403);
          expect(res.body.error.code, context).toBe(ErrorCode.Forbidden);
          expect(entries, context).toEqual([
            expect.objectContaining({ actor: `user:${who}`, action: row.operation, target: targetString(row.target(w)), outcome: 'denied' }),
          ]);
        }
      }
    });

    // Pins the exact operation each route checks, even where every role may (reads): the viewer gets
    // every operation but the row's → 403 audited as that operation; only the row's → not refused.
    it.each(ROWS.map((r) => [r.name, r] as const))('%s checks exactly its operation', async (_name, row) => {
      const allBut = clone(DEFAULT_ACL_POLICY);
      allBut.roles.viewer = OPERATIONS.filter((op) => op !== row.operation).map((operation) => ({ operation, selfOnly: false }));
      const only = clone(DEFAULT_ACL_POLICY);
      only.roles.viewer = [{ operation: row.operation, selfOnly: false }];
      try {
        for (const [policy, allowed] of [[allBut, false], [only, true]] as const) {
          expect((await w.fm.api('PUT', '/v1/acl', policy)).status).toBe(200);
          const call = await row.call(w);
          const cursor = await auditCursor(w);
          const res = await request(w, 'viewer', call);
          const context = `${row.name} as viewer ${allowed ? 'with only' : 'without'} ${row.operation}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
          const denials = (await auditAfter(w, cursor)).filter((e) => e.actor === 'user:viewer' && e.outcome === 'denied');
          if (allowed) {
            expect([401, 403], context).not.toContain(res.status);
            expect(denials, context).toEqual([]);
          } else {
            expect(res.status, context).toBe(403);
            expect(denials.map((e) => `${e.action} ${e.target}`), context).toEqual([`${row.operation} ${targetString(row.target(w))}`]);
          }
        }
      } finally {
        expect((await w.fm.api('PUT', '/v1/acl', DEFAULT_ACL_POLICY)).status).toBe(200);
      }
    });

    // Was a bug the matrix found: submissions were not audited. One entry per submitting call.
    it('records an allowed task submission in the audit trail under the submitting user', async () => {
      const cursor = await auditCursor(w);
      const res = await request(w, 'operator', { method: 'POST', path: '/v1/tasks', body: { command: ['true'], project: 'beta' } });
      expect(res.status).toBe(201);
      expect((await auditAfter(w, cursor)).filter((e) => e.actor === 'user:operator')).toEqual([expect.objectContaining({ action: 'task.submit', outcome: 'allowed' })]);
    });
  });

  describe('live policy', () => {
    it('PUT /v1/acl applies at once and is audited; an invalid policy is refused naming the path', async () => {
      const submit: Call = { method: 'POST', path: '/v1/tasks', body: { command: ['true'], project: 'beta' } };
      expect((await request(w, 'viewer', submit)).status).toBe(403);
      const policy = clone(DEFAULT_ACL_POLICY);
      policy.roles.viewer.push({ operation: 'SubmitTask', selfOnly: false });
      expect(authorize('SubmitTask', requesterOf('viewer'), project('beta'), policy).allowed).toBe(true);
      const cursor = await auditCursor(w);
      const put = await w.fm.api('PUT', '/v1/acl', policy);
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect((await request(w, 'viewer', submit)).status).toBe(201);
      expect(await auditAfter(w, cursor)).toContainEqual(expect.objectContaining({ actor: 'user:admin', action: expect.stringMatching(/^acl\./), outcome: expect.not.stringMatching(/denied|failed/) }));

      const bad = { ...policy, roles: { ...policy.roles, viewer: [{ operation: 'FlyToTheMoon' }] } };
      const refused = await w.fm.api('PUT', '/v1/acl', bad);
      expect(refused.status).toBe(400);
      const issues = (refused.body as { error: { details: { issues: { path: string }[] } } }).error.details.issues;
      expect(issues.map((i) => i.path)).toContain('roles.viewer[0].operation');
      expect((await w.fm.api('GET', '/v1/acl')).body).toEqual(policy);
      expect((await request(w, 'viewer', submit)).status).toBe(201);
    });

    it('a hand edit of the policy file applies within seconds; an invalid edit keeps the old policy', async () => {
      const file = w.fm.master.coordinator.access.policyFile;
      expect(file).toBe(join(w.fm.dir, 'master', 'acl.yaml'));
      const submit: Call = { method: 'POST', path: '/v1/tasks', body: { command: ['true'], project: 'alpha' } };
      let cursor = await auditCursor(w);
      // Back to the default by hand (JSON is YAML): the viewer loses SubmitTask again.
      writeFileSync(file!, `${JSON.stringify(DEFAULT_ACL_POLICY, null, 2)}\n`);
      await waitFor('the hand edit applies', async () => (await request(w, 'viewer', submit)).status === 403, 15_000, 200);
      expect((await w.fm.api('GET', '/v1/acl')).body).toEqual(DEFAULT_ACL_POLICY);
      expect(await auditAfter(w, cursor)).toContainEqual(expect.objectContaining({ actor: `file:${file}`, action: 'acl.reload', outcome: expect.not.stringMatching(/denied|failed/) }));

      cursor = await auditCursor(w);
      writeFileSync(file!, 'version: 1\nroles:\n  viewer:\n    - operation: SubmitTask\n      bogus: true\n');
      await waitFor('the invalid edit is noticed', async () => (await auditAfter(w, cursor)).some((e) => e.action === 'acl.reload' && e.outcome === 'failed'), 15_000, 200);
      expect((await w.fm.api('GET', '/v1/acl')).body).toEqual(DEFAULT_ACL_POLICY);
      expect((await request(w, 'viewer', submit)).status).toBe(403);
      expect(readFileSync(file!, 'utf8')).toContain('bogus');
      expect((await w.fm.api('PUT', '/v1/acl', DEFAULT_ACL_POLICY)).status).toBe(200);
    });
  });

  describe('WebSocket /v1/events', () => {
    afterAll(async () => {
      await w.fm.api('PUT', '/v1/acl', DEFAULT_ACL_POLICY);
    });

    it('lets every role subscribe under the default policy (ReadState + ReadLogs)', async () => {
      for (const who of WHO) {
        expect(authorize('ReadState', requesterOf(who), FLEET).allowed && authorize('ReadLogs', requesterOf(who), FLEET).allowed).toBe(true);
        const sub = await subscribe(w, who, '');
        expect(sub.status, `${who}: ${sub.body}`).toBe(101);
        expect(sub.hello).toMatchObject({ kind: 'hello' });
        expect(sub.hello.streams).toContain('logs');
        sub.ws!.close();
      }
    });

    it('refuses the upgrade without ReadState, and the logs stream without ReadLogs, each denial audited', async () => {
      const noReads = clone(DEFAULT_ACL_POLICY);
      noReads.roles.viewer = [];
      expect((await w.fm.api('PUT', '/v1/acl', noReads)).status).toBe(200);
      expect(authorize('ReadState', requesterOf('viewer'), FLEET, noReads).allowed).toBe(false);
      let cursor = await auditCursor(w);
      const refused = await subscribe(w, 'viewer', '?streams=events');
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body!).error.code).toBe(ErrorCode.Forbidden);
      expect((await auditAfter(w, cursor)).filter((e) => e.actor === 'user:viewer')).toEqual([
        expect.objectContaining({ action: 'ReadState', target: 'fleet', outcome: 'denied' }),
      ]);
      const operator = await subscribe(w, 'operator', '');
      expect(operator.status).toBe(101);
      operator.ws!.close();

      const stateOnly = clone(DEFAULT_ACL_POLICY);
      stateOnly.roles.viewer = [{ operation: 'ReadState', selfOnly: false }];
      expect((await w.fm.api('PUT', '/v1/acl', stateOnly)).status).toBe(200);
      cursor = await auditCursor(w);
      const withLogs = await subscribe(w, 'viewer', '?streams=events,logs');
      expect(withLogs.status).toBe(403);
      const eventsOnly = await subscribe(w, 'viewer', '?streams=events');
      expect(eventsOnly.status).toBe(101);
      eventsOnly.ws!.send(JSON.stringify({ op: 'filter', streams: ['events', 'logs'] }));
      const error = await nextFrame(eventsOnly.ws!, (f) => f.kind === 'error' || f.kind === 'filter');
      expect(error).toMatchObject({ kind: 'error', error: { code: ErrorCode.Forbidden } });
      eventsOnly.ws!.close();
      const denials = (await auditAfter(w, cursor)).filter((e) => e.actor === 'user:viewer');
      expect(denials.map((e) => `${e.action} ${e.outcome}`)).toEqual(['ReadLogs denied', 'ReadLogs denied']);
    });
  });

  describe('gRPC (node requesters)', () => {
    /**
     * Each agent message the hub authorizes, and each list of a `reports` frame (authorized item
     * by item), as the operation it is (hard-coded; src/coordinator/hub.ts NODE_OPERATIONS and
     * REPORT_OPERATIONS).
     */
    const MESSAGE_OPERATION: Record<Exclude<AgentMessage['type'], 'hello' | 'reports'> | `reports.${keyof TaskReports}`, Operation> = {
      heartbeat: 'ReportStatus', 'reports.started': 'ReportResult', 'reports.output': 'ReportResult', 'reports.finished': 'ReportResult', 'reports.rejected': 'ReportResult',
      leaving: 'ReportStatus', renewCertificate: 'RenewCertificate',
    };
    const resources = { cpus: 1, memoryBytes: 1 << 30, load: 0 };
    let probe = 0;
    /** A `reports` frame carrying only `part`. */
    const reports = (part: Partial<TaskReports>): AgentMessage => ({ type: 'reports', started: [], output: [], finished: [], rejected: [], ...part });

    /** A message about the sender itself whose answer tells whether it passed the ACL: a unique, unknown task id. */
    function aboutSelf(type: keyof typeof MESSAGE_OPERATION): { message: AgentMessage; marker: string } {
      const taskId = `tsk_probe${probe++}`;
      switch (type) {
        case 'heartbeat': return { message: { type, at: Date.now(), resources, running: [{ taskId, attempt: 1 }] }, marker: taskId };
        case 'reports.started': return { message: reports({ started: [{ taskId, attempt: 1, at: Date.now() }] }), marker: taskId };
        case 'reports.output': return { message: reports({ output: [{ taskId, attempt: 1, seq: 1, stream: 'stdout', data: 'x', at: Date.now() }] }), marker: taskId };
        case 'reports.finished': return { message: reports({ finished: [{ taskId, attempt: 1, result: { exitCode: 0, error: null, durationMs: 1 } }] }), marker: taskId };
        case 'reports.rejected': return { message: reports({ rejected: [{ taskId, attempt: 1, reason: 'busy' }] }), marker: taskId };
        case 'leaving': return { message: { type, reason: 'probe', stopped: [{ taskId, attempt: 1 }] }, marker: taskId };
        case 'renewCertificate': return { message: { type, csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nnot one' }, marker: 'certificate not renewed' };
      }
    }

    /** Sends and waits for the answer: 'denied' (a Forbidden error frame) or 'allowed' (the handler's own answer). */
    async function verdict(agent: RawAgent, type: keyof typeof MESSAGE_OPERATION): Promise<{ verdict: 'allowed' | 'denied'; frame: CoordinatorMessage }> {
      const { message, marker } = aboutSelf(type);
      const before = agent.received.length;
      agent.send(message);
      const frame = await waitFor(`answer to ${type}`, () => agent.received.slice(before).find((m) =>
        (m.type === 'error' && (m.code === ErrorCode.Forbidden || m.message.includes(marker))) ||
        (m.type === 'voidTasks' && m.tasks.some((t) => t.taskId === marker)) ||
        (m.type === 'resultAcks' && m.acks.some((a) => a.taskId === marker))), 15_000, 20);
      return { verdict: frame.type === 'error' && frame.code === ErrorCode.Forbidden ? 'denied' : 'allowed', frame };
    }

    const nodes = (): [NodeAclRole, () => RawNode, (n: RawNode) => void][] => [
      ['worker', () => worker, (n) => (worker = n)],
      ['hybrid', () => hybrid, (n) => (hybrid = n)],
    ];

    it('master-only commands are denied to worker and hybrid by authorize(), on themselves and on the fleet', () => {
      for (const role of ['worker', 'hybrid'] as const) {
        for (const op of ['EmergencyShutdown', 'UpdateConfiguration', 'MigrateProject'] as const) {
          for (const target of [FLEET, { kind: 'node', nodeId: 'self' } as Target]) {
            expect(authorize(op, { kind: 'node', nodeId: 'self', role }, target).allowed, `${role} ${op}`).toBe(false);
          }
        }
      }
      expect(authorize('ExecuteTask', { kind: 'node', nodeId: 'self', role: 'worker' }, { kind: 'node', nodeId: 'self' }).allowed).toBe(false);
      expect(authorize('ExecuteTask', { kind: 'node', nodeId: 'self', role: 'hybrid' }, { kind: 'node', nodeId: 'other' }).allowed).toBe(false);
    });

    it('allows every message type about the sender itself under the default policy, for both roles', async () => {
      for (const [role, get] of nodes()) {
        const n = get();
        for (const type of Object.keys(MESSAGE_OPERATION) as (keyof typeof MESSAGE_OPERATION)[]) {
          expect(authorize(MESSAGE_OPERATION[type], { kind: 'node', nodeId: n.agent.nodeId, role }, { kind: 'node', nodeId: n.agent.nodeId }).allowed).toBe(true);
          const { verdict: v, frame } = await verdict(n.agent, type);
          expect(v, `${role} ${type}: ${JSON.stringify(frame)}`).toBe('allowed');
        }
      }
    });

    it('denies exactly the message types of a withdrawn operation: Forbidden error frame + audit entry by node:<id>', async () => {
      for (const withdrawn of ['ReportStatus', 'ReportResult', 'RenewCertificate'] as const) {
        const policy = clone(DEFAULT_ACL_POLICY);
        policy.roles.worker = policy.roles.worker.filter((g) => g.operation !== withdrawn);
        policy.roles.hybrid = policy.roles.hybrid.filter((g) => g.operation !== withdrawn);
        expect((await w.fm.api('PUT', '/v1/acl', policy)).status).toBe(200);
        for (const [role, get, set] of nodes()) {
          const n = await reconnectRawNode(w.fm.raw, get()); // a fresh stream: violations start at 0
          set(n);
          const nodeId = n.agent.nodeId;
          for (const type of Object.keys(MESSAGE_OPERATION) as (keyof typeof MESSAGE_OPERATION)[]) {
            const op = MESSAGE_OPERATION[type];
            const expected = authorize(op, { kind: 'node', nodeId, role }, { kind: 'node', nodeId }, policy).allowed ? 'allowed' : 'denied';
            expect(expected, `${role} ${type} without ${withdrawn}: table`).toBe(op === withdrawn ? 'denied' : 'allowed');
            const cursor = await auditCursor(w);
            const { verdict: v, frame } = await verdict(n.agent, type);
            const context = `${role} ${type} without ${withdrawn}: ${JSON.stringify(frame)}`;
            expect(v, context).toBe(expected);
            const denials = (await auditAfter(w, cursor)).filter((e) => e.actor === `node:${nodeId}` && e.outcome === 'denied' && e.action === op);
            if (expected === 'denied') {
              expect(frame, context).toMatchObject({ type: 'error', code: ErrorCode.Forbidden, fatal: false });
              expect(denials, context).toEqual([expect.objectContaining({ target: nodeId })]);
            } else {
              expect(denials, context).toEqual([]);
            }
          }
        }
      }
      expect((await w.fm.api('PUT', '/v1/acl', DEFAULT_ACL_POLICY)).status).toBe(200);
    });

    /** Each raw node's held attempt (assigned or running), from the master. */
    async function heldBy(nodeId: string): Promise<TaskRef & { state: string } | undefined> {
      const res = await w.fm.api('GET', `/v1/tasks?node=${nodeId}&state=assigned,running`);
      const tasks = res.body as { id: string; attempt: number; state: string }[];
      return tasks[0] ? { taskId: tasks[0].id, attempt: tasks[0].attempt, state: tasks[0].state } : undefined;
    }
    async function holdOne(): Promise<Record<'worker' | 'hybrid', TaskRef>> {
      for (let i = 0; i < 2; i++) await newTask(w, 'alpha');
      const held = {} as Record<'worker' | 'hybrid', TaskRef>;
      for (const [role, get] of nodes()) held[role as 'worker' | 'hybrid'] = await waitFor(`${role} holds a task`, () => heldBy(get().agent.nodeId), 20_000, 100);
      return held;
    }
    /** One frame per kind of report about `ref` (each `reports` frame carries one item), then a heartbeat claiming it. */
    const crossMessages = (ref: TaskRef): AgentMessage[] => [
      reports({ started: [{ taskId: ref.taskId, attempt: ref.attempt, at: Date.now() }] }),
      reports({ output: [{ taskId: ref.taskId, attempt: ref.attempt, seq: 1_000_000, stream: 'stdout', data: 'forged', at: Date.now() }] }),
      reports({ finished: [{ taskId: ref.taskId, attempt: ref.attempt, result: { exitCode: 0, error: null, durationMs: 1 } }] }),
      reports({ rejected: [{ taskId: ref.taskId, attempt: ref.attempt, reason: 'forged' }] }),
      { type: 'heartbeat', at: Date.now(), resources, running: [ref] },
    ];
    const acksIn = (frames: CoordinatorMessage[]) => frames.flatMap((m) => (m.type === 'resultAcks' ? m.acks : []));

    it('a report about another node\'s task changes nothing of that task', async () => {
      const held = await holdOne();
      for (const [role, get] of nodes()) {
        const other = role === 'worker' ? 'hybrid' : 'worker';
        const victim = held[other];
        expect(authorize('ReportResult', { kind: 'node', nodeId: get().agent.nodeId, role }, { kind: 'node', nodeId: nodes().find(([r]) => r === other)![1]().agent.nodeId }).allowed).toBe(false);
        const before = get().agent.received.length;
        for (const m of crossMessages(victim)) get().agent.send(m);
        // Four report frames about the other node's attempt: four Forbidden refusals (the heartbeat claim is fenced).
        await get().agent.until('refusal of the forged reports', () => get().agent.received.slice(before).filter((m) => m.type === 'error' && m.code === ErrorCode.Forbidden).length >= 4);
        expect(acksIn(get().agent.received.slice(before))).not.toContainEqual(expect.objectContaining({ taskId: victim.taskId, accepted: true }));
        const task = (await w.fm.api('GET', `/v1/tasks/${victim.taskId}`)).body as { nodeId: string; attempt: number; state: string };
        const otherNode = nodes().find(([r]) => r === other)![1]();
        expect(task).toMatchObject({ nodeId: otherNode.agent.nodeId, attempt: victim.attempt });
        expect(['assigned', 'running']).toContain(task.state);
        const logs = (await w.fm.api('GET', `/v1/tasks/${victim.taskId}/logs`)).body as { data: string }[];
        expect(logs.map((l) => l.data)).not.toContain('forged');
      }
    });

    // Was a gap the matrix found: reports were authorized only on the sender's own node.
    it('denies a report about another node\'s task with a Forbidden error frame and an audited denial', async () => {
      const held = await holdOne();
      const sender = worker;
      const victim = held.hybrid;
      const cursor = await auditCursor(w);
      const before = sender.agent.received.length;
      sender.agent.send(crossMessages(victim)[2]!);
      await sender.agent.until('an answer', (m) => sender.agent.received.indexOf(m) >= before && (m.type === 'resultAcks' || m.type === 'error'));
      expect(sender.agent.received.slice(before)).toContainEqual(expect.objectContaining({ type: 'error', code: ErrorCode.Forbidden }));
      expect(await auditAfter(w, cursor)).toContainEqual(expect.objectContaining({ actor: `node:${sender.agent.nodeId}`, action: 'ReportResult', outcome: 'denied' }));
    });

    // Was a gap the matrix found: the hello's running list (SyncState) was never checked; refused, the node is not admitted.
    it('denies SyncState (the hello\'s running list) when the policy withdraws it', async () => {
      const policy = clone(DEFAULT_ACL_POLICY);
      policy.roles.worker = policy.roles.worker.filter((g) => g.operation !== 'SyncState');
      expect(authorize('SyncState', { kind: 'node', nodeId: worker.agent.nodeId, role: 'worker' }, { kind: 'node', nodeId: worker.agent.nodeId }, policy).allowed).toBe(false);
      expect((await w.fm.api('PUT', '/v1/acl', policy)).status).toBe(200);
      try {
        const cursor = await auditCursor(w);
        const nodeId = worker.agent.nodeId;
        worker.agent.close();
        const { agent, answer } = await helloAnswer(w.fm.raw, worker.node, worker.identity, [{ taskId: 'tsk_claimed', attempt: 1 }]);
        worker = { ...worker, agent };
        expect(answer).toMatchObject({ type: 'error', code: ErrorCode.Forbidden });
        expect(await auditAfter(w, cursor)).toContainEqual(expect.objectContaining({ actor: `node:${nodeId}`, action: 'SyncState', outcome: 'denied' }));
      } finally {
        expect((await w.fm.api('PUT', '/v1/acl', DEFAULT_ACL_POLICY)).status).toBe(200);
        // Back in the fleet for the tests that follow.
        const again = await helloAnswer(w.fm.raw, worker.node, worker.identity, []);
        worker = { ...worker, agent: again.agent };
        expect(again.answer).toMatchObject({ type: 'welcome' });
      }
    });

    it('no agent message can trigger a master command: crafted coordinator frames are refused', async () => {
      const bystander = hybrid;
      const sent = bystander.agent.received.length;
      for (const crafted of [
        { type: 'emergencyShutdown', tier: 'shutdown-nodes', reason: 'crafted by a worker' },
        { type: 'updateConfiguration', config: { heartbeatIntervalMs: 1 } },
      ] as CoordinatorMessage[]) {
        const before = worker.agent.received.length;
        expect(worker.agent.sendRaw(encodeCoordinatorMessage(crafted))).toBe(true);
        const answer = await worker.agent.until(`refusal of crafted ${crafted.type}`, (m) => worker.agent.received.indexOf(m) >= before && m.type === 'error');
        expect(answer.type).toBe('error');
      }
      const status = (await w.fm.api('GET', '/v1/status')).body as { acceptingWork: boolean; config: { heartbeatIntervalMs: number } };
      expect(status.acceptingWork).toBe(true);
      expect(status.config.heartbeatIntervalMs).toBe(500);
      expect(w.fm.stoppedEarly()).toBe(false);
      const toBystander = bystander.agent.received.slice(sent);
      expect(toBystander.filter((m) => m.type === 'emergencyShutdown')).toEqual([]);
      expect(toBystander.filter((m) => m.type === 'updateConfiguration' && m.config.heartbeatIntervalMs === 1)).toEqual([]);
    });
  });
});
