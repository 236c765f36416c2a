/** NodeRepository on SQLite: fleet membership with guarded status changes and a hot heartbeat path. */
import { z } from 'zod';
import {
  assertTransition, ConflictError, newId, NODE_ROLES, NODE_TRANSITIONS, nodeResourcesSchema, nodeSchema, NotFoundError, parseOrThrow,
  type FleetNode, type NodeResources, type NodeRole, type NodeStatus,
} from '../../core/index.js';
import type { NodeRepository, RegisterNodeInput } from '../nodes.js';
import { fromJson, nonNegativeInt, timestamp, toJson } from './codec.js';
import type { SqliteDb } from './db.js';
import { recordEvent } from './events.js';
import type { Synchronous } from './synchronous.js';

const registerSchema = nodeSchema
  .pick({ name: true, role: true, capabilities: true, specializations: true, capacity: true, resources: true, agentVersion: true, address: true })
  .extend({ credentialHash: z.string().min(1, 'must not be empty') })
  .strict();

const infoSchema = registerSchema.omit({ name: true, credentialHash: true }).partial().strict();

const heartbeatSchema = z.object({
  at: z.number().int().nonnegative(),
  resources: nodeResourcesSchema,
  runningTasks: z.number().int().nonnegative(),
});

interface NodeRow {
  id: string;
  name: string;
  role: NodeRole;
  capabilities: string;
  specializations: string;
  capacity: number;
  resources: string;
  status: NodeStatus;
  running_tasks: number;
  last_heartbeat_at: number | null;
  joined_at: number;
  agent_version: string;
  address: string | null;
}

const COLUMNS = 'id, name, role, capabilities, specializations, capacity, resources, status, running_tasks, last_heartbeat_at, joined_at, agent_version, address';

function toNode(row: NodeRow): FleetNode {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    capabilities: fromJson(row.capabilities),
    specializations: fromJson(row.specializations),
    capacity: row.capacity,
    resources: fromJson<NodeResources>(row.resources),
    status: row.status,
    runningTasks: row.running_tasks,
    lastHeartbeatAt: row.last_heartbeat_at,
    joinedAt: row.joined_at,
    agentVersion: row.agent_version,
    address: row.address,
  };
}

export class SqliteNodeRepository implements Synchronous<NodeRepository> {
  constructor(private readonly db: SqliteDb) {}

  register(input: RegisterNodeInput, now: number): FleetNode {
    const node = parseOrThrow(registerSchema, input, 'node registration');
    timestamp(now);
    return this.db.write(`node '${node.name}'`, () => {
      this.assertNameFree(node.name, null);
      const id = newId('nod');
      this.db.stmt(
        `INSERT INTO nodes (id, name, role, capabilities, specializations, capacity, resources, status, running_tasks, joined_at, agent_version, address, credential_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'joining', 0, ?, ?, ?, ?)`,
      ).run(id, node.name, node.role, toJson(node.capabilities), toJson(node.specializations), node.capacity, toJson(node.resources), now, node.agentVersion, node.address, node.credentialHash);
      recordEvent(this.db, 'node.registered', id, { name: node.name, role: node.role, capabilities: node.capabilities, capacity: node.capacity }, now);
      return this.require(id);
    });
  }

  get(id: string): FleetNode | null {
    const row = this.db.read(() => this.db.stmt(`SELECT ${COLUMNS} FROM nodes WHERE id = ?`).get(id) as NodeRow | undefined);
    return row ? toNode(row) : null;
  }

  /** The live node of that name; when all have left, the most recent one. */
  getByName(name: string): FleetNode | null {
    const row = this.db.read(
      () => this.db.stmt(`SELECT ${COLUMNS} FROM nodes WHERE name = ? ORDER BY status = 'left', joined_at DESC, rowid DESC LIMIT 1`).get(name) as NodeRow | undefined,
    );
    return row ? toNode(row) : null;
  }

  list(): FleetNode[] {
    return this.db.read(() => (this.db.stmt(`SELECT ${COLUMNS} FROM nodes ORDER BY joined_at, rowid`).all() as NodeRow[]).map(toNode));
  }

  credentialHash(id: string): string | null {
    const row = this.db.read(() => this.db.stmt('SELECT credential_hash FROM nodes WHERE id = ?').get(id) as { credential_hash: string } | undefined);
    return row?.credential_hash ?? null;
  }

  setStatus(id: string, status: NodeStatus, reason: string, now: number): FleetNode {
    parseOrThrow(nodeSchema.shape.status, status, 'node status');
    timestamp(now);
    return this.db.write(`node ${id}`, () => {
      const node = this.require(id);
      if (node.status === status) return node;
      assertTransition('node', NODE_TRANSITIONS, node.status, status);
      if (node.status === 'left') this.assertNameFree(node.name, id);
      this.db.stmt('UPDATE nodes SET status = ? WHERE id = ?').run(status, id);
      recordEvent(this.db, 'node.status', id, { name: node.name, from: node.status, to: status, reason }, now);
      return { ...node, status };
    });
  }

  setRole(id: string, role: NodeRole, now: number): FleetNode {
    parseOrThrow(z.enum(NODE_ROLES), role, 'node role');
    timestamp(now);
    return this.db.write(`node ${id}`, () => {
      const node = this.require(id);
      if (node.role === role) return node;
      this.db.stmt('UPDATE nodes SET role = ? WHERE id = ?').run(role, id);
      recordEvent(this.db, 'node.role', id, { name: node.name, from: node.role, to: role }, now);
      return { ...node, role };
    });
  }

  updateInfo(id: string, info: Partial<Omit<RegisterNodeInput, 'name' | 'credentialHash'>>, now: number): FleetNode {
    const patch = parseOrThrow(infoSchema, info, 'node info');
    timestamp(now);
    return this.db.write(`node ${id}`, () => {
      const node = this.require(id);
      const next = { ...node, ...patch };
      this.db.stmt(
        'UPDATE nodes SET role = ?, capabilities = ?, specializations = ?, capacity = ?, resources = ?, agent_version = ?, address = ? WHERE id = ?',
      ).run(next.role, toJson(next.capabilities), toJson(next.specializations), next.capacity, toJson(next.resources), next.agentVersion, next.address, id);
      recordEvent(this.db, 'node.updated', id, { name: node.name, fields: Object.keys(patch).sort() }, now);
      return next;
    });
  }

  recordHeartbeat(id: string, beat: { at: number; resources: NodeResources; runningTasks: number }): boolean {
    const valid = parseOrThrow(heartbeatSchema, beat, 'heartbeat');
    nonNegativeInt(valid.at, 'at');
    const info = this.db.write(`node ${id}`, () =>
      this.db.stmt('UPDATE nodes SET last_heartbeat_at = ?, resources = ?, running_tasks = ? WHERE id = ?').run(valid.at, toJson(valid.resources), valid.runningTasks, id),
    );
    return info.changes > 0;
  }

  recordHeartbeats(beats: Array<{ id: string; at: number; resources: NodeResources; runningTasks: number }>): number {
    return this.db.write('node heartbeats', () => beats.reduce((n, { id, ...beat }) => n + (this.recordHeartbeat(id, beat) ? 1 : 0), 0));
  }

  remove(id: string, now: number): void {
    timestamp(now);
    this.db.write(`node ${id}`, () => {
      const node = this.require(id);
      this.db.stmt('DELETE FROM nodes WHERE id = ?').run(id);
      recordEvent(this.db, 'node.removed', id, { name: node.name, status: node.status }, now);
    });
  }

  private require(id: string): FleetNode {
    const row = this.db.stmt(`SELECT ${COLUMNS} FROM nodes WHERE id = ?`).get(id) as NodeRow | undefined;
    if (!row) throw new NotFoundError('node', id);
    return toNode(row);
  }

  private assertNameFree(name: string, self: string | null): void {
    const clash = this.db.stmt("SELECT id FROM nodes WHERE name = ? AND status <> 'left' AND id IS NOT ?").get(name, self) as { id: string } | undefined;
    if (clash) throw new ConflictError(`node name '${name}' is already taken by node ${clash.id}`, { details: { name, nodeId: clash.id } });
  }
}
