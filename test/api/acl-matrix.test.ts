/**
 * The ACL through REST: every route × admin / operator / viewer / an operator limited to project
 * `alpha` → allowed or 403, with each denial recorded. The expected operation and targets of each
 * route are stated here; whether a role may do it is decided by the real pure `authorize()` with
 * DEFAULT_ACL_POLICY (through FakeAccess), so the table checks the route → operation/target
 * mapping and the hook that enforces it. A route missing from the table fails the coverage test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApiApp } from '../../src/api/index.js';
import { BitacoraError, ErrorCode, type Task } from '../../src/core/index.js';
import { authorize, DEFAULT_ACL_POLICY, type Operation, type Requester, type Target } from '../../src/security/index.js';
import { openSqliteBackbone, type SqliteBackbone } from '../../src/store/sqlite/index.js';
import { FakeAccess, USERS, type FixedUser } from './fake-access.js';
import { FakeFleet, fakeNode } from './fake-fleet.js';

interface Fixture {
  nodeId: string;
  task: { alpha: Task; beta: Task; none: Task };
  topic: { alpha: string; beta: string };
  approval: { alpha: string; beta: string };
  session: string;
}

interface Row {
  /** The route as registered (method + url pattern under /v1, or a root url). */
  route: string;
  /** A variant label when a route appears with several targets. */
  label?: string;
  path: (fx: Fixture) => string;
  body?: unknown;
  operation: Operation;
  targets: (fx: Fixture) => Target[];
}

const FLEET: Target[] = [{ kind: 'fleet' }];
const project = (p: string): Target[] => [{ kind: 'project', project: p }];
const node = (fx: Fixture): Target[] => [{ kind: 'node', nodeId: fx.nodeId }];
const fixed = (path: string) => () => path;

const ROWS: Row[] = [
  // fleet
  { route: 'GET /v1/status', path: fixed('/v1/status'), operation: 'ReadState', targets: () => FLEET },
  { route: 'GET /metrics', path: fixed('/metrics'), operation: 'ReadState', targets: () => FLEET },
  { route: 'PATCH /v1/config', path: fixed('/v1/config'), body: { heartbeatIntervalMs: 500 }, operation: 'UpdateConfiguration', targets: () => FLEET },
  { route: 'POST /v1/shutdown', path: fixed('/v1/shutdown'), body: { tier: 'stop-dispatch' }, operation: 'EmergencyShutdown', targets: () => FLEET },
  { route: 'POST /v1/resume', path: fixed('/v1/resume'), operation: 'EmergencyShutdown', targets: () => FLEET },
  // nodes
  { route: 'GET /v1/nodes', path: fixed('/v1/nodes'), operation: 'ReadState', targets: () => FLEET },
  { route: 'GET /v1/nodes/:id', path: fixed('/v1/nodes/worker-1'), operation: 'ReadState', targets: () => FLEET },
  { route: 'POST /v1/nodes/:id/drain', path: fixed('/v1/nodes/worker-1/drain'), operation: 'ManageNodes', targets: node },
  { route: 'POST /v1/nodes/:id/undrain', path: fixed('/v1/nodes/worker-1/undrain'), operation: 'ManageNodes', targets: node },
  { route: 'POST /v1/nodes/:id/role', path: fixed('/v1/nodes/worker-1/role'), body: { role: 'hybrid' }, operation: 'ManageNodes', targets: node },
  { route: 'DELETE /v1/nodes/:id', path: fixed('/v1/nodes/worker-1'), operation: 'ManageNodes', targets: node },
  { route: 'POST /v1/nodes/:id/revoke', path: fixed('/v1/nodes/worker-1/revoke'), operation: 'RevokeNode', targets: node },
  // tasks
  { route: 'POST /v1/tasks', label: 'alpha', path: fixed('/v1/tasks'), body: { command: ['true'], project: 'alpha' }, operation: 'SubmitTask', targets: () => project('alpha') },
  { route: 'POST /v1/tasks', label: 'beta', path: fixed('/v1/tasks'), body: { command: ['true'], project: 'beta' }, operation: 'SubmitTask', targets: () => project('beta') },
  { route: 'POST /v1/tasks', label: 'no project', path: fixed('/v1/tasks'), body: { command: ['true'] }, operation: 'SubmitTask', targets: () => FLEET },
  {
    route: 'POST /v1/tasks/batch', label: 'alpha only', path: fixed('/v1/tasks/batch'),
    body: [{ command: ['true'], project: 'alpha' }, { command: ['false'], project: 'alpha' }], operation: 'SubmitTask', targets: () => project('alpha'),
  },
  {
    route: 'POST /v1/tasks/batch', label: 'alpha + no project', path: fixed('/v1/tasks/batch'),
    body: [{ command: ['true'], project: 'alpha' }, { command: ['true'] }], operation: 'SubmitTask', targets: () => [...project('alpha'), ...FLEET],
  },
  { route: 'GET /v1/tasks', path: fixed('/v1/tasks'), operation: 'ReadState', targets: () => FLEET },
  { route: 'GET /v1/tasks/:id', path: (fx) => `/v1/tasks/${fx.task.alpha.id}`, operation: 'ReadState', targets: () => FLEET },
  { route: 'GET /v1/tasks/:id/logs', path: (fx) => `/v1/tasks/${fx.task.beta.id}/logs`, operation: 'ReadLogs', targets: () => FLEET },
  { route: 'POST /v1/tasks/:id/cancel', label: 'alpha', path: (fx) => `/v1/tasks/${fx.task.alpha.id}/cancel`, operation: 'CancelTask', targets: () => project('alpha') },
  { route: 'POST /v1/tasks/:id/cancel', label: 'beta', path: (fx) => `/v1/tasks/${fx.task.beta.id}/cancel`, operation: 'CancelTask', targets: () => project('beta') },
  { route: 'POST /v1/tasks/:id/cancel', label: 'no project', path: (fx) => `/v1/tasks/${fx.task.none.id}/cancel`, operation: 'CancelTask', targets: () => FLEET },
  // tokens, users, policy, audit
  { route: 'POST /v1/tokens', path: fixed('/v1/tokens'), body: { role: 'worker' }, operation: 'ManageTokens', targets: () => FLEET },
  { route: 'GET /v1/tokens', path: fixed('/v1/tokens'), operation: 'ManageTokens', targets: () => FLEET },
  { route: 'POST /v1/tokens/:id/revoke', path: fixed('/v1/tokens/tok_3/revoke'), operation: 'ManageTokens', targets: () => FLEET },
  { route: 'POST /v1/api-tokens', path: fixed('/v1/api-tokens'), body: { user: 'vic', ttl: '1h', label: 'ci' }, operation: 'ManageTokens', targets: () => FLEET },
  { route: 'POST /v1/login-tokens', path: fixed('/v1/login-tokens'), body: { user: 'vic' }, operation: 'ManageTokens', targets: () => FLEET },
  { route: 'GET /v1/users', path: fixed('/v1/users'), operation: 'ManageUsers', targets: () => FLEET },
  { route: 'POST /v1/users', path: fixed('/v1/users'), body: { name: 'newbie', role: 'viewer' }, operation: 'ManageUsers', targets: () => FLEET },
  { route: 'DELETE /v1/users/:name', path: fixed('/v1/users/vic'), operation: 'ManageUsers', targets: () => FLEET },
  { route: 'GET /v1/acl', path: fixed('/v1/acl'), operation: 'ManagePolicy', targets: () => FLEET },
  { route: 'PUT /v1/acl', path: fixed('/v1/acl'), body: DEFAULT_ACL_POLICY, operation: 'ManagePolicy', targets: () => FLEET },
  { route: 'GET /v1/audit', path: fixed('/v1/audit'), operation: 'ReadAudit', targets: () => FLEET },
  { route: 'GET /v1/audit/verify', path: fixed('/v1/audit/verify'), operation: 'ReadAudit', targets: () => FLEET },
  { route: 'POST /v1/audit/verify', path: fixed('/v1/audit/verify'), body: {}, operation: 'ReadAudit', targets: () => FLEET },
  { route: 'GET /v1/audit/checkpoints', path: fixed('/v1/audit/checkpoints'), operation: 'ReadAudit', targets: () => FLEET },
  // logbook: sessions
  { route: 'GET /v1/sessions', path: fixed('/v1/sessions'), operation: 'ReadState', targets: () => FLEET },
  { route: 'GET /v1/sessions/:id', path: (fx) => `/v1/sessions/${fx.session}`, operation: 'ReadState', targets: () => FLEET },
  { route: 'POST /v1/sessions', label: 'beta', path: fixed('/v1/sessions'), body: { project: 'beta' }, operation: 'WriteLogbook', targets: () => project('beta') },
  { route: 'POST /v1/sessions', label: 'no project', path: fixed('/v1/sessions'), body: {}, operation: 'WriteLogbook', targets: () => FLEET },
  ...(['pause', 'resume', 'end'] as const).map(
    (verb): Row => ({ route: `POST /v1/sessions/:id/${verb}`, path: (fx) => `/v1/sessions/${fx.session}/${verb}`, operation: 'WriteLogbook', targets: () => project('alpha') }),
  ),
  // logbook: projects and topics
  { route: 'GET /v1/projects', path: fixed('/v1/projects'), operation: 'ReadState', targets: () => FLEET },
  { route: 'GET /v1/projects/:name', path: fixed('/v1/projects/alpha'), operation: 'ReadState', targets: () => FLEET },
  { route: 'POST /v1/projects', path: fixed('/v1/projects'), body: { name: 'gamma' }, operation: 'WriteLogbook', targets: () => project('gamma') },
  { route: 'PATCH /v1/projects/:name', label: 'alpha', path: fixed('/v1/projects/alpha'), body: { description: 'x' }, operation: 'WriteLogbook', targets: () => project('alpha') },
  { route: 'PATCH /v1/projects/:name', label: 'beta', path: fixed('/v1/projects/beta'), body: { description: 'x' }, operation: 'WriteLogbook', targets: () => project('beta') },
  { route: 'GET /v1/topics', path: fixed('/v1/topics'), operation: 'ReadState', targets: () => FLEET },
  { route: 'GET /v1/topics/:id', path: (fx) => `/v1/topics/${fx.topic.beta}`, operation: 'ReadState', targets: () => FLEET },
  { route: 'POST /v1/topics', label: 'alpha', path: fixed('/v1/topics'), body: { project: 'alpha', title: 'T' }, operation: 'WriteLogbook', targets: () => project('alpha') },
  { route: 'POST /v1/topics', label: 'beta', path: fixed('/v1/topics'), body: { project: 'beta', title: 'T' }, operation: 'WriteLogbook', targets: () => project('beta') },
  { route: 'POST /v1/topics/:id/activate', label: 'alpha', path: (fx) => `/v1/topics/${fx.topic.alpha}/activate`, operation: 'WriteLogbook', targets: () => project('alpha') },
  { route: 'POST /v1/topics/:id/activate', label: 'beta', path: (fx) => `/v1/topics/${fx.topic.beta}/activate`, operation: 'WriteLogbook', targets: () => project('beta') },
  { route: 'POST /v1/topics/:id/status', path: (fx) => `/v1/topics/${fx.topic.beta}/status`, body: { status: 'blocked' }, operation: 'WriteLogbook', targets: () => project('beta') },
  // logbook: actions and sparks
  { route: 'GET /v1/actions', path: fixed('/v1/actions'), operation: 'ReadState', targets: () => FLEET },
  { route: 'GET /v1/actions/:id', path: fixed('/v1/actions/act_x'), operation: 'ReadState', targets: () => FLEET },
  { route: 'POST /v1/actions', label: 'alpha', path: fixed('/v1/actions'), body: { project: 'alpha', description: 'd' }, operation: 'WriteLogbook', targets: () => project('alpha') },
  {
    route: 'POST /v1/actions', label: 'beta through its topic', path: fixed('/v1/actions'),
    body: { description: 'd' }, operation: 'WriteLogbook', targets: () => project('beta'),
  },
  { route: 'GET /v1/sparks', path: fixed('/v1/sparks'), operation: 'ReadState', targets: () => FLEET },
  { route: 'GET /v1/sparks/:id', path: fixed('/v1/sparks/spk_x'), operation: 'ReadState', targets: () => FLEET },
  { route: 'POST /v1/sparks', label: 'no project', path: fixed('/v1/sparks'), body: { content: 'idea' }, operation: 'WriteLogbook', targets: () => FLEET },
  { route: 'POST /v1/sparks', label: 'beta', path: fixed('/v1/sparks'), body: { content: 'idea', project: 'beta' }, operation: 'WriteLogbook', targets: () => project('beta') },
  // logbook: approvals
  { route: 'GET /v1/approvals', path: fixed('/v1/approvals'), operation: 'ReadState', targets: () => FLEET },
  { route: 'GET /v1/approvals/:id', path: (fx) => `/v1/approvals/${fx.approval.alpha}`, operation: 'ReadState', targets: () => FLEET },
  { route: 'POST /v1/approvals/:id/approve', label: 'alpha', path: (fx) => `/v1/approvals/${fx.approval.alpha}/approve`, operation: 'Approve', targets: () => project('alpha') },
  { route: 'POST /v1/approvals/:id/approve', label: 'beta', path: (fx) => `/v1/approvals/${fx.approval.beta}/approve`, operation: 'Approve', targets: () => project('beta') },
  { route: 'POST /v1/approvals/:id/reject', label: 'alpha', path: (fx) => `/v1/approvals/${fx.approval.alpha}/reject`, body: { note: 'no' }, operation: 'Reject', targets: () => project('alpha') },
  { route: 'POST /v1/approvals/:id/reject', label: 'beta', path: (fx) => `/v1/approvals/${fx.approval.beta}/reject`, operation: 'Reject', targets: () => project('beta') },
];

// The action "through its topic" names the beta topic, not a project: its target comes from the lookup.
const withTopic = (row: Row, fx: Fixture): unknown => (row.label === 'beta through its topic' ? { ...(row.body as object), topicId: fx.topic.beta } : row.body);

/** Least privileged first, so a granted call that changes state never hides a later denial. */
const ROLES: FixedUser[] = ['viewer', 'limited', 'operator', 'admin'];

function requesterOf(who: FixedUser): Requester {
  const u = USERS[who];
  return { kind: 'user', name: u.name, role: u.role, ...('projects' in u ? { projects: u.projects } : {}) };
}

function expectedAllowed(row: Row, fx: Fixture, who: FixedUser): boolean {
  return row.targets(fx).every((t) => authorize(row.operation, requesterOf(who), t, DEFAULT_ACL_POLICY).allowed);
}

const rowName = (row: Row) => `${row.route}${row.label ? ` (${row.label})` : ''}`;

describe('ACL matrix (REST)', () => {
  let dir: string;
  let seq = 0;
  const open: { app: FastifyInstance; backbone: SqliteBackbone }[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-acl-matrix-'));
  });
  afterAll(async () => {
    for (const { app, backbone } of open.splice(0)) {
      await app.close();
      await backbone.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function world() {
    const fleet = new FakeFleet();
    const worker = fakeNode('worker-1');
    fleet.nodes.push(worker);
    const task = {
      alpha: (await fleet.submitTask({ command: ['a'], project: 'alpha' })).task,
      beta: (await fleet.submitTask({ command: ['b'], project: 'beta' })).task,
      none: (await fleet.submitTask({ command: ['n'] })).task,
    };
    const backbone = await openSqliteBackbone({ file: join(dir, `fleet-${seq++}.db`) });
    const now = Date.now();
    await backbone.projects.create({ name: 'alpha' }, now);
    await backbone.projects.create({ name: 'beta' }, now);
    const topic = { alpha: (await backbone.topics.create({ project: 'alpha', title: 'A' }, now)).id, beta: (await backbone.topics.create({ project: 'beta', title: 'B' }, now)).id };
    const approval = {
      alpha: (await backbone.approvals.request({ topicId: topic.alpha, project: 'alpha', reason: 'risky', expiresAt: now + 3_600_000 }, now)).id,
      beta: (await backbone.approvals.request({ topicId: topic.beta, project: 'beta', reason: 'risky', expiresAt: now + 3_600_000 }, now)).id,
    };
    const session = (await backbone.sessions.start({ user: 'olga', project: 'alpha' }, now)).id;
    const access = new FakeAccess();
    const app = await buildApiApp({ fleet, access, host: '127.0.0.1', port: 0, logbook: backbone, audit: access.auditSink });
    open.push({ app, backbone });
    const fx: Fixture = { nodeId: worker.id, task, topic, approval, session };
    return { app, access, fx };
  }

  it('covers every registered route that needs a grant, with the operation the route declares', async () => {
    const { app } = await world();
    const declared = app.routeAccess.filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/api/v1'));
    const guarded = declared.filter((r) => r.access !== 'public' && r.access !== 'self' && r.url !== '/v1/events');
    expect(new Set(guarded.map((r) => `${r.method} ${r.url}`))).toEqual(new Set(ROWS.map((r) => r.route)));
    for (const row of ROWS) {
      const [method, url] = row.route.split(' ');
      expect(guarded.find((r) => r.method === method && r.url === url)?.access, row.route).toBe(row.operation);
    }
    // The alias serves the same routes with the same access; the public and self routes are the few expected ones.
    for (const r of declared.filter((d) => d.url.startsWith('/v1/'))) {
      expect(app.routeAccess.some((a) => a.method === r.method && a.url === `/api${r.url}` && a.access === r.access), `/api${r.url}`).toBe(true);
    }
    expect(declared.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`).sort()).toEqual(['GET /healthz', 'GET /v1/join-info', 'POST /v1/login']);
    expect(declared.filter((r) => r.access === 'self').map((r) => `${r.method} ${r.url}`).sort()).toEqual(['GET /v1/whoami', 'POST /v1/logout']);
  });

  it('refuses to register a route that declares no operation (default deny)', async () => {
    const fleet = new FakeFleet();
    await expect(
      buildApiApp({ fleet, access: new FakeAccess(), host: '127.0.0.1', port: 0, extend: (app) => void app.get('/undeclared', async () => 'open') }),
    ).rejects.toThrow(/declares no ACL operation/);
  });

  it.each(ROWS.map((row) => [rowName(row), row] as const))('%s: allowed or 403 for each role, denials recorded', async (_name, row) => {
    const { app, access, fx } = await world();
    for (const who of ROLES) {
      const allowed = expectedAllowed(row, fx, who);
      const before = access.decisions.length;
      const body = withTopic(row, fx);
      const res = await app.inject({
        method: row.route.split(' ')[0] as 'GET',
        url: row.path(fx),
        headers: { authorization: `Bearer ${USERS[who].token}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
      const asked = access.decisions.slice(before);
      const context = `${rowName(row)} as ${who}: ${res.statusCode} ${res.body.slice(0, 300)}`;
      expect(asked.length, context).toBeGreaterThan(0);
      expect(asked.every((d) => d.operation === row.operation && d.user === USERS[who].name), context).toBe(true);
      if (allowed) {
        expect([401, 403], context).not.toContain(res.statusCode);
        expect(asked.every((d) => d.allowed), context).toBe(true);
        expect(asked.map((d) => d.targets)[0], context).toEqual(row.targets(fx));
      } else {
        expect(res.statusCode, context).toBe(403);
        expect(res.json().error.code, context).toBe(ErrorCode.Forbidden);
        expect(asked.at(-1)?.allowed, context).toBe(false);
      }
    }
  });

  it('lets a viewer read but change nothing, and keeps a limited operator to its project', async () => {
    const { app, access, fx } = await world();
    const as = (who: FixedUser, method: 'GET' | 'POST', url: string, payload?: object) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${USERS[who].token}` }, ...(payload ? { payload } : {}) });

    expect((await as('viewer', 'GET', '/v1/tasks')).statusCode).toBe(200);
    expect((await as('viewer', 'GET', `/v1/tasks/${fx.task.alpha.id}/logs`)).statusCode).toBe(200);
    expect((await as('viewer', 'POST', '/v1/tasks', { command: ['true'], project: 'alpha' })).statusCode).toBe(403);
    expect((await as('limited', 'POST', '/v1/tasks', { command: ['true'], project: 'alpha' })).statusCode).toBe(201);
    const refused = await as('limited', 'POST', '/v1/tasks', { command: ['true'], project: 'beta' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toMatch(/limited to projects alpha; not beta/);
    expect((await as('limited', 'POST', `/v1/tasks/${fx.task.beta.id}/cancel`)).statusCode).toBe(403);
    expect((await as('operator', 'POST', `/v1/tasks/${fx.task.beta.id}/cancel`)).json().state).toBe('cancelled');
    expect((await as('operator', 'POST', '/v1/shutdown', { tier: 'stop-dispatch' })).statusCode).toBe(403);
    expect(access.denials.map((d) => `${d.user} ${d.operation}`)).toEqual(['vic SubmitTask', 'lim SubmitTask', 'lim CancelTask', 'olga EmergencyShutdown']);
  });

  it('records logbook writes in the audit trail under the real user, before they happen', async () => {
    const { app, access, fx } = await world();
    const res = await app.inject({
      method: 'POST', url: `/v1/approvals/${fx.approval.alpha}/approve`, headers: { authorization: `Bearer ${USERS.limited.token}` }, payload: { note: 'ok' },
    });
    expect(res.json()).toMatchObject({ state: 'approved', decidedBy: 'lim' });
    expect(access.audit).toEqual([{ actor: 'user:lim', action: 'approval.approve', target: fx.approval.alpha, outcome: 'allowed' }]);

    // Fail-closed: when the trail cannot be written, the write does not happen.
    access.auditFailure = new BitacoraError(ErrorCode.AuditUnavailable, 'the audit trail cannot be written');
    const refused = await app.inject({ method: 'POST', url: '/v1/sparks', headers: { authorization: `Bearer ${USERS.admin.token}` }, payload: { content: 'x' } });
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.code).toBe(ErrorCode.AuditUnavailable);
    expect(await app.inject({ method: 'GET', url: '/v1/sparks', headers: { authorization: `Bearer ${USERS.admin.token}` } }).then((r) => r.json())).toEqual([]);
  });
});
