import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authorize, DEFAULT_ACL_POLICY, loadAclPolicy, OPERATIONS, parseAclPolicy, type Operation, type Requester, type Target } from './acl.js';

const TARGETS: Record<string, Target> = {
  fleet: { kind: 'fleet' },
  self: { kind: 'node', nodeId: 'nod_self' },
  otherNode: { kind: 'node', nodeId: 'nod_other' },
  project: { kind: 'project', project: 'alpha' },
};
const REQUESTERS: Record<string, Requester> = {
  admin: { kind: 'user', name: 'ana', role: 'admin' },
  operator: { kind: 'user', name: 'oto', role: 'operator' },
  viewer: { kind: 'user', name: 'vic', role: 'viewer' },
  master: { kind: 'node', nodeId: 'nod_self', role: 'master' },
  hybrid: { kind: 'node', nodeId: 'nod_self', role: 'hybrid' },
  worker: { kind: 'node', nodeId: 'nod_self', role: 'worker' },
};

/** The expected matrix, written out by hand: `Operation@target` pairs each role may do; everything else is denied. */
const everywhere = (ops: Operation[]) => ops.flatMap((op) => Object.keys(TARGETS).map((t) => `${op}@${t}`));
const SELF_REPORTS = ['ReportStatus@self', 'ReportResult@self', 'RenewCertificate@self', 'SyncState@self'];
const EXPECTED: Record<string, Set<string>> = {
  admin: new Set(everywhere([...OPERATIONS])),
  operator: new Set([...['SubmitTask', 'CancelTask', 'MigrateProject', 'Approve', 'Reject'].map((op) => `${op}@project`), 'WriteLogbook@fleet', 'WriteLogbook@project', ...everywhere(['ReadState', 'ReadLogs'])]),
  viewer: new Set(everywhere(['ReadState', 'ReadLogs'])),
  master: new Set(everywhere(['ExecuteTask', 'MigrateProject', 'SyncState', 'UpdateConfiguration', 'EmergencyShutdown'])),
  hybrid: new Set([...SELF_REPORTS, 'ExecuteTask@self']),
  worker: new Set(SELF_REPORTS),
};

describe('authorize', () => {
  for (const [role, requester] of Object.entries(REQUESTERS)) {
    it(`decides every operation × target for ${role} as the matrix says`, () => {
      const wrong: string[] = [];
      for (const op of OPERATIONS) {
        for (const [name, target] of Object.entries(TARGETS)) {
          const decision = authorize(op, requester, target);
          if (decision.allowed !== EXPECTED[role]!.has(`${op}@${name}`)) wrong.push(`${op}@${name}: ${decision.reason}`);
          expect(decision.reason.length).toBeGreaterThan(0);
        }
      }
      expect(wrong).toEqual([]);
    });
  }

  it('never lets a worker shut the fleet down or change its configuration', () => {
    for (const target of Object.values(TARGETS)) {
      expect(authorize('EmergencyShutdown', REQUESTERS['worker']!, target).allowed).toBe(false);
      expect(authorize('UpdateConfiguration', REQUESTERS['worker']!, target).allowed).toBe(false);
    }
  });

  it('denies by default: unknown operations and roles', () => {
    expect(authorize('DropDatabase', REQUESTERS['admin']!, TARGETS['fleet']!)).toMatchObject({ allowed: false, reason: expect.stringContaining('unknown operation') });
    expect(authorize('ReadState', { kind: 'user', name: 'x', role: 'root' as never }, TARGETS['fleet']!).allowed).toBe(false);
  });

  it('limits an operator to named projects', () => {
    const limited: Requester = { kind: 'user', name: 'oto', role: 'operator', projects: ['alpha'] };
    expect(authorize('SubmitTask', limited, { kind: 'project', project: 'alpha' }).allowed).toBe(true);
    expect(authorize('SubmitTask', limited, { kind: 'project', project: 'beta' })).toMatchObject({ allowed: false, reason: expect.stringContaining('limited to projects alpha') });
    const policy = parseAclPolicy({ ...DEFAULT_ACL_POLICY, users: { oto: { projects: ['beta'] } } });
    expect(authorize('Approve', REQUESTERS['operator']!, { kind: 'project', project: 'alpha' }, policy).allowed).toBe(false);
    expect(authorize('Approve', REQUESTERS['operator']!, { kind: 'project', project: 'beta' }, policy).allowed).toBe(true);
  });

  it('lets a hybrid act on the members of a group it coordinates (node groups)', () => {
    const policy = parseAclPolicy({ ...DEFAULT_ACL_POLICY, nodeGroups: { lab: { coordinators: ['nod_self'], members: ['nod_other'] } } });
    expect(authorize('ExecuteTask', REQUESTERS['hybrid']!, TARGETS['otherNode']!, policy).allowed).toBe(true);
    expect(authorize('ExecuteTask', REQUESTERS['hybrid']!, { kind: 'node', nodeId: 'nod_stranger' }, policy).allowed).toBe(false);
    expect(authorize('ExecuteTask', REQUESTERS['worker']!, TARGETS['otherNode']!, policy).allowed).toBe(false);
  });
});

describe('ACL policy files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitacora-acl-'));

  it('loads a YAML policy', () => {
    const file = join(dir, 'acl.yaml');
    writeFileSync(file, 'version: 1\nroles:\n  viewer:\n    - operation: ReadAudit\n');
    const policy = loadAclPolicy(file);
    expect(authorize('ReadAudit', REQUESTERS['viewer']!, TARGETS['fleet']!, policy).allowed).toBe(true);
    // Roles the file leaves out have no grants: default deny.
    expect(authorize('ReadState', REQUESTERS['admin']!, TARGETS['fleet']!, policy).allowed).toBe(false);
  });

  it('names every problem of an invalid policy with its path', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ version: 2, roles: { viewer: [{ operation: 'ReadEverything' }], root: [] } }));
    let message = '';
    try {
      loadAclPolicy(file);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('version');
    expect(message).toContain('roles.viewer[0].operation');
    expect(message).toMatch(/root/);
  });

  it('reports a syntax error and a missing file clearly', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ nope');
    expect(() => loadAclPolicy(file)).toThrow(/not valid JSON/);
    expect(() => loadAclPolicy(join(dir, 'absent.yaml'))).toThrow(/cannot read ACL policy/);
  });
});
