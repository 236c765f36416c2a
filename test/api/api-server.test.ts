/**
 * The REST edge over a real fastify server on 127.0.0.1, backed by an in-memory FleetService:
 * authentication, error mapping, validation that lists every issue, size limits.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HTTP_STATUS, startApiServer, type ApiServer } from '../../src/api/index.js';
import { BitacoraError, ErrorCode } from '../../src/core/index.js';
import { FakeFleet, fakeNode } from './fake-fleet.js';
import { FakeAccess } from './fake-access.js';

const TOKEN = 'admin-secret-token';

describe('API server (REST)', () => {
  let fleet: FakeFleet;
  let server: ApiServer;

  beforeEach(async () => {
    fleet = new FakeFleet();
    server = await startApiServer({ fleet, host: '127.0.0.1', port: 0, access: new FakeAccess({ adminToken: TOKEN }) });
  });
  afterEach(async () => {
    await server.close();
  });

  const call = async (method: string, path: string, body?: unknown, token: string | null = TOKEN, raw?: string) => {
    const headers: Record<string, string> = {};
    if (token !== null) headers['authorization'] = `Bearer ${token}`;
    if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}${path}`, { method, headers, ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };

  it('serves the health check and join info without a token', async () => {
    expect(await call('GET', '/healthz', undefined, null)).toMatchObject({ status: 200, body: { ok: true } });
    const info = await call('GET', '/v1/join-info', undefined, null);
    expect(info.status).toBe(200);
    expect(info.body.caHash).toBe('sha256:abc');
  });

  it('refuses every other route without a valid bearer token, naming the fix', async () => {
    for (const [method, path] of [['GET', '/v1/status'], ['GET', '/v1/nodes'], ['POST', '/v1/tasks'], ['GET', '/metrics'], ['GET', '/v1/nope']] as const) {
      const missing = await call(method, path, undefined, null);
      expect(missing.status, `${method} ${path}`).toBe(401);
      expect(missing.body.error.code).toBe(ErrorCode.Unauthenticated);
      expect(missing.body.error.message).toMatch(/Authorization: Bearer/);
      expect(missing.headers.get('www-authenticate')).toMatch(/Bearer/);
    }
    const wrong = await call('GET', '/v1/status', undefined, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toMatch(/invalid or expired token/);
    const malformed = await fetch(`${server.url}/v1/status`, { headers: { authorization: 'Basic abc' } });
    expect(malformed.status).toBe(401);
  });

  it('serves the same routes under /api/v1', async () => {
    fleet.nodes.push(fakeNode('worker-1'));
    const res = await call('GET', '/api/v1/nodes');
    expect(res.status).toBe(200);
    expect(res.body.map((n: { name: string }) => n.name)).toEqual(['worker-1']);
  });

  it('maps domain errors to HTTP statuses with the stable code in the body', async () => {
    const notFound = await call('GET', '/v1/nodes/ghost');
    expect(notFound.status).toBe(404);
    expect(notFound.body.error).toMatchObject({ code: ErrorCode.NotFound, message: "node 'ghost' not found", details: { entity: 'node', id: 'ghost' } });

    await call('POST', '/v1/tasks', { command: ['echo', 'a'], idempotencyKey: 'k1' });
    const mismatch = await call('POST', '/v1/tasks', { command: ['echo', 'b'], idempotencyKey: 'k1' });
    expect(mismatch.status).toBe(409);
    expect(mismatch.body.error.code).toBe(ErrorCode.IdempotencyMismatch);

    fleet.acceptingWork = false;
    const unavailable = await call('POST', '/v1/tasks', { command: ['true'] });
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.error.code).toBe(ErrorCode.Unavailable);

    fleet.getTask = async () => {
      throw new Error('boom');
    };
    const internal = await call('GET', '/v1/tasks/tsk_x');
    expect(internal.status).toBe(500);
    expect(internal.body.error.code).toBe(ErrorCode.Internal);

    const noRoute = await call('GET', '/v1/nope');
    expect(noRoute.status).toBe(404);
    expect(noRoute.body.error.code).toBe(ErrorCode.NotFound);
  });

  it('lists every validation issue with its path in one 400', async () => {
    const res = await call('POST', '/v1/tasks', { command: [], needs: ['BAD CAP'], timeoutMs: -5, bogus: true });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(ErrorCode.Validation);
    const paths = res.body.error.details.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['command', 'needs[0]', 'timeoutMs', '']));
    expect(res.body.error.message).toMatch(/invalid task/);
    expect(fleet.tasks).toHaveLength(0);

    const batch = await call('POST', '/v1/tasks/batch', [{ command: ['ok'] }, { command: 'not-an-array' }]);
    expect(batch.status).toBe(400);
    expect(batch.body.error.details.issues[0].path).toBe('[1].command');
    expect(fleet.tasks).toHaveLength(0);

    const query = await call('GET', '/v1/tasks?state=running,sleeping&limit=0&colour=red');
    expect(query.status).toBe(400);
    expect(query.body.error.details.issues).toHaveLength(3);
  });

  it('refuses malformed JSON and oversized bodies with their own codes', async () => {
    const bad = await call('POST', '/v1/tasks', undefined, TOKEN, '{"command": [');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe(ErrorCode.Validation);
    expect(bad.body.error.message).toMatch(/not valid JSON/);

    const huge = await call('POST', '/v1/tasks', { command: ['echo', 'x'.repeat(2 * 1024 * 1024)] });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe(ErrorCode.PayloadTooLarge);

    const bigRole = await call('POST', '/v1/nodes/n/role', { role: 'worker', pad: 'x'.repeat(100_000) });
    expect(bigRole.status).toBe(413);
  });

  it('submits tasks, reports idempotent resubmission, and filters the list by state, node name and project', async () => {
    const node = fakeNode('worker-1');
    fleet.nodes.push(node);
    const first = await call('POST', '/v1/tasks', { command: ['make'], project: 'proj-b', idempotencyKey: 'build-1' });
    expect(first.status).toBe(201);
    expect(first.body.created).toBe(true);
    const again = await call('POST', '/v1/tasks', { command: ['make'], project: 'proj-b', idempotencyKey: 'build-1' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: false, task: { id: first.body.task.id } });

    const batch = await call('POST', '/v1/tasks/batch', [{ command: ['a'] }, { command: ['b'] }]);
    expect(batch.status).toBe(201);
    expect(batch.body).toHaveLength(2);
    fleet.start(first.body.task.id, node);

    const running = await call('GET', '/v1/tasks?state=running&node=worker-1');
    expect(running.body.map((t: { id: string }) => t.id)).toEqual([first.body.task.id]);
    expect(fleet.lastFilter).toMatchObject({ states: ['running'], nodeId: node.id });
    const byProject = await call('GET', '/v1/tasks?project=proj-b&order=desc&limit=5');
    expect(byProject.body).toHaveLength(1);
    expect((await call('GET', '/v1/tasks?node=nobody')).status).toBe(404);
    // A removed node's id still filters (its tasks remain in history).
    expect((await call('GET', '/v1/tasks?node=nod_gone')).status).toBe(200);
  });

  it('cancels tasks and returns their stored output by attempt and sequence', async () => {
    const node = fakeNode('w');
    fleet.nodes.push(node);
    const { task } = await fleet.submitTask({ command: ['sleep', '9'] });
    fleet.start(task.id, node);
    fleet.emitLog(task.id, 'one\n');
    fleet.emitLog(task.id, 'two\n');
    const logs = await call('GET', `/v1/tasks/${task.id}/logs?after=0`);
    expect(logs.body.map((c: { data: string }) => c.data)).toEqual(['two\n']);
    const cancelled = await call('POST', `/v1/tasks/${task.id}/cancel`, { reason: 'changed my mind' });
    expect(cancelled.body).toMatchObject({ state: 'cancelled', error: 'changed my mind' });
    expect((await call('POST', `/v1/tasks/${task.id}/cancel`)).body.state).toBe('cancelled');
    expect((await call('GET', `/v1/tasks/${task.id}/logs?attempt=zero`)).status).toBe(400);
  });

  it('drains, undrains, changes the role of and removes nodes', async () => {
    fleet.nodes.push(fakeNode('worker-1'));
    expect((await call('POST', '/v1/nodes/worker-1/drain')).body.status).toBe('draining');
    expect((await call('POST', '/v1/nodes/worker-1/undrain')).body.status).toBe('ready');
    expect((await call('POST', '/v1/nodes/worker-1/role', { role: 'hybrid' })).body.role).toBe('hybrid');
    const master = await call('POST', '/v1/nodes/worker-1/role', { role: 'master' });
    expect(master.status).toBe(400);
    expect(master.body.error.message).toMatch(/worker.*hybrid/);
    expect((await call('DELETE', '/v1/nodes/worker-1')).status).toBe(204);
    expect(fleet.nodes).toHaveLength(0);
    expect((await call('GET', '/v1/nodes/..%2Fetc')).status).toBe(400);
  });

  it('creates join tokens with a duration TTL and refuses unbounded ones', async () => {
    const res = await call('POST', '/v1/tokens', { role: 'hybrid', ttl: '2h' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ role: 'hybrid', caHash: 'sha256:abc' });
    expect(res.body.expiresAt - Date.now()).toBeGreaterThan(7_100_000);
    const bad = await call('POST', '/v1/tokens', { role: 'master', ttl: '1y' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['role', 'ttl']);
    expect((await call('POST', '/v1/tokens', { ttl: '400d' })).status).toBe(400);
  });

  it('updates the live configuration and refuses an empty patch', async () => {
    const res = await call('PATCH', '/v1/config', { heartbeatIntervalMs: 500 });
    expect(res.body).toEqual({ heartbeatIntervalMs: 500, selfFenceAfterMs: 15000 });
    expect((await call('PATCH', '/v1/config', {})).body.error.message).toMatch(/at least one setting/);
    expect((await call('PATCH', '/v1/config', { heartbeatIntervalMs: 1 })).status).toBe(400);
    expect((await call('PATCH', '/v1/config', { selfFenceAfterMs: 200 })).body.error.code).toBe(ErrorCode.Validation);
  });

  it('runs an emergency shutdown with its tier and reason, and reports status and metrics', async () => {
    expect((await call('POST', '/v1/shutdown', { tier: 'panic' })).status).toBe(400);
    const res = await call('POST', '/v1/shutdown', { tier: 'stop-dispatch', reason: 'maintenance' });
    expect(res.status).toBe(202);
    expect(fleet.shutdowns).toEqual([{ tier: 'stop-dispatch', reason: 'maintenance' }]);
    expect((await call('GET', '/v1/status')).body.acceptingWork).toBe(false);
    const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await metrics.text()).toMatch(/bitacora_accepting_work 0/);
    expect((await call('POST', '/v1/resume')).body.acceptingWork).toBe(true);
    delete fleet.resumeDispatch;
    expect((await call('POST', '/v1/resume')).status).toBe(503);
  });

  it('keeps a throwing token verifier from letting requests through', async () => {
    await server.close();
    const access = new FakeAccess({ adminToken: TOKEN });
    access.failAuthenticate = new BitacoraError(ErrorCode.StoreUnavailable, 'db locked');
    server = await startApiServer({ fleet, host: '127.0.0.1', port: 0, access });
    expect((await call('GET', '/v1/status')).status).toBe(401);
  });

  it('maps every code of the catalogue to a deliberate HTTP status', () => {
    const unmapped = Object.values(ErrorCode).filter((code) => HTTP_STATUS[code] === undefined);
    expect(unmapped, 'add these codes to HTTP_STATUS in src/api/errors.ts').toEqual([]);
  });

  it('closes idempotently', async () => {
    await server.close();
    await server.close();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
