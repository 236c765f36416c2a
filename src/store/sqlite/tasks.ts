/**
 * TaskQueue on SQLite: the durable FIFO queue with fencing. Each method is one transaction
 * holding the state change and its event. The spec is stored as canonical JSON, which is also
 * what an idempotent re-submission is compared with.
 */
import { z } from 'zod';
import {
  ACTIVE_TASK_STATES, assertTransition, BitacoraError, ConflictError, ErrorCode, newId, nextAfterAssign, nextAfterCancel,
  nextAfterInfraFailure, nextAfterResult, nextAfterStart, NotFoundError, parseOrThrow, StaleAttemptError, TASK_STATES,
  TASK_TRANSITIONS, taskResultSchema, taskSpecSchema,
  type NewFleetEvent, type NewTaskSpec, type Task, type TaskChange, type TaskResult, type TaskSpec, type TaskState,
} from '../../core/index.js';
import type {
  AssignmentInput, ItemOutcome, RequeueInput, SubmitOutcome, TaskCounts, TaskFilter, TaskQueue, TaskReport,
} from '../tasks.js';
import type { Synchronous } from './synchronous.js';
import { canonicalJson, fromJson, limitOf, nonNegativeInt, timestamp, whereOf } from './codec.js';
import { refusalAfterCommit, type SqliteDb } from './db.js';
import { parseNewEvent, recordEvent } from './events.js';

interface TaskRow {
  seq: number;
  id: string;
  spec: string;
  state: TaskState;
  attempt: number;
  infra_failures: number;
  user_failures: number;
  node_id: string | null;
  exit_code: number | null;
  error: string | null;
  created_at: number;
  assigned_at: number | null;
  started_at: number | null;
  finished_at: number | null;
}

const COLUMNS = 'seq, id, spec, state, attempt, infra_failures, user_failures, node_id, exit_code, error, created_at, assigned_at, started_at, finished_at';
const INSERT = "INSERT INTO tasks (id, spec, project, idempotency_key, state, created_at) VALUES (?, ?, ?, ?, 'pending', ?)";
const UPDATE = `UPDATE tasks SET state = ?, attempt = ?, infra_failures = ?, user_failures = ?, node_id = ?, exit_code = ?, error = ?,
  assigned_at = ?, started_at = ?, finished_at = ? WHERE id = ?`;

const filterSchema = z
  .object({
    states: z.array(z.enum(TASK_STATES)).optional(),
    nodeId: z.string().optional(),
    project: z.string().optional(),
    order: z.enum(['asc', 'desc']).optional(),
    limit: z.number().int().nonnegative().optional(),
  })
  .strict();

/** Builds a Task with one fixed shape (object spread of ~25 keys is slow and deopts in V8). */
function taskOf(spec: TaskSpec, row: Omit<TaskRow, 'spec'>): Task {
  return {
    id: row.id,
    kind: spec.kind,
    project: spec.project,
    command: spec.command,
    env: spec.env,
    needs: spec.needs,
    prefers: spec.prefers,
    pinnedNode: spec.pinnedNode,
    maxRetries: spec.maxRetries,
    retryOnFailure: spec.retryOnFailure,
    timeoutMs: spec.timeoutMs,
    idempotencyKey: spec.idempotencyKey,
    estimateKey: spec.estimateKey,
    labels: spec.labels,
    state: row.state,
    attempt: row.attempt,
    infraFailures: row.infra_failures,
    userFailures: row.user_failures,
    nodeId: row.node_id,
    exitCode: row.exit_code,
    error: row.error,
    createdAt: row.created_at,
    assignedAt: row.assigned_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    seq: row.seq,
  };
}

function toTask(row: TaskRow): Task {
  return taskOf(fromJson<TaskSpec>(row.spec), row);
}

/** What the event log says about a new task (never its env: it may hold secrets). */
function submittedData(task: Task): Record<string, unknown> {
  return { kind: task.kind, project: task.project, command: task.command, needs: task.needs, pinnedNode: task.pinnedNode, labels: task.labels };
}

export class SqliteTaskQueue implements Synchronous<TaskQueue> {
  constructor(private readonly db: SqliteDb) {}

  submit(spec: NewTaskSpec, now: number): SubmitOutcome {
    const parsed = parseOrThrow(taskSpecSchema, spec, 'task spec');
    timestamp(now);
    return this.db.write('task', () => this.insert(parsed, now));
  }

  submitMany(specs: NewTaskSpec[], now: number, options: { record?: NewFleetEvent } = {}): SubmitOutcome[] {
    const record = options.record === undefined ? null : parseNewEvent(options.record);
    let parsed: TaskSpec[];
    try {
      parsed = parseOrThrow(z.array(taskSpecSchema), specs, 'task specs');
      timestamp(now);
    } catch (err) {
      // A refused submission is still an attempt on record.
      if (!record) throw err;
      this.db.write('event', () => recordEvent(this.db, record.type, record.subject, record.data, record.at ?? now));
      throw refusalAfterCommit(err as Error);
    }
    return this.db.write('task', () => {
      if (record) recordEvent(this.db, record.type, record.subject, record.data, record.at ?? now);
      try {
        return this.db.write('task', () => parsed.map((spec) => this.insert(spec, now)));
      } catch (err) {
        // The tasks roll back (their savepoint); the record stays.
        throw record ? refusalAfterCommit(err as Error) : err;
      }
    });
  }

  get(id: string): Task | null {
    const row = this.db.read(() => this.row(id));
    return row ? toTask(row) : null;
  }

  list(filter: TaskFilter = {}): Task[] {
    const f = parseOrThrow(filterSchema, filter, 'task filter');
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (f.states) {
      if (f.states.length === 0) return [];
      clauses.push(`state IN (${f.states.map(() => '?').join(', ')})`);
      params.push(...f.states);
    }
    if (f.nodeId !== undefined) {
      clauses.push('node_id = ?');
      params.push(f.nodeId);
    }
    if (f.project !== undefined) {
      clauses.push('project = ?');
      params.push(f.project);
    }
    const limit = f.limit === undefined ? '' : ' LIMIT ?';
    if (f.limit !== undefined) params.push(f.limit);
    const sql = `SELECT ${COLUMNS} FROM tasks ${whereOf(clauses)} ORDER BY seq ${f.order === 'desc' ? 'DESC' : 'ASC'}${limit}`;
    return this.db.read(() => (this.db.stmt(sql).all(...params) as TaskRow[]).map(toTask));
  }

  counts(): TaskCounts {
    const counts: TaskCounts = { pending: 0, assigned: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    const rows = this.db.read(() => this.db.stmt('SELECT state, count(*) AS n FROM tasks GROUP BY state').all() as Array<{ state: TaskState; n: number }>);
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  pending(limit: number): Task[] {
    const max = limitOf(limit) ?? 0;
    return this.db.read(() => (this.db.stmt(`SELECT ${COLUMNS} FROM tasks WHERE state = 'pending' ORDER BY seq LIMIT ?`).all(max) as TaskRow[]).map(toTask));
  }

  activeOn(nodeId: string): Task[] {
    return this.db.read(() =>
      (this.db.stmt(`SELECT ${COLUMNS} FROM tasks WHERE node_id = ? AND state IN ('assigned', 'running') ORDER BY seq`).all(nodeId) as TaskRow[]).map(toTask),
    );
  }

  assign(id: string, nodeId: string, expectedAttempt: number, now: number): Task {
    nonNegativeInt(expectedAttempt, 'expectedAttempt');
    parseOrThrow(z.string().min(1, 'must not be empty'), nodeId, 'node id');
    timestamp(now);
    return this.db.write(`task ${id}`, () => {
      const task = this.require(id);
      if (task.state !== 'pending' || task.attempt !== expectedAttempt) {
        throw new ConflictError(
          `task ${id} is no longer pending at attempt ${expectedAttempt} (it is ${task.state} at attempt ${task.attempt})`,
          { details: { taskId: id, state: task.state, attempt: task.attempt, expectedAttempt } },
        );
      }
      return this.apply(task, nextAfterAssign(task, nodeId, now), now);
    });
  }

  markRunning(id: string, attempt: number, now: number): Task {
    timestamp(now);
    return this.db.write(`task ${id}`, () => {
      const task = this.fenced(id, attempt);
      const change = nextAfterStart(task, now);
      return change ? this.apply(task, change, now) : task;
    });
  }

  complete(id: string, attempt: number, result: TaskResult, now: number): Task {
    const r = parseOrThrow(taskResultSchema, result, 'task result');
    timestamp(now);
    return this.db.write(`task ${id}`, () => {
      const task = this.fenced(id, attempt);
      return this.apply(task, nextAfterResult(task, r, now), now);
    });
  }

  requeue(id: string, attempt: number, reason: string, now: number): Task {
    timestamp(now);
    return this.db.write(`task ${id}`, () => {
      const task = this.fenced(id, attempt);
      return this.apply(task, nextAfterInfraFailure(task, reason, now), now);
    });
  }

  cancel(id: string, reason: string, now: number): Task {
    timestamp(now);
    return this.db.write(`task ${id}`, () => {
      const task = this.require(id);
      const change = nextAfterCancel(task, reason, now);
      return change ? this.apply(task, change, now) : task;
    });
  }

  assignMany(assignments: AssignmentInput[], now: number): ItemOutcome[] {
    return this.db.write('task assignments', () => assignments.map((a) => this.item(() => this.assign(a.taskId, a.nodeId, a.expectedAttempt, now))));
  }

  recordReports(reports: TaskReport[], now: number): ItemOutcome[] {
    return this.db.write('task reports', () =>
      reports.map((r) => this.item(() => (r.kind === 'started' ? this.markRunning(r.taskId, r.attempt, now) : this.complete(r.taskId, r.attempt, r.result, now)))),
    );
  }

  requeueMany(items: RequeueInput[], now: number): ItemOutcome[] {
    return this.db.write('task requeues', () => items.map((i) => this.item(() => this.requeue(i.taskId, i.attempt, i.reason, now))));
  }

  recordFenced(id: string, attempt: number, what: string, now: number): void {
    timestamp(now);
    this.db.write(`task ${id}`, () => {
      const current = this.row(id);
      recordEvent(this.db, 'task.fenced', id, { attempt, what, currentAttempt: current?.attempt ?? null, state: current?.state ?? null }, now);
    });
  }

  private insert(spec: TaskSpec, now: number): SubmitOutcome {
    const text = canonicalJson(spec);
    if (spec.idempotencyKey !== null) {
      const existing = this.db.stmt(`SELECT ${COLUMNS} FROM tasks WHERE idempotency_key = ?`).get(spec.idempotencyKey) as TaskRow | undefined;
      if (existing) {
        if (existing.spec === text) return { task: toTask(existing), created: false };
        throw new BitacoraError(
          ErrorCode.IdempotencyMismatch,
          `idempotency key '${spec.idempotencyKey}' already names task ${existing.id}, submitted with a different spec`,
          { details: { idempotencyKey: spec.idempotencyKey, taskId: existing.id } },
        );
      }
    }
    const id = newId('tsk');
    const info = this.db.stmt(INSERT).run(id, text, spec.project, spec.idempotencyKey, now);
    const task = taskOf(spec, {
      id, state: 'pending', attempt: 0, infra_failures: 0, user_failures: 0, node_id: null, exit_code: null, error: null,
      created_at: now, assigned_at: null, started_at: null, finished_at: null, seq: Number(info.lastInsertRowid),
    });
    recordEvent(this.db, 'task.submitted', id, submittedData(task), now);
    return { task, created: true };
  }

  private row(id: string): TaskRow | undefined {
    return this.db.stmt(`SELECT ${COLUMNS} FROM tasks WHERE id = ?`).get(id) as TaskRow | undefined;
  }

  private require(id: string): Task {
    const row = this.row(id);
    if (!row) throw new NotFoundError('task', id);
    return toTask(row);
  }

  /** The task, if `attempt` is its current attempt and it is assigned or running. */
  private fenced(id: string, attempt: number): Task {
    const task = this.require(id);
    if (task.attempt !== attempt || !ACTIVE_TASK_STATES.includes(task.state)) {
      throw new StaleAttemptError(id, attempt, task.attempt, { details: { state: task.state } });
    }
    return task;
  }

  /** One item of a batch verb: its own savepoint (a nested write), refused items reported, not thrown. */
  private item(fn: () => Task): ItemOutcome {
    try {
      return { ok: true, task: fn() };
    } catch (err) {
      if (err instanceof BitacoraError && err.code !== ErrorCode.StoreUnavailable && err.code !== ErrorCode.Internal) return { ok: false, error: err };
      throw err;
    }
  }

  private apply(task: Task, change: TaskChange, now: number): Task {
    this.save(task, change.next);
    recordEvent(this.db, change.event.type, task.id, change.event.data, now);
    return change.next;
  }

  private save(from: Task, next: Task): void {
    if (from.state !== next.state) assertTransition('task', TASK_TRANSITIONS, from.state, next.state);
    this.db.stmt(UPDATE).run(
      next.state, next.attempt, next.infraFailures, next.userFailures, next.nodeId, next.exitCode, next.error,
      next.assignedAt, next.startedAt, next.finishedAt, next.id,
    );
  }
}
