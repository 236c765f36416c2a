/**
 * Roster: the coordinator's cached view of fleet membership. The coordinator is the only
 * writer of nodes, so every change goes through here — written to the NodeRepository, then
 * mirrored in memory — and hot paths (snapshots, heartbeats) never read the store.
 */
import { acceptsWork, type FleetNode, type NodeResources, type NodeRole, type NodeStatus } from '../core/index.js';
import type { NodeRepository, RegisterNodeInput } from '../store/backbone.js';

export class Roster {
  private readonly byId = new Map<string, FleetNode>();
  /** Nodes whose latest heartbeat is only in memory; written together by `flushHeartbeats`. */
  private readonly unsavedBeats = new Set<string>();

  constructor(private readonly repo: NodeRepository) {}

  /** Loads every node from the store (start-up). */
  load(): void {
    this.byId.clear();
    for (const node of this.repo.list()) this.byId.set(node.id, node);
  }

  get(id: string): FleetNode | undefined {
    return this.byId.get(id);
  }

  /** By id, else by name among nodes not in 'left' (a name may be reused after a node left). */
  find(idOrName: string): FleetNode | undefined {
    const byId = this.byId.get(idOrName);
    if (byId) return byId;
    let found: FleetNode | undefined;
    for (const node of this.byId.values()) {
      if (node.name === idOrName && (found === undefined || found.status === 'left')) found = node;
    }
    return found;
  }

  list(): FleetNode[] {
    return [...this.byId.values()];
  }

  values(): IterableIterator<FleetNode> {
    return this.byId.values();
  }

  ids(): IterableIterator<string> {
    return this.byId.keys();
  }

  register(input: RegisterNodeInput, now: number): FleetNode {
    return this.keep(this.repo.register(input, now));
  }

  setStatus(id: string, status: NodeStatus, reason: string, now: number): FleetNode {
    const current = this.byId.get(id);
    if (current && current.status === status) return current;
    return this.keep(this.repo.setStatus(id, status, reason, now));
  }

  setRole(id: string, role: NodeRole, now: number): FleetNode {
    const current = this.byId.get(id);
    if (current && current.role === role) return current;
    return this.keep(this.repo.setRole(id, role, now));
  }

  updateInfo(id: string, info: Partial<Omit<RegisterNodeInput, 'name' | 'credentialHash'>>, now: number): FleetNode {
    return this.keep(this.repo.updateInfo(id, info, now));
  }

  /**
   * Liveness and load, for every heartbeat of every node: updates the cache only. The store
   * gets them from `flushHeartbeats`, all nodes in one write, so a large fleet costs one
   * commit per flush instead of one per node.
   */
  heartbeat(id: string, beat: { at: number; resources: NodeResources; runningTasks: number }): boolean {
    const node = this.byId.get(id);
    if (!node) return false;
    node.lastHeartbeatAt = beat.at;
    node.resources = beat.resources;
    node.runningTasks = beat.runningTasks;
    this.unsavedBeats.add(id);
    return true;
  }

  /**
   * Writes the heartbeats received since the last flush. Call inside one store batch. On a
   * store error the unwritten ones stay pending for the next flush.
   */
  flushHeartbeats(): number {
    for (const id of this.unsavedBeats) {
      const node = this.byId.get(id);
      if (node?.lastHeartbeatAt != null) {
        this.repo.recordHeartbeat(id, { at: node.lastHeartbeatAt, resources: node.resources, runningTasks: node.runningTasks });
      }
    }
    // Cleared only once every write went through: a throw leaves them all for the next flush.
    const written = this.unsavedBeats.size;
    this.unsavedBeats.clear();
    return written;
  }

  remove(id: string, now: number): void {
    this.repo.remove(id, now);
    this.byId.delete(id);
    this.unsavedBeats.delete(id);
  }

  credentialHash(id: string): string | null {
    return this.repo.credentialHash(id);
  }

  static acceptsWork(node: FleetNode): boolean {
    return acceptsWork(node) && node.role !== 'master';
  }

  private keep(node: FleetNode): FleetNode {
    this.byId.set(node.id, node);
    return node;
  }
}
