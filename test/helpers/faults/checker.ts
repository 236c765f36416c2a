/**
 * The history checker: replays the master's ordered event log task by task, joins it with
 * the client's submission log, the final snapshots and the test's record of node deaths,
 * and reports every broken promise of DESIGN.md's "Guarantees":
 *
 *   lost            an acknowledged task that the log never heard of
 *   unfinished      an acknowledged task without a terminal result at the end
 *   duplicate       more than one accepted terminal result, or work assigned after it
 *   stale-accepted  a report of a superseded attempt (or of another node) was accepted
 *   stuck           a task left assigned/running on a dead node past the settle period
 *   idempotency     one key + one payload → two tasks; or one key + another payload accepted
 *   log-mismatch    the event log and the stored task disagree (a half-written change)
 *   half-action     an atomic action neither committed nor rolled back, or its workspace
 *                   says otherwise than its record
 *
 * Pure: a History in, a report out. Adding an invariant = adding an entry to INVARIANTS.
 */
import type { FleetEvent, TaskState } from '../../../src/core/index.js';
import type { History } from './history.js';

export type ViolationKind =
  | 'lost' | 'unfinished' | 'duplicate' | 'stale-accepted' | 'stuck' | 'idempotency' | 'log-mismatch' | 'half-action';

export interface Violation {
  kind: ViolationKind;
  /** Task id, action id, idempotency key… */
  subject: string | null;
  message: string;
}

export interface CheckOptions {
  /** A task held by a node that died must be released within this. Default 30 000 ms. */
  settleMs?: number;
  /** Every acknowledged task must have its terminal result by the end. Default true. */
  requireAllTerminal?: boolean;
}

/** One attempt held by one node, from its assignment until something released it. */
export interface Hold {
  attempt: number;
  nodeId: string;
  from: number;
  until: number | null;
}

/** A task as the event log tells it. */
export interface TaskReplay {
  id: string;
  submitted: boolean;
  state: TaskState;
  attempt: number;
  nodeId: string | null;
  /** Accepted terminal results (task.finished / task.cancelled), in order. */
  terminal: FleetEvent[];
  holds: Hold[];
  assignments: number;
  requeues: number;
  fenced: number;
  /** Event-level anomalies found while replaying. */
  anomalies: Violation[];
}

export interface Model {
  history: History;
  tasks: Map<string, TaskReplay>;
  acked: Set<string>;
  options: Required<CheckOptions>;
}

export interface Invariant {
  name: string;
  check(model: Model): Violation[];
}

export interface Figures {
  submissions: number;
  acknowledged: number;
  persistedUnacknowledged: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  assignments: number;
  requeues: number;
  fenced: number;
  faults: number;
  faultsByKind: Record<string, number>;
  actions: number;
  actionsCommitted: number;
  actionsRolledBack: number;
  lost: number;
  duplicates: number;
  staleAccepted: number;
  stuck: number;
  unfinished: number;
  violations: number;
}

export interface CheckReport {
  ok: boolean;
  violations: Violation[];
  figures: Figures;
}

const ACTIVE: readonly TaskState[] = ['assigned', 'running'];
const TERMINAL: readonly TaskState[] = ['succeeded', 'failed', 'cancelled'];

/** Replays the event log into one TaskReplay per task. */
export function replay(events: readonly FleetEvent[]): { tasks: Map<string, TaskReplay>; anomalies: Violation[] } {
  const tasks = new Map<string, TaskReplay>();
  const anomalies: Violation[] = [];
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.seq === sorted[i - 1]!.seq) anomalies.push({ kind: 'log-mismatch', subject: null, message: `event seq ${sorted[i]!.seq} appears twice` });
  }
  const get = (id: string): TaskReplay => {
    let t = tasks.get(id);
    if (!t) {
      t = { id, submitted: false, state: 'pending', attempt: 0, nodeId: null, terminal: [], holds: [], assignments: 0, requeues: 0, fenced: 0, anomalies: [] };
      tasks.set(id, t);
    }
    return t;
  };
  const release = (t: TaskReplay, at: number): void => {
    const open = t.holds[t.holds.length - 1];
    if (open && open.until === null) open.until = at;
  };
  for (const e of sorted) {
    if (!e.type.startsWith('task.') || e.subject === null) continue;
    const t = get(e.subject);
    const attempt = typeof e.data['attempt'] === 'number' ? (e.data['attempt'] as number) : null;
    const nodeId = typeof e.data['nodeId'] === 'string' ? (e.data['nodeId'] as string) : null;
    const flag = (kind: ViolationKind, message: string): void => {
      t.anomalies.push({ kind, subject: t.id, message: `${message} (event #${e.seq} ${e.type})` });
    };
    if (!t.submitted && e.type !== 'task.submitted' && e.type !== 'task.fenced') flag('log-mismatch', 'event for a task never submitted');
    const isTerminal = TERMINAL.includes(t.state);
    switch (e.type) {
      case 'task.submitted':
        if (t.submitted) flag('duplicate', 'submitted twice under one id');
        t.submitted = true;
        break;
      case 'task.assigned':
        t.assignments++;
        if (isTerminal) flag('duplicate', `assigned again (attempt ${attempt}) after its terminal result`);
        else if (t.state !== 'pending') flag('log-mismatch', `assigned while ${t.state}`);
        if (attempt !== t.attempt + 1) flag('log-mismatch', `attempt jumped from ${t.attempt} to ${attempt}`);
        release(t, e.at);
        t.state = 'assigned';
        t.attempt = attempt ?? t.attempt + 1;
        t.nodeId = nodeId;
        t.holds.push({ attempt: t.attempt, nodeId: nodeId ?? '?', from: e.at, until: null });
        break;
      case 'task.running':
        if (isTerminal) flag('stale-accepted', `start of attempt ${attempt} accepted after the terminal result`);
        else if (attempt !== t.attempt || !ACTIVE.includes(t.state)) flag('stale-accepted', `start of attempt ${attempt} accepted while the task is ${t.state} at attempt ${t.attempt}`);
        else t.state = 'running';
        break;
      case 'task.finished': {
        const state = e.data['state'] as TaskState;
        if (isTerminal) flag('duplicate', `a second terminal result (${state}, attempt ${attempt}) after ${t.state}`);
        else if (attempt !== t.attempt || !ACTIVE.includes(t.state)) flag('stale-accepted', `result of attempt ${attempt} accepted while the task is ${t.state} at attempt ${t.attempt}`);
        else if (nodeId !== null && t.nodeId !== null && nodeId !== t.nodeId) flag('stale-accepted', `result from node ${nodeId} accepted for an attempt held by ${t.nodeId}`);
        t.terminal.push(e);
        release(t, e.at);
        t.state = TERMINAL.includes(state) ? state : 'failed';
        break;
      }
      case 'task.requeued':
        t.requeues++;
        if (isTerminal) flag('duplicate', `requeued (attempt ${attempt}) after its terminal result`);
        else if (attempt !== null && (attempt !== t.attempt || !ACTIVE.includes(t.state))) flag('stale-accepted', `requeue for attempt ${attempt} applied while the task is ${t.state} at attempt ${t.attempt}`);
        release(t, e.at);
        t.state = 'pending';
        t.nodeId = null;
        break;
      case 'task.cancelled':
        if (isTerminal) flag('duplicate', `cancelled after its terminal result (${t.state})`);
        t.terminal.push(e);
        release(t, e.at);
        t.state = 'cancelled';
        break;
      case 'task.fenced':
        t.fenced++;
        break;
      default:
        break;
    }
  }
  return { tasks, anomalies };
}

/** Nodes the test saw die and not come back by the end. */
function deadAtEnd(history: History): Set<string> {
  const last = new Map<string, boolean>();
  for (const l of [...history.liveness].sort((a, b) => a.at - b.at)) last.set(l.nodeId, l.alive);
  return new Set([...last].filter(([, alive]) => !alive).map(([id]) => id));
}

export const INVARIANTS: Invariant[] = [
  {
    name: 'the event log replays cleanly (no stale or doubled transitions)',
    check: (m) => [...m.tasks.values()].flatMap((t) => t.anomalies),
  },
  {
    name: 'every acknowledged task is in the log',
    check: (m) =>
      [...m.acked].filter((id) => !m.tasks.get(id)?.submitted).map((id) => ({
        kind: 'lost' as const, subject: id, message: 'acknowledged to the client but never recorded as submitted',
      })),
  },
  {
    name: 'every acknowledged task has exactly one accepted terminal result',
    check: (m) => {
      const out: Violation[] = [];
      const dead = deadAtEnd(m.history);
      const downNodes = new Set(m.history.nodes.filter((n) => n.status === 'down' || n.status === 'left').map((n) => n.id));
      for (const id of m.acked) {
        const t = m.tasks.get(id);
        if (!t?.submitted) continue; // reported as lost
        if (t.terminal.length > 1) {
          out.push({ kind: 'duplicate', subject: id, message: `${t.terminal.length} accepted terminal results: ${t.terminal.map((e) => `#${e.seq} ${e.type} attempt ${String(e.data['attempt'])}`).join(', ')}` });
        }
        if (t.terminal.length === 0 && m.options.requireAllTerminal) {
          if (ACTIVE.includes(t.state) && t.nodeId !== null && (dead.has(t.nodeId) || downNodes.has(t.nodeId))) {
            out.push({ kind: 'stuck', subject: id, message: `still ${t.state} (attempt ${t.attempt}) on node ${t.nodeId}, which is dead/down` });
          } else {
            out.push({ kind: 'unfinished', subject: id, message: `no terminal result at the end; it is ${t.state} at attempt ${t.attempt}${t.nodeId ? ` on ${t.nodeId}` : ''}` });
          }
        }
      }
      return out;
    },
  },
  {
    name: 'no task stays held by a dead node past the settle period',
    check: (m) => {
      const out: Violation[] = [];
      const { settleMs } = m.options;
      const lives = [...m.history.liveness].sort((a, b) => a.at - b.at);
      for (const death of lives.filter((l) => !l.alive)) {
        const revival = lives.find((l) => l.alive && l.nodeId === death.nodeId && l.at >= death.at);
        const deadUntil = revival?.at ?? Number.POSITIVE_INFINITY;
        for (const t of m.tasks.values()) {
          for (const h of t.holds) {
            if (h.nodeId !== death.nodeId) continue;
            // The hold [from, until) overlaps the time the node was dead [death, revival).
            if (!(h.from < deadUntil && (h.until ?? Number.POSITIVE_INFINITY) > death.at)) continue;
            const due = Math.max(death.at, h.from) + settleMs;
            const released = h.until ?? Number.POSITIVE_INFINITY;
            if (released > due && m.history.endedAt > due) {
              out.push({
                kind: 'stuck', subject: t.id,
                message: `attempt ${h.attempt} held by node ${h.nodeId} (dead since ${death.at}) ${h.until === null ? 'was never released' : `was released only after ${h.until - death.at} ms`}`,
              });
            }
          }
        }
      }
      return out;
    },
  },
  {
    name: 'one idempotency key names one task and one payload',
    check: (m) => {
      const out: Violation[] = [];
      const byKey = new Map<string, History['submissions']>();
      for (const s of m.history.submissions) {
        if (s.idempotencyKey === null || s.ackedId === null) continue;
        byKey.set(s.idempotencyKey, [...(byKey.get(s.idempotencyKey) ?? []), s]);
      }
      for (const [key, subs] of byKey) {
        const first = subs[0]!;
        for (const s of subs.slice(1)) {
          if (s.payload !== first.payload) {
            out.push({ kind: 'idempotency', subject: key, message: `submission #${s.n} with another payload was accepted (task ${s.ackedId}) instead of refused` });
          } else if (s.ackedId !== first.ackedId) {
            out.push({ kind: 'idempotency', subject: key, message: `submission #${s.n} got task ${s.ackedId}, the first got ${first.ackedId}` });
          }
        }
      }
      return out;
    },
  },
  {
    name: 'the stored tasks are what the log says',
    check: (m) => {
      const out: Violation[] = [];
      for (const task of m.history.tasks) {
        const t = m.tasks.get(task.id);
        if (!t?.submitted) {
          out.push({ kind: 'log-mismatch', subject: task.id, message: `stored as ${task.state} but the log never saw it submitted` });
        } else if (t.state !== task.state || t.attempt !== task.attempt) {
          out.push({ kind: 'log-mismatch', subject: task.id, message: `stored ${task.state} at attempt ${task.attempt}, the log says ${t.state} at attempt ${t.attempt}` });
        }
      }
      return out;
    },
  },
  {
    name: 'atomic actions end committed or rolled back, and their workspace agrees',
    check: (m) => {
      const out: Violation[] = [];
      for (const a of m.history.actions) {
        if (!isAtomic(a.command)) continue;
        const effect = m.history.actionEffects[a.id];
        const half = (why: string): void => void out.push({ kind: 'half-action', subject: a.id, message: `${why} (phase ${a.phase}, decision ${a.decision ?? 'none'})` });
        if (a.outcome === null) half('never finished');
        if (a.phase === 'committed') {
          if (a.decision !== 'commit') half('committed without a commit decision');
          if (effect !== undefined && effect !== 'committed') half(`committed, but its workspace shows ${effect}`);
        } else if (a.phase === 'rolled-back' || (a.phase === 'failed' && a.decision === null)) {
          if (effect !== undefined && effect !== 'none') half(`${a.phase}, but its workspace shows ${effect}`);
        } else {
          half('left in doubt');
        }
      }
      return out;
    },
  },
];

function isAtomic(command: string | null): boolean {
  return command !== null && command.startsWith('{') && command.includes('"bitacora.atomic/v1"');
}

export function checkHistory(history: History, options: CheckOptions = {}): CheckReport {
  const resolved: Required<CheckOptions> = { settleMs: options.settleMs ?? 30_000, requireAllTerminal: options.requireAllTerminal ?? true };
  const { tasks, anomalies } = replay(history.events);
  const acked = new Set(history.submissions.flatMap((s) => (s.ackedId ? [s.ackedId] : [])));
  const model: Model = { history, tasks, acked, options: resolved };
  const violations = [...anomalies, ...INVARIANTS.flatMap((inv) => inv.check(model))];
  return { ok: violations.length === 0, violations, figures: figuresOf(model, violations) };
}

function figuresOf(m: Model, violations: Violation[]): Figures {
  const count = (kind: ViolationKind): number => violations.filter((v) => v.kind === kind).length;
  const faultsByKind: Record<string, number> = {};
  for (const f of m.history.faults) faultsByKind[f.kind] = (faultsByKind[f.kind] ?? 0) + 1;
  const all = [...m.tasks.values()];
  const atomic = m.history.actions.filter((a) => isAtomic(a.command));
  return {
    submissions: m.history.submissions.length,
    acknowledged: m.acked.size,
    persistedUnacknowledged: all.filter((t) => t.submitted && !m.acked.has(t.id)).length,
    succeeded: all.filter((t) => t.state === 'succeeded').length,
    failed: all.filter((t) => t.state === 'failed').length,
    cancelled: all.filter((t) => t.state === 'cancelled').length,
    assignments: all.reduce((n, t) => n + t.assignments, 0),
    requeues: all.reduce((n, t) => n + t.requeues, 0),
    fenced: all.reduce((n, t) => n + t.fenced, 0),
    faults: m.history.faults.length,
    faultsByKind,
    actions: atomic.length,
    actionsCommitted: atomic.filter((a) => a.phase === 'committed').length,
    actionsRolledBack: atomic.filter((a) => a.phase === 'rolled-back').length,
    lost: count('lost'),
    duplicates: count('duplicate'),
    staleAccepted: count('stale-accepted'),
    stuck: count('stuck'),
    unfinished: count('unfinished'),
    violations: violations.length,
  };
}

/** A readable report for assertion messages and the soak's summary. */
export function formatReport(report: CheckReport, maxViolations = 40): string {
  const f = report.figures;
  const lines = [
    `history check: ${report.ok ? 'OK' : `${report.violations.length} VIOLATION(S)`}`,
    `  tasks: ${f.acknowledged} acknowledged (${f.submissions} submissions, ${f.persistedUnacknowledged} persisted without ack); ` +
      `${f.succeeded} succeeded, ${f.failed} failed, ${f.cancelled} cancelled`,
    `  attempts: ${f.assignments} assignments, ${f.requeues} requeues, ${f.fenced} fenced reports`,
    `  faults: ${f.faults} ${JSON.stringify(f.faultsByKind)}; atomic actions: ${f.actions} (${f.actionsCommitted} committed, ${f.actionsRolledBack} rolled back)`,
    `  lost ${f.lost}, duplicates ${f.duplicates}, stale accepted ${f.staleAccepted}, stuck ${f.stuck}, unfinished ${f.unfinished}`,
  ];
  for (const v of report.violations.slice(0, maxViolations)) lines.push(`  ✗ ${v.kind} ${v.subject ?? ''}: ${v.message}`);
  if (report.violations.length > maxViolations) lines.push(`  … and ${report.violations.length - maxViolations} more`);
  return lines.join('\n');
}
