/**
 * The ACL: one pure function, `authorize(operation, requester, target, policy)`, that every
 * entry point (gRPC now; REST, WebSocket and CLI through REST next) asks before acting.
 * Default deny: an operation, role or target the policy does not name is refused, with a
 * reason fit for the audit trail. The policy is data (a file, validated here with zod).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseOrThrow, USER_ROLE_NAMES, ValidationError } from '../core/index.js';

export const OPERATIONS = [
  // Coordinator → node commands (DESIGN.md): only the master (or a hybrid for its own group) issues them.
  'ExecuteTask', 'MigrateProject', 'SyncState', 'UpdateConfiguration', 'EmergencyShutdown',
  // What a node does about itself on its stream.
  'ReportStatus', 'ReportResult', 'RenewCertificate',
  // What users do through the API.
  'SubmitTask', 'CancelTask', 'Approve', 'Reject', 'WriteLogbook', 'ManageNodes', 'RevokeNode', 'ManageTokens', 'ManageUsers', 'ManagePolicy',
  'ReadState', 'ReadLogs', 'ReadAudit',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export const USER_ROLES = USER_ROLE_NAMES;
export const NODE_ROLES_ACL = ['master', 'hybrid', 'worker'] as const;
export type UserRole = (typeof USER_ROLES)[number];
export type NodeAclRole = (typeof NODE_ROLES_ACL)[number];

export type Requester =
  /** `projects`: an operator limited to these projects (also settable per user in the policy). */
  | { kind: 'user'; name: string; role: UserRole; projects?: readonly string[] }
  | { kind: 'node'; nodeId: string; role: NodeAclRole };

export type Target = { kind: 'fleet' } | { kind: 'node'; nodeId: string } | { kind: 'project'; project: string };
export type TargetKind = Target['kind'];

export interface Decision {
  allowed: boolean;
  reason: string;
}

const operation = z.enum(OPERATIONS);
const grantSchema = z.strictObject({
  operation,
  /** Target kinds the grant covers. Default: every kind. */
  targets: z.array(z.enum(['fleet', 'node', 'project'])).min(1).optional(),
  /** Node requesters: only when the target is the requesting node itself (or a node of a group it coordinates). */
  selfOnly: z.boolean().default(false),
});
export type Grant = z.output<typeof grantSchema>;

export const aclPolicySchema = z.strictObject({
  version: z.literal(1),
  roles: z.strictObject({
    admin: z.array(grantSchema).default([]),
    operator: z.array(grantSchema).default([]),
    viewer: z.array(grantSchema).default([]),
    master: z.array(grantSchema).default([]),
    hybrid: z.array(grantSchema).default([]),
    worker: z.array(grantSchema).default([]),
  }),
  /** Per-user project limits (operators): a user listed here reaches only these projects. */
  users: z.record(z.string().min(1), z.strictObject({ projects: z.array(z.string().min(1)).optional() })).default({}),
  /**
   * Node groups, for later: a hybrid listed as a coordinator of a group may act on its
   * members as if they were itself (Hierarchical strategy).
   */
  nodeGroups: z.record(z.string().min(1), z.strictObject({ coordinators: z.array(z.string().min(1)), members: z.array(z.string().min(1)) })).default({}),
});
export type AclPolicy = z.output<typeof aclPolicySchema>;

const all = (ops: readonly Operation[], extra: Partial<Grant> = {}): Grant[] => ops.map((op) => ({ operation: op, selfOnly: false, ...extra }));
const READS: Operation[] = ['ReadState', 'ReadLogs'];

/** What holds without a policy file: admins do everything; operators run work (projects may be limited); viewers read; nodes act on themselves; only the master commands nodes. */
export const DEFAULT_ACL_POLICY: AclPolicy = {
  version: 1,
  roles: {
    admin: all(OPERATIONS),
    operator: [
      ...all(['SubmitTask', 'CancelTask', 'MigrateProject', 'Approve', 'Reject'], { targets: ['project'] }),
      // Sessions and sparks belong to no project (fleet target); projects, topics and actions do.
      ...all(['WriteLogbook'], { targets: ['fleet', 'project'] }),
      ...all(READS),
    ],
    viewer: all(READS),
    master: all(['ExecuteTask', 'MigrateProject', 'SyncState', 'UpdateConfiguration', 'EmergencyShutdown']),
    hybrid: [...all(['ReportStatus', 'ReportResult', 'RenewCertificate', 'SyncState'], { targets: ['node'], selfOnly: true }), ...all(['ExecuteTask'], { targets: ['node'], selfOnly: true })],
    worker: all(['ReportStatus', 'ReportResult', 'RenewCertificate', 'SyncState'], { targets: ['node'], selfOnly: true }),
  },
  users: {},
  nodeGroups: {},
};

/** Decides; never throws. Default deny. */
export function authorize(op: Operation | string, requester: Requester, target: Target, policy: AclPolicy = DEFAULT_ACL_POLICY): Decision {
  const who = requester.kind === 'user' ? `user ${requester.name} (${requester.role})` : `node ${requester.nodeId} (${requester.role})`;
  if (!(OPERATIONS as readonly string[]).includes(op)) return deny(`unknown operation '${op}'`);
  const grants: Grant[] | undefined = (policy.roles as Record<string, Grant[] | undefined>)[requester.role];
  if (!grants) return deny(`${who}: role '${requester.role}' has no grants`);
  const grant = grants.find((g) => g.operation === op && (!g.targets || g.targets.includes(target.kind)));
  if (!grant) return deny(`${who} may not ${op} on ${describe(target)}`);
  if (requester.kind === 'node' && grant.selfOnly) {
    if (target.kind !== 'node') return deny(`${who} may ${op} only on itself`);
    if (target.nodeId !== requester.nodeId && !coordinates(policy, requester.nodeId, target.nodeId)) {
      return deny(`${who} may ${op} only on itself${requester.role === 'hybrid' ? ' or the nodes of a group it coordinates' : ''}, not on node ${target.nodeId}`);
    }
  }
  if (requester.kind === 'user' && target.kind === 'project') {
    const limit = requester.projects ?? policy.users[requester.name]?.projects;
    if (limit && !limit.includes(target.project)) return deny(`${who} is limited to projects ${limit.join(', ')}; not ${target.project}`);
  }
  return { allowed: true, reason: `${who} may ${op} on ${describe(target)}` };
}

function coordinates(policy: AclPolicy, coordinator: string, member: string): boolean {
  return Object.values(policy.nodeGroups).some((g) => g.coordinators.includes(coordinator) && g.members.includes(member));
}

function describe(target: Target): string {
  return target.kind === 'fleet' ? 'the fleet' : target.kind === 'node' ? `node ${target.nodeId}` : `project ${target.project}`;
}

const deny = (reason: string): Decision => ({ allowed: false, reason });

/** Validates a policy object; ValidationError naming every problem with its path. */
export function parseAclPolicy(value: unknown, source = 'ACL policy'): AclPolicy {
  return parseOrThrow(aclPolicySchema, value, source);
}

/** Reads a policy file (JSON or YAML). ValidationError when unreadable, unparsable or invalid. */
export function loadAclPolicy(file: string): AclPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ValidationError(`cannot read ACL policy ${file}: ${(err as Error).message}`, [{ path: '', message: 'unreadable file' }]);
  }
  let value: unknown;
  try {
    value = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ValidationError(`ACL policy ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message}`, [{ path: '', message: 'syntax error' }]);
  }
  return parseAclPolicy(value, `ACL policy ${file}`);
}
