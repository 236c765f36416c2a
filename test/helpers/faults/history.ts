/**
 * The history a fault test records and the checker (`checker.ts`) judges: the client's own
 * submission log (what it sent and which id it was acknowledged with), the master's ordered
 * event log (task.submitted/assigned/running/finished/requeued/cancelled/fenced), the final
 * task and node snapshots, the faults the test injected (with node deaths and revivals),
 * and the local engine's atomic actions with what each left in its workspace.
 */
import type { Action, FleetEvent, FleetNode, NewTaskSpec, Task } from '../../../src/core/index.js';
import type { MasterProcess } from '../processes.js';

export interface SubmissionRecord {
  /** Client-side sequence number, in submission order. */
  n: number;
  idempotencyKey: string | null;
  /** The spec as sent (JSON), to compare resubmissions under one idempotency key. */
  payload: string;
  /** The id the master acknowledged, or null when the call failed (or got no reply). */
  ackedId: string | null;
  /** false when an idempotency key matched an existing task. */
  created: boolean | null;
  error: { code: string | null; message: string } | null;
  at: number;
}

export interface FaultRecord {
  kind: string;
  at: number;
  /** Node id, 'master', a task id… */
  target: string | null;
  detail?: string;
}

/** The test's own record of a node's process dying or coming back (not the master's view). */
export interface LivenessRecord {
  nodeId: string;
  at: number;
  alive: boolean;
}

/** What an atomic action left behind in its workspace, observed by the test. */
export type ActionEffect = 'none' | 'prepared' | 'committed' | 'both';

export interface History {
  submissions: SubmissionRecord[];
  /** The master's event log, in seq order. */
  events: FleetEvent[];
  /** Final snapshot of every task, taken after the settle period. */
  tasks: Task[];
  /** Final snapshot of the nodes. */
  nodes: FleetNode[];
  faults: FaultRecord[];
  liveness: LivenessRecord[];
  /** The local engine's actions (every logbook the test used). */
  actions: Action[];
  actionEffects: Record<string, ActionEffect>;
  startedAt: number;
  /** When the snapshots were taken. */
  endedAt: number;
}

export function emptyHistory(at = 0): History {
  return {
    submissions: [], events: [], tasks: [], nodes: [], faults: [], liveness: [], actions: [], actionEffects: {},
    startedAt: at, endedAt: at,
  };
}

/** JSON with sorted keys: two specs that differ only in key order are one payload. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Records as the test goes; `collect` pulls the master's side at the end. */
export class HistoryRecorder {
  readonly submissions: SubmissionRecord[] = [];
  readonly faults: FaultRecord[] = [];
  readonly liveness: LivenessRecord[] = [];
  readonly actions: Action[] = [];
  readonly actionEffects: Record<string, ActionEffect> = {};
  readonly startedAt = Date.now();

  /**
   * Submits through the master's control channel (one transaction: all acknowledged or none)
   * and logs each spec with its acknowledgement. Never throws: failures are recorded and
   * returned as null ids (the caller asserts on them when it expects success).
   */
  async submit(master: MasterProcess, specs: NewTaskSpec[]): Promise<Array<string | null>> {
    const at = Date.now();
    const records = specs.map((spec) => this.open(spec, at));
    try {
      const outcomes = await master.call<Array<{ task: Task; created: boolean }>>('submitTasks', specs);
      outcomes.forEach((o, i) => {
        records[i]!.ackedId = o.task.id;
        records[i]!.created = o.created;
      });
    } catch (err) {
      const error = { code: (err as { code?: string | null }).code ?? null, message: (err as Error).message.slice(0, 300) };
      for (const r of records) r.error = error;
    }
    return records.map((r) => r.ackedId);
  }

  /** Submits one spec; returns the id or the error. */
  async submitOne(master: MasterProcess, spec: NewTaskSpec): Promise<{ id: string | null; error: SubmissionRecord['error'] }> {
    await this.submit(master, [spec]);
    const r = this.submissions[this.submissions.length - 1]!;
    return { id: r.ackedId, error: r.error };
  }

  fault(kind: string, target: string | null = null, detail?: string): void {
    this.faults.push({ kind, at: Date.now(), target, ...(detail !== undefined ? { detail } : {}) });
  }

  nodeDied(nodeId: string, kind = 'SIGKILL'): void {
    this.fault(kind, nodeId);
    this.liveness.push({ nodeId, at: Date.now(), alive: false });
  }

  nodeRevived(nodeId: string): void {
    this.liveness.push({ nodeId, at: Date.now(), alive: true });
  }

  addActions(actions: Action[], effects: Record<string, ActionEffect> = {}): void {
    this.actions.push(...actions);
    Object.assign(this.actionEffects, effects);
  }

  /** Acknowledged task ids, in submission order, without repeats. */
  ackedIds(): string[] {
    return [...new Set(this.submissions.flatMap((s) => (s.ackedId ? [s.ackedId] : [])))];
  }

  /** Pulls the event log and the final snapshots from a running master. */
  async collect(master: MasterProcess): Promise<History> {
    const [events, tasks, nodes] = await Promise.all([
      master.call<FleetEvent[]>('events'),
      master.call<Task[]>('listTasks', {}),
      master.call<FleetNode[]>('listNodes'),
    ]);
    return this.history({ events, tasks, nodes });
  }

  /** Builds the history from the master's side read some other way (e.g. the backbone file). */
  history(master: { events: FleetEvent[]; tasks: Task[]; nodes: FleetNode[] }): History {
    return {
      submissions: [...this.submissions],
      events: master.events,
      tasks: master.tasks,
      nodes: master.nodes,
      faults: [...this.faults],
      liveness: [...this.liveness],
      actions: [...this.actions],
      actionEffects: { ...this.actionEffects },
      startedAt: this.startedAt,
      endedAt: Date.now(),
    };
  }

  private open(spec: NewTaskSpec, at: number): SubmissionRecord {
    const record: SubmissionRecord = {
      n: this.submissions.length,
      idempotencyKey: spec.idempotencyKey ?? null,
      payload: canonical(spec),
      ackedId: null,
      created: null,
      error: null,
      at,
    };
    this.submissions.push(record);
    return record;
  }
}
