/**
 * The dashboard's way in, over a real server on loopback: a one-time login token becomes an
 * HttpOnly SameSite=Strict session cookie plus a CSRF token; cookie requests that change state
 * need the CSRF header; a cookie WebSocket must come from the same origin; logout ends the
 * session; the WebSocket subscription itself is authorized per role (ReadState, ReadLogs).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { startApiServer, type ApiServer } from '../../src/api/index.js';
import { ErrorCode } from '../../src/core/index.js';
import { DEFAULT_ACL_POLICY } from '../../src/security/index.js';
import { FakeAccess, USERS, type FixedUser } from './fake-access.js';
import { FakeFleet } from './fake-fleet.js';

/** Opens a WebSocket; resolves with its first frame, or with the HTTP status of a refused upgrade. */
function wsOpen(url: string, headers: Record<string, string>): Promise<{ status: number; ws?: WebSocket; first?: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('message', (data) => resolve({ status: 101, ws, first: JSON.parse(String(data)) }));
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

function nextFrame(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
}

describe('dashboard session (cookie + CSRF)', () => {
  let fleet: FakeFleet;
  let access: FakeAccess;
  let server: ApiServer;
  const sockets: WebSocket[] = [];

  beforeEach(async () => {
    fleet = new FakeFleet();
    access = new FakeAccess();
    server = await startApiServer({ fleet, access, host: '127.0.0.1', port: 0, latestEventSeq: () => fleet.events.length });
  });
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await server.close();
  });

  const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };

  async function login(user: FixedUser = 'operator') {
    const { token } = await access.createLoginToken(USERS[user].name, { kind: 'user', name: 'admin', role: 'admin' });
    const res = await call('POST', '/v1/login', {}, { token });
    return { ...res, token, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]! };
  }

  it('exchanges a login token for an HttpOnly SameSite=Strict cookie and a CSRF token', async () => {
    const res = await login('operator');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ user: 'olga', role: 'operator', csrfToken: expect.stringMatching(/^[\w-]{43}$/) });
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^bitacora_session=[\w-]{43};/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/i); // plain HTTP here; Secure under TLS
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('serves reads with the cookie alone and wants X-CSRF-Token on every change', async () => {
    const { cookie, body } = await login('operator');
    expect((await call('GET', '/v1/status', { cookie })).status).toBe(200);
    expect((await call('GET', '/v1/whoami', { cookie })).body).toEqual({ user: 'olga', role: 'operator', via: 'cookie' });

    const spec = { command: ['true'], project: 'alpha' };
    const without = await call('POST', '/v1/tasks', { cookie }, spec);
    expect(without.status).toBe(403);
    expect(without.body.error).toMatchObject({ code: ErrorCode.Forbidden, details: { reason: 'csrf' } });
    expect(without.body.error.message).toMatch(/X-CSRF-Token/i);
    expect((await call('POST', '/v1/tasks', { cookie, 'x-csrf-token': 'wrong' }, spec)).status).toBe(403);
    expect(fleet.tasks).toHaveLength(0);

    const ok = await call('POST', '/v1/tasks', { cookie, 'x-csrf-token': body.csrfToken }, spec);
    expect(ok.status).toBe(201);
    // The session acts with the user's role: an operator may not shut the fleet down.
    expect((await call('POST', '/v1/shutdown', { cookie, 'x-csrf-token': body.csrfToken }, { tier: 'stop-dispatch' })).status).toBe(403);
  });

  it('needs no CSRF token from bearer requests', async () => {
    const res = await call('POST', '/v1/tasks', { authorization: `Bearer ${USERS.operator.token}` }, { command: ['true'], project: 'alpha' });
    expect(res.status).toBe(201);
    expect((await call('GET', '/v1/whoami', { authorization: `Bearer ${USERS.limited.token}` })).body).toEqual({
      user: 'lim', role: 'operator', projects: ['alpha'], via: 'bearer',
    });
  });

  it('closes open subscriptions when their token is revoked or their session logs out', async () => {
    const wsUrl = `${server.url.replace('http', 'ws')}/v1/events`;
    const closedWith = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    const created = await access.createApiToken({ user: USERS.viewer.name }, { kind: 'user', name: 'admin', role: 'admin' });
    const byToken = await wsOpen(wsUrl, { authorization: `Bearer ${created.token}` });
    sockets.push(byToken.ws!);
    const tokenClosed = closedWith(byToken.ws!);
    await access.revokeToken(created.id);
    expect(await tokenClosed).toBe(1008);

    const { cookie, body } = await login('viewer');
    const byCookie = await wsOpen(wsUrl, { cookie, origin: `http://${new URL(server.url).host}` });
    sockets.push(byCookie.ws!);
    const cookieClosed = closedWith(byCookie.ws!);
    expect((await call('POST', '/v1/logout', { cookie, 'x-csrf-token': body.csrfToken })).status).toBeLessThan(300);
    expect(await cookieClosed).toBe(1008);
  });

  it('throttles failed logins per address (429 BIT_ERR_RATE_LIMITED), so refusals cannot flood the audit trail', async () => {
    for (let i = 0; i < 10; i++) expect((await call('POST', '/v1/login', {}, { token: `bat_wrong${i}` })).status).toBe(401);
    const login = vi.spyOn(access, 'login');
    const limited = await call('POST', '/v1/login', {}, { token: 'bat_wrong-again' });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe(ErrorCode.RateLimited);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(login).not.toHaveBeenCalled(); // never reached the access service, so nothing more to audit
  });

  it('refuses a cookie WebSocket from another origin, accepts one from its own', async () => {
    const { cookie } = await login('viewer');
    const wsUrl = `${server.url.replace('http', 'ws')}/v1/events`;
    const host = new URL(server.url).host;
    expect((await wsOpen(wsUrl, { cookie, origin: 'https://evil.example' })).status).toBe(403);
    expect((await wsOpen(wsUrl, { cookie })).status).toBe(403);
    const same = await wsOpen(wsUrl, { cookie, origin: `http://${host}` });
    if (same.ws) sockets.push(same.ws);
    expect(same.status).toBe(101);
    expect(same.first).toMatchObject({ kind: 'hello' });
  });

  it('ends the session on logout, and a used login token does not open another', async () => {
    const { cookie, body, token } = await login('operator');
    expect((await call('POST', '/v1/logout', { cookie })).status).toBe(403); // CSRF applies to logout too
    const out = await call('POST', '/v1/logout', { cookie, 'x-csrf-token': body.csrfToken });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/bitacora_session=;/);
    const after = await call('GET', '/v1/status', { cookie });
    expect(after.status).toBe(401);
    expect(after.body.error.message).toMatch(/session has expired or ended/);

    const again = await call('POST', '/v1/login', {}, { token });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe(ErrorCode.TokenUsed);
    expect(again.headers.get('set-cookie')).toBeNull();
  });

  it('ends the sessions of a removed user at once', async () => {
    const { cookie } = await login('viewer');
    expect((await call('GET', '/v1/status', { cookie })).status).toBe(200);
    expect((await call('DELETE', '/v1/users/vic', { authorization: `Bearer ${USERS.admin.token}` })).status).toBe(204);
    expect((await call('GET', '/v1/status', { cookie })).status).toBe(401);
  });

  it('answers 401 to requests without credentials, with a bad token, a bad cookie or a bad login', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic x' }, { cookie: 'bitacora_session=forged' }];
    for (const headers of attempts) {
      const res = await call('GET', '/v1/whoami', headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.body.error.code).toBe(ErrorCode.Unauthenticated);
      expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
    }
    expect((await call('POST', '/v1/users', {}, { name: 'x', role: 'admin' })).status).toBe(401);
    expect((await call('POST', '/v1/login', {}, { token: 'bat_unknown' })).body.error.code).toBe(ErrorCode.TokenInvalid);
    expect((await call('POST', '/v1/login', {}, { token: '' })).status).toBe(400);
  });

  describe('WebSocket subscription authorization', () => {
    const open = async (who: FixedUser, query = '') => {
      const res = await wsOpen(`${server.url.replace('http', 'ws')}/v1/events${query}`, { authorization: `Bearer ${USERS[who].token}` });
      if (res.ws) sockets.push(res.ws);
      return res;
    };

    it('lets every role subscribe under the default policy (ReadState + ReadLogs)', async () => {
      for (const who of ['admin', 'operator', 'viewer', 'limited'] as const) {
        expect((await open(who)).status, who).toBe(101);
      }
      expect(access.denials).toEqual([]);
      const logs = access.decisions.filter((d) => d.operation === 'ReadLogs');
      expect(logs.map((d) => d.user).sort()).toEqual(['admin', 'lim', 'olga', 'vic']);
    });

    it('refuses task output to a role without ReadLogs, at the upgrade and in a later filter frame', async () => {
      access.policy = { ...DEFAULT_ACL_POLICY, roles: { ...DEFAULT_ACL_POLICY.roles, viewer: [{ operation: 'ReadState', selfOnly: false }] } };
      expect((await open('viewer')).status).toBe(403);
      expect(access.denials.at(-1)).toMatchObject({ operation: 'ReadLogs', user: 'vic' });

      const events = await open('viewer', '?streams=events');
      expect(events.status).toBe(101);
      events.ws!.send(JSON.stringify({ op: 'filter', streams: ['events', 'logs'] }));
      const reply = await nextFrame(events.ws!);
      expect(reply).toMatchObject({ kind: 'error', error: { code: ErrorCode.Forbidden } });
      events.ws!.send(JSON.stringify({ op: 'ping', id: 1 }));
      expect(await nextFrame(events.ws!)).toEqual({ kind: 'pong', id: 1 });

      // An operator keeps both.
      expect((await open('operator')).status).toBe(101);
    });

    it('refuses the subscription to a role without ReadState', async () => {
      access.policy = { ...DEFAULT_ACL_POLICY, roles: { ...DEFAULT_ACL_POLICY.roles, viewer: [] } };
      expect((await open('viewer', '?streams=events')).status).toBe(403);
      expect(access.denials.at(-1)).toMatchObject({ operation: 'ReadState', user: 'vic' });
      expect((await open('admin', '?streams=events')).status).toBe(101);
    });
  });
});
