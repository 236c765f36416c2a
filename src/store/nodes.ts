/**
 * NodeRepository — fleet membership. Written only by the coordinator (single writer);
 * read by the API and the scheduler's snapshot builder.
 */
import type { FleetNode, NodeResources, NodeRole, NodeStatus } from '../core/index.js';

export interface RegisterNodeInput {
  name: string;
  role: NodeRole;
  capabilities: string[];
  specializations: string[];
  capacity: number;
  resources: NodeResources;
  agentVersion: string;
  /** sha256 of the node's long-lived credential; checked on reconnect. */
  credentialHash: string;
  address: string | null;
}

export interface NodeRepository {
  /**
   * Creates a node in status 'joining'. Names are unique among nodes not in status 'left';
   * a clash throws ConflictError. Appends 'node.registered'.
   */
  register(input: RegisterNodeInput, now: number): Promise<FleetNode>;
  get(id: string): Promise<FleetNode | null>;
  getByName(name: string): Promise<FleetNode | null>;
  list(): Promise<FleetNode[]>;
  credentialHash(id: string): Promise<string | null>;
  /**
   * Guarded status change (NODE_TRANSITIONS); same-status is a no-op returning the node.
   * Throws NotFoundError / InvalidTransitionError. Appends 'node.status' with `reason`.
   */
  setStatus(id: string, status: NodeStatus, reason: string, now: number): Promise<FleetNode>;
  setRole(id: string, role: NodeRole, now: number): Promise<FleetNode>;
  /** Replaces what the agent reported at (re)connect: capabilities, capacity, version, address. */
  updateInfo(id: string, info: Partial<Omit<RegisterNodeInput, 'name' | 'credentialHash'>>, now: number): Promise<FleetNode>;
  /**
   * Hot path (every heartbeat of every node): records liveness and load. Appends no event.
   * Returns false for an unknown node.
   */
  recordHeartbeat(id: string, beat: { at: number; resources: NodeResources; runningTasks: number }): Promise<boolean>;
  /** Many heartbeats at once (the coordinator flushes them every second): unknown nodes are skipped. Returns how many were recorded. */
  recordHeartbeats(beats: Array<{ id: string; at: number; resources: NodeResources; runningTasks: number }>): Promise<number>;
  /** Deletes the record (after `node remove`). Appends 'node.removed'. */
  remove(id: string, now: number): Promise<void>;
}
