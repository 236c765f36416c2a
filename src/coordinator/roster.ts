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
  async load(): Promise<void> {
    const nodes = await this.repo.list();
    this.byId.clear();
    for (const node of nodes) this.byId.set(node.id, node);
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

  async register(input: RegisterNodeInput, now: number): Promise<FleetNode> {
    return this.keep(await this.repo.register(input, now));
  }

  /**
   * The cache changes at once (hot paths see the new status before the write lands); the
   * store's answer then replaces it. A refused write puts the previous record back.
   */
  async setStatus(id: string, status: NodeStatus, reason: string, now: number): Promise<FleetNode> {
    const current = this.byId.get(id);
    if (current && current.status === status) return current;
    if (current) this.byId.set(id, { ...current, status });
    try {
      return this.keep(await this.repo.setStatus(id, status, reason, now));
    } catch (err) {
      if (current && this.byId.get(id)?.status === status) this.byId.set(id, current);
      throw err;
    }
  }

  async setRole(id: string, role: NodeRole, now: number): Promise<FleetNode> {
    const current = this.byId.get(id);
    if (current && current.role === role) return current;
    return this.keep(await this.repo.setRole(id, role, now));
  }

  async updateInfo(id: string, info: Partial<Omit<RegisterNodeInput, 'name' | 'credentialHash'>>, now: number): Promise<FleetNode> {
    return this.keep(await this.repo.updateInfo(id, info, now));
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
   * Writes the heartbeats received since the last flush in one store call. On a store error
   * they are pending again for the next flush.
   */
  async flushHeartbeats(): Promise<number> {
    const beats: Array<{ id: string; at: number; resources: NodeResources; runningTasks: number }> = [];
    for (const id of this.unsavedBeats) {
      const node = this.byId.get(id);
      if (node?.lastHeartbeatAt != null) beats.push({ id, at: node.lastHeartbeatAt, resources: node.resources, runningTasks: node.runningTasks });
    }
    this.unsavedBeats.clear();
    if (beats.length === 0) return 0;
    try {
      return await this.repo.recordHeartbeats(beats);
    } catch (err) {
      for (const beat of beats) if (this.byId.has(beat.id)) this.unsavedBeats.add(beat.id);
      throw err;
    }
  }

  async remove(id: string, now: number): Promise<void> {
    await this.repo.remove(id, now);
    this.byId.delete(id);
    this.unsavedBeats.delete(id);
  }

  credentialHash(id: string): Promise<string | null> {
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
