import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BitacoraError, ErrorCode, ValidationError } from '../core/index.js';
import { PlacementScheduler } from '../scheduler/index.js';
import { DEFAULT_ACL_POLICY, generateSecret, hashSecret, secretsEqual, type AclPolicy, type Requester } from '../security/index.js';
import { openSqliteBackbone, type SqliteBackbone } from '../store/sqlite/index.js';
import { AccessControl, ForbiddenError, LOGIN_TOKEN_TTL_MS, type SystemActor } from './access-control.js';
import { Coordinator } from '../coordinator/coordinator.js';

const SYSTEM: SystemActor = { kind: 'system', name: 'test' };
const ADMIN: Requester = { kind: 'user', name: 'admin', role: 'admin' };

interface Fixture {
  dir: string;
  backbone: SqliteBackbone;
  coordinator: Coordinator;
  access: AccessControl;
  clock: { t: number };
  policyFile: string;
  errors: string[];
}

const open: Fixture[] = [];

async function start(options: { policy?: string } = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'bitacora-access-'));
  const policyFile = join(dir, 'acl.yaml');
  if (options.policy !== undefined) writeFileSync(policyFile, options.policy);
  const backbone = await openSqliteBackbone({ file: join(dir, 'fleet.db') });
  const clock = { t: 1_700_000_000_000 };
  const errors: string[] = [];
  const coordinator = new Coordinator({
    backbone,
    scheduler: new PlacementScheduler(),
    secrets: { generateSecret: generateSecret as (p: string) => string, hashSecret, secretsEqual },
    clock: { now: () => clock.t },
    identity: { caCertPem: '', caHash: 'sha256:test', httpUrl: 'http://127.0.0.1:1' },
    aclPolicyFile: policyFile,
    log: { info() {}, warn() {}, error: (m) => errors.push(m) },
  });
  const fixture: Fixture = { dir, backbone, coordinator, access: coordinator.access as AccessControl, clock, policyFile, errors };
  open.push(fixture);
  await coordinator.start();
  await fixture.access.addUser({ name: 'admin', role: 'admin' }, SYSTEM);
  return fixture;
}

afterEach(async () => {
  for (const f of open.splice(0)) {
    await f.coordinator.close();
    await f.backbone.close();
    rmSync(f.dir, { recursive: true, force: true });
  }
});

async function audit(f: Fixture) {
  return (await f.coordinator.auditLog()).map((s) => s.entry);
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    return (err as BitacoraError).code;
  }
  throw new Error('expected an error');
}

describe('AccessControl', () => {
  it('authenticates an API token as its user, with the token role and the user project limit', async () => {
    const f = await start();
    await f.access.addUser({ name: 'ana', role: 'operator', projects: ['web'] }, ADMIN);
    const { token } = await f.access.createApiToken({ user: 'ana', role: 'viewer', label: 'scraper' }, ADMIN);
    expect(await f.access.authenticate(token)).toEqual({ kind: 'user', name: 'ana', role: 'viewer', projects: ['web'] });
    expect(await f.access.authenticate(generateSecret('bat_'))).toBeNull();
    expect(await f.access.authenticate('')).toBeNull();
    expect(await f.access.authenticate('x'.repeat(100_000))).toBeNull();
    expect(await f.access.authenticate(undefined as unknown as string)).toBeNull();
  });

  it('refuses expired, revoked and removed-user tokens', async () => {
    const f = await start();
    await f.access.addUser({ name: 'bo', role: 'operator' }, ADMIN);
    const expiring = await f.access.createApiToken({ user: 'bo', ttlMs: 60_000 }, ADMIN);
    const revoked = await f.access.createApiToken({ user: 'bo' }, ADMIN);
    const kept = await f.access.createApiToken({ user: 'bo' }, ADMIN);
    expect(await f.access.authenticate(expiring.token)).toMatchObject({ name: 'bo' });
    f.clock.t += 60_000;
    expect(await f.access.authenticate(expiring.token)).toBeNull();

    const view = await f.access.revokeToken(revoked.id, ADMIN);
    expect(view).toMatchObject({ id: revoked.id, kind: 'api', state: 'revoked', user: 'bo' });
    expect(await f.access.revokeToken(revoked.id, ADMIN)).toEqual(view);
    expect(await f.access.authenticate(revoked.token)).toBeNull();

    expect(await f.access.authenticate(kept.token)).toMatchObject({ name: 'bo' });
    await f.access.removeUser('bo', ADMIN);
    expect(await f.access.authenticate(kept.token)).toBeNull();
    const states = Object.fromEntries((await f.access.listTokens()).filter((t) => t.user === 'bo').map((t) => [t.id, t.state]));
    expect(states).toEqual({ [expiring.id]: 'revoked', [revoked.id]: 'revoked', [kept.id]: 'revoked' });
    // Tokens do not come back with a new user of the same name.
    await f.access.addUser({ name: 'bo', role: 'admin' }, ADMIN);
    expect(await f.access.authenticate(kept.token)).toBeNull();
  });

  it('consumes a login token once; it is not a bearer; expired ones are refused; each attempt is audited', async () => {
    const f = await start();
    const login = await f.access.createLoginToken('admin', ADMIN);
    expect(login.expiresAt).toBe(f.clock.t + LOGIN_TOKEN_TTL_MS);
    expect(await f.access.authenticate(login.token)).toBeNull();
    expect(await f.access.login(login.token)).toEqual({ kind: 'user', name: 'admin', role: 'admin' });
    expect(await codeOf(() => f.access.login(login.token))).toBe(ErrorCode.TokenUsed);
    expect((await f.access.listTokens()).find((t) => t.id === login.id)?.state).toBe('used');

    const late = await f.access.createLoginToken('admin', ADMIN, 5_000);
    f.clock.t += 5_000;
    expect(await codeOf(() => f.access.login(late.token))).toBe(ErrorCode.TokenExpired);
    expect(await codeOf(() => f.access.login(generateSecret('bat_')))).toBe(ErrorCode.TokenInvalid);

    // An API token opens a session as is, any number of times.
    const api = await f.access.createApiToken({ user: 'admin' }, ADMIN);
    expect(await f.access.login(api.token)).toMatchObject({ name: 'admin' });
    expect(await f.access.login(api.token)).toMatchObject({ name: 'admin' });

    const logins = (await audit(f)).filter((e) => e.action === 'user.login').map((e) => [e.actor, e.outcome]);
    expect(logins).toEqual([
      ['user:admin', 'allowed'],
      ['user:admin', 'denied'],
      ['user:admin', 'denied'],
      ['anonymous', 'denied'],
      ['user:admin', 'allowed'],
      ['user:admin', 'allowed'],
    ]);
  });

  it('keeps a token at or below its user role, and a requester at or below its own', async () => {
    const f = await start();
    await f.access.addUser({ name: 'vic', role: 'viewer' }, ADMIN);
    await expect(f.access.createApiToken({ user: 'vic', role: 'operator' }, ADMIN)).rejects.toThrow(ForbiddenError);
    expect((await f.access.createApiToken({ user: 'vic', role: 'viewer' }, ADMIN)).role).toBe('viewer');
    const operator: Requester = { kind: 'user', name: 'olga', role: 'operator' };
    expect(await codeOf(() => f.access.addUser({ name: 'mallory', role: 'admin' }, operator))).toBe(ErrorCode.Forbidden);
    expect(await codeOf(() => f.access.createApiToken({ user: 'admin' }, operator))).toBe(ErrorCode.Forbidden);
    expect(await codeOf(() => f.access.createApiToken({ user: 'ghost' }, ADMIN))).toBe(ErrorCode.NotFound);
  });

  it('validates user names and refuses duplicates', async () => {
    const f = await start();
    for (const name of ['../etc', 'Ana', 'a b', 'bad\u0007name', '']) {
      await expect(f.access.addUser({ name, role: 'viewer' }, ADMIN)).rejects.toThrow(ValidationError);
    }
    await expect(f.access.addUser({ name: 'ok', role: 'root' as 'admin' }, ADMIN)).rejects.toThrow(/role/);
    await f.access.addUser({ name: 'ok', role: 'viewer' }, ADMIN);
    expect(await codeOf(() => f.access.addUser({ name: 'ok', role: 'viewer' }, ADMIN))).toBe(ErrorCode.Conflict);
    expect((await f.access.listUsers()).map((u) => u.name)).toEqual(['admin', 'ok']);
  });

  it('refuses to remove the last admin', async () => {
    const f = await start();
    expect(await codeOf(() => f.access.removeUser('admin', ADMIN))).toBe(ErrorCode.Conflict);
    expect(await codeOf(() => f.access.removeUser('nobody', ADMIN))).toBe(ErrorCode.NotFound);
    await f.access.addUser({ name: 'second', role: 'admin' }, ADMIN);
    await f.access.removeUser('admin', ADMIN);
    expect((await f.access.listUsers()).map((u) => u.name)).toEqual(['second']);
  });

  it('denies by the policy, records the denial and names operation and target', async () => {
    const f = await start();
    const viewer: Requester = { kind: 'user', name: 'vic', role: 'viewer' };
    await f.access.authorize('ReadState', viewer, [{ kind: 'fleet' }]);
    let error: unknown;
    try {
      await f.access.authorize('SubmitTask', viewer, [{ kind: 'project', project: 'web' }]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).details).toEqual({ operation: 'SubmitTask', target: 'project:web' });
    const limited: Requester = { kind: 'user', name: 'olga', role: 'operator', projects: ['web'] };
    await f.access.authorize('SubmitTask', limited, [{ kind: 'project', project: 'web' }]);
    await expect(f.access.authorize('SubmitTask', limited, [{ kind: 'project', project: 'web' }, { kind: 'project', project: 'api' }])).rejects.toThrow(ForbiddenError);
    const worker: Requester = { kind: 'node', nodeId: 'nod_1', role: 'worker' };
    await expect(f.access.authorize('EmergencyShutdown', worker, [])).rejects.toThrow(ForbiddenError);
    const denied = (await audit(f)).filter((e) => e.outcome === 'denied').map((e) => [e.actor, e.action, e.target]);
    expect(denied).toEqual([
      ['user:vic', 'SubmitTask', 'project:web'],
      ['user:olga', 'SubmitTask', 'project:api'],
      ['node:nod_1', 'EmergencyShutdown', 'fleet'],
    ]);
  });

  it('lists join, API and login tokens together and revokes either kind', async () => {
    const f = await start();
    const join = await f.coordinator.createJoinToken({ role: 'worker', createdBy: 'admin' });
    f.clock.t += 1;
    const api = await f.access.createApiToken({ user: 'admin', label: 'ci' }, ADMIN);
    const tokens = await f.access.listTokens();
    expect(tokens.map((t) => [t.id, t.kind])).toEqual([[api.id, 'api'], [join.id, 'join']]);
    expect(tokens[0]).toMatchObject({ label: 'ci', user: 'admin', role: 'admin', createdBy: 'user:admin', state: 'active', expiresAt: null });
    expect(JSON.stringify(tokens)).not.toContain(api.token);
    expect(await f.access.revokeToken(join.id, ADMIN)).toMatchObject({ kind: 'join', state: 'revoked' });
    expect(await codeOf(() => f.access.revokeToken('tok_missing', ADMIN))).toBe(ErrorCode.NotFound);
    expect(await codeOf(() => f.access.revokeToken('../x', ADMIN))).toBe(ErrorCode.Validation);
    expect((await audit(f)).filter((e) => e.action === 'token.revoke').map((e) => [e.actor, e.target])).toEqual([['user:admin', join.id]]);
  });

  it('sets the policy: invalid ones change nothing; valid ones are written, applied at once and audited', async () => {
    const f = await start();
    await expect(f.access.setAclPolicy({ version: 2, roles: {} }, ADMIN)).rejects.toThrow(ValidationError);
    expect(f.access.aclPolicy()).toEqual(DEFAULT_ACL_POLICY);
    expect(existsSync(f.policyFile)).toBe(false);

    const viewer: Requester = { kind: 'user', name: 'vic', role: 'viewer' };
    const policy: AclPolicy = { ...DEFAULT_ACL_POLICY, roles: { ...DEFAULT_ACL_POLICY.roles, viewer: [...DEFAULT_ACL_POLICY.roles.viewer, { operation: 'ReadAudit', selfOnly: false }] } };
    await expect(f.access.authorize('ReadAudit', viewer, [])).rejects.toThrow(ForbiddenError);
    await f.access.setAclPolicy(policy, ADMIN);
    await f.access.authorize('ReadAudit', viewer, []);
    expect(readFileSync(f.policyFile, 'utf8')).toContain('ReadAudit');
    expect((await audit(f)).filter((e) => e.action === 'acl.set').map((e) => [e.actor, e.outcome])).toEqual([['user:admin', 'allowed']]);
    expect(readdirSync(f.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('applies a hand edit of the policy file live and keeps the old policy on an invalid edit', async () => {
    const f = await start();
    const viewer: Requester = { kind: 'user', name: 'vic', role: 'viewer' };
    writeFileSync(f.policyFile, 'version: 1\nroles:\n  admin:\n    - operation: ManagePolicy\n  viewer:\n    - operation: ReadAudit\n');
    await until(() => f.access.aclPolicy().roles.viewer.some((g) => g.operation === 'ReadAudit'));
    await f.access.authorize('ReadAudit', viewer, []);
    await expect(f.access.authorize('ReadState', viewer, [])).rejects.toThrow(ForbiddenError);
    expect((await audit(f)).some((e) => e.action === 'acl.reload' && e.outcome === 'allowed' && e.actor === `file:${f.policyFile}`)).toBe(true);

    const before = f.access.aclPolicy();
    writeFileSync(f.policyFile, 'version: 1\nroles:\n  viewer:\n    - operation: NoSuchOperation\n');
    await until(async () => (await audit(f)).some((e) => e.action === 'acl.reload' && e.outcome === 'failed'));
    expect(f.access.aclPolicy()).toBe(before);
    const failed = (await audit(f)).find((e) => e.action === 'acl.reload' && e.outcome === 'failed')!;
    expect(failed.actor).toBe(`file:${f.policyFile}`);
    expect(failed.reason).toContain('roles.viewer[0].operation');
    expect(f.errors.some((m) => m.includes('keeping the previous policy'))).toBe(true);
  });

  it('refuses to start with an invalid policy file, naming the file and the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitacora-access-'));
    const backbone = await openSqliteBackbone({ file: join(dir, 'fleet.db') });
    const file = join(dir, 'acl.yaml');
    writeFileSync(file, 'version: 1\nroles:\n  operator:\n    - operation: Launch\n');
    const coordinator = new Coordinator({
      backbone,
      scheduler: new PlacementScheduler(),
      secrets: { generateSecret: generateSecret as (p: string) => string, hashSecret, secretsEqual },
      identity: { caCertPem: '', caHash: 'sha256:test', httpUrl: '' },
      aclPolicyFile: file,
    });
    try {
      const error = await coordinator.start().then(() => null, (err: unknown) => err);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toContain(file);
      expect((error as ValidationError).issues.map((i) => i.path)).toEqual(['roles.operator[0].operation']);
    } finally {
      await coordinator.close();
      await backbone.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('audits what an actingFor view does as its requester', async () => {
    const f = await start();
    const ana: Requester = { kind: 'user', name: 'ana', role: 'admin' };
    await f.coordinator.actingFor(ana).resumeDispatch?.();
    await f.coordinator.resumeDispatch();
    await f.coordinator.actingFor(ana).createJoinToken({ createdBy: 'whoever' });
    const entries = (await audit(f)).filter((e) => e.action === 'fleet.resume-dispatch' || e.action === 'token.create').map((e) => [e.action, e.actor]);
    expect(entries).toEqual([
      ['fleet.resume-dispatch', 'user:ana'],
      ['fleet.resume-dispatch', 'user:admin'],
      ['token.create', 'user:ana'],
    ]);
    expect(f.coordinator.state).toBe('running');
  });

  it('never stores a secret in plaintext: not in KV, not in the event log, not in the database files', async () => {
    const f = await start();
    await f.access.addUser({ name: 'ana', role: 'operator' }, ADMIN);
    const api = await f.access.createApiToken({ user: 'ana' }, ADMIN);
    const login = await f.access.createLoginToken('ana', ADMIN);
    await f.access.login(login.token);
    await f.access.login(api.token);
    expect(await codeOf(() => f.access.login(login.token))).toBe(ErrorCode.TokenUsed);
    await f.access.revokeToken(api.id, ADMIN);
    const rows = JSON.stringify([await f.backbone.kv.list(''), await f.backbone.events.read(0, 100_000)]);
    expect(rows).toContain(hashSecret(api.token));
    for (const secret of [api.token, login.token]) {
      expect(rows).not.toContain(secret);
      expect(rows).not.toContain(secret.slice(4));
      for (const name of readdirSync(f.dir).filter((n) => n.startsWith('fleet.db'))) {
        expect(readFileSync(join(f.dir, name)).includes(Buffer.from(secret.slice(4)))).toBe(false);
      }
    }
  });

  it('rebuilds its token index at start', async () => {
    const f = await start();
    const api = await f.access.createApiToken({ user: 'admin' }, ADMIN);
    const again = new AccessControl({
      kv: f.backbone.kv,
      joinTokens: f.backbone.joinTokens,
      security: (f.coordinator as unknown as { security: ConstructorParameters<typeof AccessControl>[0]['security'] }).security,
      now: () => f.clock.t,
      log: { info() {}, warn() {}, error() {} },
      policyFile: null,
    });
    expect(await again.authenticate(api.token)).toBeNull();
    await again.start();
    expect(await again.authenticate(api.token)).toMatchObject({ name: 'admin' });
    again.close();
  });
});

describe('BitacoraError codes of login refusals', () => {
  it('are token codes the CLI maps to exit 2', () => {
    expect([ErrorCode.TokenUsed, ErrorCode.TokenExpired, ErrorCode.TokenInvalid, ErrorCode.TokenRevoked].every((c) => c.startsWith('BIT_ERR_TOKEN'))).toBe(true);
  });
});
