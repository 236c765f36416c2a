/**
 * The master serves the dashboard's built files at `/` (public, from memory, with a strict CSP),
 * every other path keeps the API's behaviour, and dashboard sessions kept in a file survive a
 * restart of the server (the phone left open on the dashboard catches up without a new link).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/index.js';
import { FakeAccess, USERS } from './fake-access.js';
import { FakeFleet } from './fake-fleet.js';

describe('dashboard files and persistent sessions', () => {
  let dir: string;
  let root: string;
  const servers: ApiServer[] = [];
  const start = (access: FakeAccess, extra: { dashboardRoot?: string; sessionsFile?: string } = {}) =>
    startApiServer({
      fleet: new FakeFleet(), access, host: '127.0.0.1', port: 0,
      ...(extra.dashboardRoot ? { dashboard: { root: extra.dashboardRoot } } : {}),
      ...(extra.sessionsFile ? { sessions: { file: extra.sessionsFile } } : {}),
    }).then((s) => (servers.push(s), s));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-dash-'));
    root = join(dir, 'web');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>dash</title>');
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(join(root, 'manifest.webmanifest'), '{"name":"x"}');
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / and the built files, without authentication, with a same-origin CSP', async () => {
    const server = await start(new FakeAccess(), { dashboardRoot: root });
    const index = await fetch(`${server.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect(await index.text()).toContain('<title>dash</title>');
    const asset = await fetch(`${server.url}/assets/index-abc.js`);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    expect((await fetch(`${server.url}/manifest.webmanifest`)).headers.get('content-type')).toMatch(/^application\/manifest\+json/);
  });

  it('leaves every other path to the API: unknown files 401/404, API routes still need credentials', async () => {
    const server = await start(new FakeAccess(), { dashboardRoot: root });
    expect((await fetch(`${server.url}/nope.js`)).status).toBe(401);
    expect((await fetch(`${server.url}/v1/status`)).status).toBe(401);
  });

  it('says how to build the dashboard when its files are missing, and has no / without the option', async () => {
    const unbuilt = await start(new FakeAccess(), { dashboardRoot: join(dir, 'missing') });
    const res = await fetch(`${unbuilt.url}/`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'BIT_ERR_NOT_FOUND', message: expect.stringMatching(/npm run build/) } });
    const none = await start(new FakeAccess());
    expect((await fetch(`${none.url}/`)).status).toBe(401);
  });

  it('keeps dashboard sessions across a restart when they are kept in a file (0600, no cookie inside)', async () => {
    const file = join(dir, 'dashboard-sessions.json');
    const access = new FakeAccess();
    const first = await start(access, { sessionsFile: file });
    const { token } = await access.createLoginToken(USERS.operator.name, { kind: 'user', name: 'admin', role: 'admin' });
    const login = await fetch(`${first.url}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    await first.close();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(cookie.split('=')[1]!);

    const second = await start(access, { sessionsFile: file });
    const me = await fetch(`${second.url}/v1/whoami`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: USERS.operator.name, via: 'cookie' });
    // The CSRF token of the session carries over too.
    const out = await fetch(`${second.url}/v1/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken } });
    expect(out.status).toBe(204);
    expect((await fetch(`${second.url}/v1/whoami`, { headers: { cookie } })).status).toBe(401);
  });
});
