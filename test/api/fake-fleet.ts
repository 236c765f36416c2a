/**
 * An in-memory FleetService for testing the API edge and the CLI against a real HTTP server.
 * Pure logic, no processes: it records calls, keeps tasks/nodes/events in arrays and lets a
 * test drive the lifecycle (`finish`, `emitLog`) the way the coordinator would. The service
 * methods return Promises like the real one (the store is asynchronous); the lifecycle
 * drivers and `task()` stay synchronous so a test can set a scene in one go.
 */
import {
  BitacoraError, ErrorCode, NotFoundError, ValidationError, newId, taskSpecSchema,
  type FleetEvent, type FleetNode, type NewFleetEvent, type NewTaskSpec, type Task, type TaskLogChunk,
} from '../../src/core/index.js';
import type { CreatedJoinToken, FleetService, FleetStatus, JoinInfo } from '../../src/coordinator/fleet-service.js';
import type { TaskFilter } from '../../src/store/backbone.js';

type Config = FleetStatus['config'];
type Tier = Parameters<FleetService['emergencyShutdown']>[0];

export function fakeNode(name: string, over: Partial<FleetNode> = {}): FleetNode {
  return {
    id: newId('nod'), name, role: 'worker', capabilities: ['linux'], specializations: [], capacity: 4,
    resources: { cpus: 2, memoryBytes: 1e9, load: 0.5 }, status: 'ready', runningTasks: 0,
    lastHeartbeatAt: Date.now(), joinedAt: Date.now(), agentVersion: '0.1.0', address: '127.0.0.1', ...over,
  };
}

export class FakeFleet implements FleetService {
  nodes: FleetNode[] = [];
  tasks: Task[] = [];
  events: FleetEvent[] = [];
  logs: TaskLogChunk[] = [];
  config: Config = { heartbeatIntervalMs: 1000, selfFenceAfterMs: 15000 };
  shutdowns: { tier: Tier; reason: string }[] = [];
  tokens: CreatedJoinToken[] = [];
  acceptingWork = true;
  private eventListeners = new Set<(e: FleetEvent) => void>();
  private logListeners = new Set<(c: TaskLogChunk) => void>();

  get eventSubscribers(): number {
    return this.eventListeners.size;
  }
  get logSubscribers(): number {
    return this.logListeners.size;
  }

  emit(event: NewFleetEvent): FleetEvent {
    const full: FleetEvent = { ...event, seq: this.events.length + 1, at: event.at ?? Date.now() };
    this.events.push(full);
    for (const l of this.eventListeners) l(full);
    return full;
  }

  /** A task by id, synchronously (for tests); NotFoundError otherwise. */
  task(id: string): Task {
    const task = this.tasks.find((t) => t.id === id);
    if (!task) throw new NotFoundError('task', id);
    return task;
  }

  emitLog(taskId: string, data: string, stream: TaskLogChunk['stream'] = 'stdout'): TaskLogChunk {
    const task = this.task(taskId);
    const seq = this.logs.filter((c) => c.taskId === taskId && c.attempt === task.attempt).length;
    const chunk: TaskLogChunk = { taskId, attempt: task.attempt, seq, stream, data, at: Date.now() };
    this.logs.push(chunk);
    for (const l of this.logListeners) l(chunk);
    return chunk;
  }

  /** Moves a task through assigned → running on `node`. */
  start(taskId: string, node: FleetNode): Task {
    const task = this.task(taskId);
    Object.assign(task, { state: 'running', attempt: task.attempt + 1, nodeId: node.id, assignedAt: Date.now(), startedAt: Date.now() });
    this.emit({ type: 'task.running', subject: taskId, data: { nodeId: node.id, attempt: task.attempt } });
    return task;
  }

  finish(taskId: string, exitCode: number): Task {
    const task = this.task(taskId);
    Object.assign(task, { state: exitCode === 0 ? 'succeeded' : 'failed', exitCode, finishedAt: Date.now() });
    this.emit({ type: 'task.finished', subject: taskId, data: { exitCode } });
    return task;
  }

  joinInfo(): JoinInfo {
    return { caCertPem: '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n', caHash: 'sha256:abc', grpcAddress: '127.0.0.1:7701', protocolVersion: 1 };
  }

  async status(): Promise<FleetStatus> {
    const count = (s: FleetNode['status']) => this.nodes.filter((n) => n.status === s).length;
    const tasks = { pending: 0, assigned: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const t of this.tasks) tasks[t.state]++;
    return {
      nodes: { total: this.nodes.length, ready: count('ready'), down: count('down'), draining: count('draining') },
      tasks, acceptingWork: this.acceptingWork, config: { ...this.config },
    };
  }

  listNodes(): FleetNode[] {
    return this.nodes;
  }
  getNode(idOrName: string): FleetNode {
    const node = this.nodes.find((n) => n.id === idOrName || n.name === idOrName);
    if (!node) throw new NotFoundError('node', idOrName);
    return node;
  }
  async drainNode(idOrName: string): Promise<FleetNode> {
    const node = this.getNode(idOrName);
    node.status = 'draining';
    return node;
  }
  async undrainNode(idOrName: string): Promise<FleetNode> {
    const node = this.getNode(idOrName);
    node.status = 'ready';
    return node;
  }
  async removeNode(idOrName: string): Promise<void> {
    const node = this.getNode(idOrName);
    this.nodes = this.nodes.filter((n) => n !== node);
  }
  async setNodeRole(idOrName: string, role: 'worker' | 'hybrid'): Promise<FleetNode> {
    const node = this.getNode(idOrName);
    node.role = role;
    return node;
  }

  async submitTask(spec: NewTaskSpec): Promise<{ task: Task; created: boolean }> {
    return this.submitNow(spec);
  }
  /** submitTask, synchronously (for tests setting a scene). */
  submitNow(spec: NewTaskSpec): { task: Task; created: boolean } {
    if (!this.acceptingWork) throw new BitacoraError(ErrorCode.Unavailable, 'the fleet is shut down');
    const parsed = taskSpecSchema.parse(spec);
    if (parsed.pinnedNode) parsed.pinnedNode = this.getNode(parsed.pinnedNode).id;
    if (parsed.idempotencyKey) {
      const existing = this.tasks.find((t) => t.idempotencyKey === parsed.idempotencyKey);
      if (existing) {
        if (JSON.stringify(existing.command) !== JSON.stringify(parsed.command)) {
          throw new BitacoraError(ErrorCode.IdempotencyMismatch, `idempotency key '${parsed.idempotencyKey}' was used for a different task`);
        }
        return { task: existing, created: false };
      }
    }
    const task: Task = {
      ...parsed, id: newId('tsk'), state: 'pending', attempt: 0, infraFailures: 0, userFailures: 0, nodeId: null,
      exitCode: null, error: null, createdAt: Date.now(), assignedAt: null, startedAt: null, finishedAt: null, seq: this.tasks.length + 1,
    };
    this.tasks.push(task);
    this.emit({ type: 'task.submitted', subject: task.id, data: {} });
    return { task, created: true };
  }
  async submitTasks(specs: NewTaskSpec[]): Promise<{ task: Task; created: boolean }[]> {
    return specs.map((s) => this.submitNow(s));
  }
  lastFilter: TaskFilter | undefined;
  async listTasks(filter?: TaskFilter): Promise<Task[]> {
    this.lastFilter = filter;
    let out = this.tasks.filter(
      (t) =>
        (!filter?.states || filter.states.includes(t.state)) &&
        (!filter?.nodeId || t.nodeId === filter.nodeId) &&
        (!filter?.project || t.project === filter.project),
    );
    if (filter?.order === 'desc') out = [...out].reverse();
    return filter?.limit ? out.slice(0, filter.limit) : out;
  }
  async getTask(id: string): Promise<Task> {
    return this.task(id);
  }
  async cancelTask(id: string, reason?: string): Promise<Task> {
    const task = this.task(id);
    if (task.state === 'succeeded' || task.state === 'failed' || task.state === 'cancelled') return task;
    Object.assign(task, { state: 'cancelled', error: reason ?? 'cancelled', finishedAt: Date.now() });
    this.emit({ type: 'task.cancelled', subject: id, data: { reason } });
    return task;
  }
  async taskLogs(id: string, options: { attempt?: number; afterSeq?: number } = {}): Promise<TaskLogChunk[]> {
    this.task(id);
    return this.logs.filter(
      (c) => c.taskId === id && (options.attempt === undefined || c.attempt === options.attempt) && (options.afterSeq === undefined || c.seq > options.afterSeq),
    );
  }

  async createJoinToken(options: { role?: 'worker' | 'hybrid'; ttlMs?: number; createdBy: string }): Promise<CreatedJoinToken> {
    const token = `bjt_${newId('tok').slice(4)}`;
    const created: CreatedJoinToken = {
      id: newId('tok'), token, role: options.role ?? 'worker', expiresAt: Date.now() + (options.ttlMs ?? 3_600_000), caHash: 'sha256:abc',
      join: `bitacora join http://127.0.0.1:7700 --token ${token} --ca-hash sha256:abc`,
    };
    this.tokens.push(created);
    return created;
  }

  async updateConfiguration(patch: Partial<Config>): Promise<Config> {
    if (patch.selfFenceAfterMs !== undefined && patch.selfFenceAfterMs < (patch.heartbeatIntervalMs ?? this.config.heartbeatIntervalMs)) {
      throw new ValidationError('selfFenceAfterMs must exceed the heartbeat interval', [{ path: 'selfFenceAfterMs', message: 'too small' }]);
    }
    this.config = { ...this.config, ...patch };
    this.emit({ type: 'config.updated', subject: null, data: { ...patch } });
    return this.config;
  }
  async emergencyShutdown(tier: Tier, reason: string): Promise<void> {
    this.shutdowns.push({ tier, reason });
    this.acceptingWork = false;
    this.emit({ type: 'fleet.shutdown', subject: null, data: { tier, reason } });
  }

  resumeDispatch?: () => Promise<void> = async () => {
    this.acceptingWork = true;
  };

  subscribe(afterSeq: number, listener: (event: FleetEvent) => void): () => void {
    for (const e of this.events) if (e.seq > afterSeq) listener(e);
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }
  subscribeLogs(listener: (chunk: TaskLogChunk) => void): () => void {
    this.logListeners.add(listener);
    return () => this.logListeners.delete(listener);
  }
}
