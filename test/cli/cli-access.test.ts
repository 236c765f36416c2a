/**
 * Users, API/login tokens and the ACL policy through the built CLI (`node dist/bin/bitacora.js`)
 * against a real `bitacora up`: the admin bootstrap on first start (login token in the banner,
 * the CLI token in client.json), `user add|list|remove`, `token create --user|--login`,
 * `token list|revoke`, `acl show|set`, `whoami`, and a restart that keeps the CLI token valid.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, bitacora, startBitacora } from '../helpers/cli-binary.js';


/** `bitacora up --json` in the background; resolves with its banner. */
function startMaster(dataDir: string): Promise<{ child: ChildProcess; banner: Record<string, unknown>; logs: () => string }> {
  return startBitacora(['up', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--json', '--data-dir', dataDir]).then(({ child, banner, output }) => ({
    child,
    banner,
    logs: () => output().stdout + output().stderr,
  }));
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill('SIGINT');
  });
}

describe.skipIf(!existsSync(BIN))('bitacora users, tokens and ACL (built binary, real master)', () => {
  let dir: string;
  let dataDir: string;
  let master: ChildProcess;
  let banner: Record<string, unknown>;
  let masterLogs: () => string;
  /** The CLI on the master's machine (client.json: the admin's API token). */
  const local = (...args: string[]) => bitacora(['--data-dir', dataDir, ...args]);
  /** The CLI elsewhere, with someone's token. */
  const as = (token: string, ...args: string[]) => bitacora(args, { BITACORA_URL: String(banner['url']), BITACORA_TOKEN: token });
  let anaToken = '';
  let anaTokenId = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-access-cli-'));
    dataDir = join(dir, 'master');
    ({ child: master, banner, logs: masterLogs } = await startMaster(dataDir));
  });

  afterAll(async () => {
    if (master && master.exitCode === null) master.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a one-time dashboard login token on first start, and the CLI acts as user admin', async () => {
    expect(banner['loginToken']).toMatch(/^bat_[A-Za-z0-9_-]{43}$/);
    expect(banner['adminToken']).toMatch(/^bat_/);
    expect(banner['loginToken']).not.toBe(banner['adminToken']);
    const me = await local('whoami', '--json');
    expect(me.code).toBe(0);
    expect(JSON.parse(me.stdout)).toMatchObject({ user: 'admin', role: 'admin' });
    expect((await local('whoami')).stdout).toMatch(/^admin \(admin\)/);
  });

  it('adds, lists and validates users', async () => {
    const added = await local('user', 'add', 'ana', '--role', 'operator', '--project', 'web', '--json');
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ name: 'ana', role: 'operator', projects: ['web'], createdBy: 'user:admin' });
    const list = JSON.parse((await local('user', 'list', '--json')).stdout) as { name: string; role: string }[];
    expect(list.map((u) => [u.name, u.role])).toEqual([['admin', 'admin'], ['ana', 'operator']]);
    expect((await local('user', 'list')).stdout).toMatch(/NAME\s+ROLE\s+PROJECTS/);

    const noRole = await local('user', 'add', 'bo');
    expect(noRole.code).toBe(2);
    expect(noRole.stderr).toMatch(/--role/);
    const badName = await local('user', 'add', '../x', '--role', 'viewer');
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/name/);
    const taken = await local('user', 'add', 'ana', '--role', 'viewer');
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/already exists/);
  });

  it('creates API tokens for a user within the user role; the token acts as that user', async () => {
    const above = await local('token', 'create', '--user', 'ana', '--role', 'admin');
    expect(above.code).toBe(3); // forbidden: exit 3, not "bad input"
    expect(above.stderr).toMatch(/BIT_ERR_FORBIDDEN/);

    const created = await local('token', 'create', '--user', 'ana', '--role', 'viewer', '--ttl', '1d', '--label', 'scraper', '--json');
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout) as { id: string; token: string; user: string; role: string; expiresAt: number; kind: string };
    expect(token).toMatchObject({ user: 'ana', role: 'viewer', kind: 'api', id: expect.stringMatching(/^tok_/) });
    anaToken = token.token;
    anaTokenId = token.id;
    expect(JSON.parse((await as(anaToken, 'whoami', '--json')).stdout)).toMatchObject({ user: 'ana', role: 'viewer', projects: ['web'] });

    // A viewer reads but changes nothing; the denial is audited.
    expect((await as(anaToken, 'nodes', '--json')).code).toBe(0);
    const denied = await as(anaToken, 'user', 'add', 'mallory', '--role', 'admin');
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/BIT_ERR_FORBIDDEN/);
    const trail = JSON.parse((await local('audit', '--json', '--limit', '1000')).stdout) as { entry: { actor: string; outcome: string } }[];
    expect(trail.some((e) => e.entry.actor === 'user:ana' && e.entry.outcome === 'denied')).toBe(true);
  });

  it('makes one-time login tokens that are not bearers', async () => {
    const res = await local('token', 'create', '--user', 'ana', '--login', '--json');
    expect(res.code).toBe(0);
    const login = JSON.parse(res.stdout) as { token: string; kind: string; expiresAt: number };
    expect(login.kind).toBe('login');
    expect(login.expiresAt - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    expect((await as(login.token, 'whoami')).code).toBe(3); // unauthenticated
    expect((await local('token', 'create', '--user', 'ana', '--login', '--role', 'admin')).code).toBe(2);
    expect((await local('token', 'create', '--login')).code).toBe(2);
  });

  it('lists every kind of token without secrets, and revokes one', async () => {
    const list = await local('token', 'list', '--json');
    expect(list.code).toBe(0);
    const tokens = JSON.parse(list.stdout) as { id: string; kind: string; user: string | null; state: string }[];
    expect(new Set(tokens.map((t) => t.kind))).toEqual(new Set(['join', 'api', 'login']));
    expect(list.stdout).not.toContain(anaToken);
    expect(list.stdout).not.toContain(String(banner['adminToken']));
    const table = await local('token', 'list');
    expect(table.stdout).toMatch(/ID\s+KIND\s+ROLE\s+USER\s+STATE\s+EXPIRES\s+CREATED BY/);

    const revoked = await local('token', 'revoke', anaTokenId, '--json');
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: anaTokenId, state: 'revoked' });
    const refused = await as(anaToken, 'whoami');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/BIT_ERR_UNAUTHENTICATED/);
    expect((await local('token', 'revoke', 'tok_nope')).code).toBe(2);
  });

  it('shows the policy as YAML or JSON and sets it from a file, live', async () => {
    const yaml = await local('acl', 'show');
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toMatch(/^version: 1$/m);
    const policy = JSON.parse((await local('acl', 'show', '--json')).stdout) as { roles: Record<string, { operation: string }[]> };
    expect(policy.roles['viewer']!.map((g) => g.operation)).not.toContain('ReadAudit');

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nroles:\n  viewer:\n    - operation: Launch\n');
    const refused = await local('acl', 'set', bad);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(bad);
    expect(refused.stderr).toContain('roles.viewer[0].operation');
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'version: [1\n');
    const syntax = await local('acl', 'set', broken);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toContain(broken);

    const viewerToken = JSON.parse((await local('token', 'create', '--user', 'ana', '--role', 'viewer', '--json')).stdout) as { token: string };
    expect((await as(viewerToken.token, 'audit')).code).toBe(3);
    policy.roles['viewer']!.push({ operation: 'ReadAudit' });
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(policy));
    const set = await local('acl', 'set', good);
    expect(set.code).toBe(0);
    expect((await as(viewerToken.token, 'audit')).code).toBe(0);
    expect(readFileSync(join(dataDir, 'acl.yaml'), 'utf8')).toContain('ReadAudit');
  });

  it('removes users (their tokens stop working) but never the last admin', async () => {
    const viewerToken = JSON.parse((await local('token', 'create', '--user', 'ana', '--json')).stdout) as { token: string };
    expect((await as(viewerToken.token, 'whoami')).code).toBe(0);
    const last = await local('user', 'remove', 'admin');
    expect(last.code).toBe(2);
    expect(last.stderr).toMatch(/last admin/);
    const removed = await local('user', 'remove', 'ana', '--json');
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual({ removed: 'ana' });
    expect((await as(viewerToken.token, 'whoami')).code).toBe(3);
    expect((await local('user', 'remove', 'ana')).code).toBe(2);
  });

  it('keeps secrets out of the database files and the master\'s output', () => {
    // The banner shows the admin's tokens once, by design; a token made later never appears.
    expect(masterLogs()).not.toContain(anaToken);
    expect(masterLogs()).not.toContain(anaToken.slice(4));
    for (const name of readdirSync(dataDir).filter((n) => n.startsWith('fleet.db'))) {
      const bytes = readFileSync(join(dataDir, name));
      for (const secret of [anaToken, String(banner['adminToken']), String(banner['loginToken'])]) expect(bytes.includes(Buffer.from(secret.slice(4)))).toBe(false);
    }
  });

  it('after a restart prints no login token and the CLI token still works', async () => {
    await stop(master);
    ({ child: master, banner } = await startMaster(dataDir));
    expect(banner['loginToken']).toBeUndefined();
    expect(JSON.parse((await local('whoami', '--json')).stdout)).toMatchObject({ user: 'admin', role: 'admin' });
    // The policy set before the restart is still in force (read back from <data dir>/acl.yaml).
    const policy = JSON.parse((await local('acl', 'show', '--json')).stdout) as { roles: Record<string, { operation: string }[]> };
    expect(policy.roles['viewer']!.map((g) => g.operation)).toContain('ReadAudit');
  });
});

describe('master bootstrap of an old data directory (in process)', () => {
  it('migrates the auth/admin hash into an API token of user admin, keeping the client.json token valid', async () => {
    const { startMaster: startInProcess, ADMIN_KEY, CLIENT_FILE } = await import('../../src/bin/master.js');
    const { openSqliteBackbone } = await import('../../src/store/sqlite/index.js');
    const { generateSecret, hashSecret } = await import('../../src/security/index.js');
    const dataDir = mkdtempSync(join(tmpdir(), 'bitacora-legacy-'));
    try {
      // What a data directory from before users looks like: a bare admin hash and client.json.
      const legacy = generateSecret('bat_');
      const backbone = await openSqliteBackbone({ file: join(dataDir, 'fleet.db') });
      await backbone.kv.put(ADMIN_KEY, { hash: hashSecret(legacy), createdAt: 1 });
      await backbone.close();
      writeFileSync(join(dataDir, CLIENT_FILE), JSON.stringify({ url: 'http://127.0.0.1:1', token: legacy }), { mode: 0o600 });

      const quiet = { info() {}, warn() {}, error() {} };
      const master = await startInProcess({ dataDir, http: '127.0.0.1:0', grpc: '127.0.0.1:0', localWorker: false }, { log: quiet });
      try {
        expect(master.adminToken).toBe(legacy);
        expect(master.loginToken).toMatch(/^bat_/);
        expect(await master.coordinator.access.authenticate(legacy)).toMatchObject({ name: 'admin', role: 'admin' });
        expect(await master.backbone.kv.get(ADMIN_KEY)).toBeNull();
        expect((await master.coordinator.access.listTokens()).filter((t) => t.kind === 'api').map((t) => t.label)).toEqual(['local CLI (client.json)']);
      } finally {
        await master.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
