/**
 * The history checker judged on hand-made histories: it must pass a correct run and catch a
 * lost task, a double result, an accepted stale attempt, a stuck task, a broken idempotency
 * key, a log that disagrees with the store and a half-done atomic action. A property test
 * drives it with random correct executions (must pass) and random corruptions (must fail).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action, EventType, FleetEvent, FleetNode, Task, TaskState } from '../../src/core/index.js';
import { checkHistory, formatReport, type ViolationKind } from '../helpers/faults/checker.js';
import { emptyHistory, type History } from '../helpers/faults/history.js';

/** Builds a history event by event, like the master's log would. */
class Script {
  readonly h: History = emptyHistory(1_000);
  private seq = 0;
  private now = 1_000;
  private readonly tasks = new Map<string, { state: TaskState; attempt: number; nodeId: string | null }>();

  event(type: EventType, subject: string | null, data: Record<string, unknown> = {}, at = this.tick()): FleetEvent {
    const e: FleetEvent = { seq: ++this.seq, at, type, subject, data };
    this.h.events.push(e);
    return e;
  }

  tick(ms = 10): number {
    this.now += ms;
    return this.now;
  }

  submit(id: string, options: { acked?: boolean; key?: string; payload?: string } = {}): this {
    this.event('task.submitted', id, { kind: 'spark' });
    this.tasks.set(id, { state: 'pending', attempt: 0, nodeId: null });
    if (options.acked !== false) {
      this.h.submissions.push({
        n: this.h.submissions.length, idempotencyKey: options.key ?? null, payload: options.payload ?? `{"id":"${id}"}`,
        ackedId: id, created: true, error: null, at: this.now,
      });
    }
    return this;
  }

  assign(id: string, nodeId: string): this {
    const t = this.tasks.get(id)!;
    t.attempt++;
    t.state = 'assigned';
    t.nodeId = nodeId;
    this.event('task.assigned', id, { nodeId, attempt: t.attempt });
    return this;
  }

  running(id: string, attempt = this.tasks.get(id)!.attempt): this {
    const t = this.tasks.get(id)!;
    if (attempt === t.attempt) t.state = 'running';
    this.event('task.running', id, { nodeId: t.nodeId, attempt });
    return this;
  }

  finish(id: string, attempt = this.tasks.get(id)!.attempt, state: 'succeeded' | 'failed' = 'succeeded'): this {
    const t = this.tasks.get(id)!;
    this.event('task.finished', id, { state, attempt, nodeId: t.nodeId, exitCode: state === 'succeeded' ? 0 : 1, error: null, durationMs: 5 });
    t.state = state;
    return this;
  }

  requeue(id: string, reason = 'node lost'): this {
    const t = this.tasks.get(id)!;
    this.event('task.requeued', id, { reason, attempt: t.attempt, nodeId: t.nodeId, infraFailures: 1 });
    t.state = 'pending';
    t.nodeId = null;
    return this;
  }

  cancel(id: string): this {
    const t = this.tasks.get(id)!;
    this.event('task.cancelled', id, { reason: 'user', from: t.state, attempt: t.attempt, nodeId: t.nodeId });
    t.state = 'cancelled';
    return this;
  }

  /** The store's view after a raw event (so the snapshot matches the log). */
  set(id: string, state: TaskState): this {
    this.tasks.get(id)!.state = state;
    return this;
  }

  fenced(id: string, attempt: number): this {
    this.event('task.fenced', id, { attempt, what: 'taskFinished' });
    return this;
  }

  died(nodeId: string): this {
    this.h.liveness.push({ nodeId, at: this.now, alive: false });
    this.h.faults.push({ kind: 'SIGKILL', at: this.now, target: nodeId });
    return this;
  }

  revived(nodeId: string): this {
    this.h.liveness.push({ nodeId, at: this.now, alive: true });
    return this;
  }

  /** Snapshots as the store would have them, from the script's own bookkeeping. */
  end(nodes: Array<[string, FleetNode['status']]> = [['w1', 'ready'], ['w2', 'ready']]): History {
    this.h.tasks = [...this.tasks].map(([id, t]) => ({ id, state: t.state, attempt: t.attempt, nodeId: t.nodeId }) as unknown as Task);
    this.h.nodes = nodes.map(([id, status]) => ({ id, status }) as unknown as FleetNode);
    this.h.endedAt = this.tick(60_000);
    return this.h;
  }
}

function kinds(h: History): ViolationKind[] {
  return checkHistory(h, { settleMs: 5_000 }).violations.map((v) => v.kind);
}

function action(id: string, phase: Action['phase'], decision: Action['decision'], finished = true): Action {
  return {
    id, sessionId: null, topicId: null, project: 'p', type: 'deploy', description: 'atomic action deploy', tags: ['atomic'], startedAt: 1, endedAt: 2,
    command: JSON.stringify({ kind: 'bitacora.atomic/v1', name: 'deploy', validate: null, prepare: 'p', commit: 'c', rollback: 'r', cwd: '/x', env: {}, timeoutMs: null }),
    participants: [], phase, decision, outcome: finished ? { exitCode: 0, durationMs: 1, error: null, summary: 's' } : null,
  };
}

describe('history checker', () => {
  it('passes a correct history with a failover, a fenced late result and a cancel', () => {
    const s = new Script();
    s.submit('t1').submit('t2').submit('t3');
    s.assign('t1', 'w1').running('t1').assign('t2', 'w1').running('t2').assign('t3', 'w2');
    s.died('w1').requeue('t1').requeue('t2');
    s.assign('t1', 'w2').running('t1').finish('t1').fenced('t1', 1);
    s.assign('t2', 'w2').finish('t2');
    s.cancel('t3');
    const report = checkHistory(s.end([['w1', 'down'], ['w2', 'ready']]), { settleMs: 5_000 });
    expect(report.violations).toEqual([]);
    expect(report.figures).toMatchObject({ acknowledged: 3, succeeded: 2, cancelled: 1, assignments: 5, requeues: 2, fenced: 1, faults: 1, lost: 0, duplicates: 0 });
    expect(formatReport(report)).toContain('history check: OK');
  });

  it('catches a lost task: acknowledged, never in the log', () => {
    const s = new Script();
    s.submit('t1').assign('t1', 'w1').finish('t1');
    const h = s.end();
    h.submissions.push({ n: 9, idempotencyKey: null, payload: '{}', ackedId: 'tsk_gone', created: true, error: null, at: 5 });
    expect(kinds(h)).toEqual(['lost']);
  });

  it('catches an acknowledged task that never got a terminal result', () => {
    const s = new Script();
    s.submit('t1').submit('t2').assign('t1', 'w1').finish('t1');
    expect(kinds(s.end())).toEqual(['unfinished']);
  });

  it('catches a double result: two accepted terminal results for one task', () => {
    const s = new Script();
    s.submit('t1').assign('t1', 'w1').running('t1').finish('t1');
    s.event('task.finished', 't1', { state: 'succeeded', attempt: 1, nodeId: 'w1' });
    expect(kinds(s.end())).toEqual(['duplicate', 'duplicate']); // the event, and the count
  });

  it('catches work assigned again after the terminal result', () => {
    const s = new Script();
    s.submit('t1').assign('t1', 'w1').finish('t1');
    s.event('task.assigned', 't1', { nodeId: 'w2', attempt: 2 });
    const h = s.end();
    expect(kinds(h)).toContain('duplicate');
  });

  it('catches an accepted stale attempt: the result of attempt 1 after attempt 2 was assigned', () => {
    const s = new Script();
    s.submit('t1').assign('t1', 'w1').running('t1').died('w1').requeue('t1').assign('t1', 'w2').running('t1');
    s.finish('t1', 1); // the late result of the superseded attempt was accepted
    const report = checkHistory(s.end([['w1', 'down'], ['w2', 'ready']]), { settleMs: 5_000 });
    expect(report.violations.map((v) => v.kind)).toEqual(['stale-accepted']);
    expect(report.violations[0]!.message).toContain('attempt 1');
  });

  it('catches a stale start and a result accepted from a requeued (pending) task', () => {
    const s = new Script();
    s.submit('t1').submit('t2');
    s.assign('t1', 'w1').requeue('t1').assign('t1', 'w2').running('t1', 1).finish('t1');
    s.assign('t2', 'w1').requeue('t2');
    s.event('task.finished', 't2', { state: 'succeeded', attempt: 1, nodeId: 'w1' });
    s.set('t2', 'succeeded');
    expect(kinds(s.end())).toEqual(['stale-accepted', 'stale-accepted']);
  });

  it('catches a result accepted from a node that did not hold the attempt', () => {
    const s = new Script();
    s.submit('t1').assign('t1', 'w1');
    s.event('task.finished', 't1', { state: 'succeeded', attempt: 1, nodeId: 'w2' });
    s.set('t1', 'succeeded');
    expect(kinds(s.end())).toEqual(['stale-accepted']);
  });

  it('catches a stuck task: still running on a node that died and never came back', () => {
    const s = new Script();
    s.submit('t1').submit('t2').assign('t1', 'w1').running('t1').assign('t2', 'w2').finish('t2');
    s.died('w1');
    const report = checkHistory(s.end([['w1', 'down'], ['w2', 'ready']]), { settleMs: 5_000 });
    expect(report.violations.map((v) => v.kind)).toEqual(['stuck', 'stuck']); // at the end, and past the settle period
    expect(report.figures.stuck).toBe(2);
  });

  it('catches a task released only long after its node died, even if it finished later', () => {
    const s = new Script();
    s.submit('t1').assign('t1', 'w1').running('t1').died('w1');
    s.tick(20_000);
    s.requeue('t1').assign('t1', 'w2').finish('t1');
    expect(kinds(s.end())).toEqual(['stuck']);
    // Released within the settle period: fine.
    const ok = new Script();
    ok.submit('t1').assign('t1', 'w1').running('t1').died('w1');
    ok.tick(2_000);
    ok.requeue('t1').assign('t1', 'w2').finish('t1');
    expect(kinds(ok.end())).toEqual([]);
  });

  it('does not blame a node that came back and released its tasks through SyncState', () => {
    const s = new Script();
    s.submit('t1').assign('t1', 'w1').died('w1');
    s.tick(1_000);
    s.revived('w1').requeue('t1').assign('t1', 'w1').finish('t1');
    expect(kinds(s.end())).toEqual([]);
  });

  it('catches a broken idempotency key: same payload two tasks, other payload accepted', () => {
    const s = new Script();
    s.submit('t1', { key: 'k', payload: 'A' }).submit('t2', { key: 'k', payload: 'A' }).submit('t3', { key: 'k', payload: 'B' });
    for (const id of ['t1', 't2', 't3']) s.assign(id, 'w1').finish(id);
    expect(kinds(s.end()).sort()).toEqual(['idempotency', 'idempotency']);
    // The correct behaviour: the same id back, the other payload refused.
    const ok = new Script();
    ok.submit('t1', { key: 'k', payload: 'A' }).assign('t1', 'w1').finish('t1');
    ok.h.submissions.push({ n: 1, idempotencyKey: 'k', payload: 'A', ackedId: 't1', created: false, error: null, at: 1 });
    ok.h.submissions.push({ n: 2, idempotencyKey: 'k', payload: 'B', ackedId: null, created: null, error: { code: 'BIT_ERR_IDEMPOTENCY_MISMATCH', message: 'x' }, at: 1 });
    expect(kinds(ok.end())).toEqual([]);
  });

  it('catches a store that disagrees with its log (a half-written change)', () => {
    const s = new Script();
    s.submit('t1').assign('t1', 'w1').finish('t1');
    const h = s.end();
    h.tasks[0] = { ...h.tasks[0]!, state: 'running' };
    h.tasks.push({ id: 'tsk_ghost', state: 'pending', attempt: 0 } as unknown as Task);
    expect(kinds(h)).toEqual(['log-mismatch', 'log-mismatch']);
  });

  it('catches a half-done atomic action, and a workspace that contradicts the record', () => {
    const h = new Script().end();
    h.actions = [
      action('a-ok-commit', 'committed', 'commit'), action('a-ok-rollback', 'rolled-back', 'abort'), action('a-ok-validate', 'failed', null),
      action('a-doubt', 'prepared', null, false), action('a-rollback-failed', 'failed', 'abort'), action('a-lying', 'rolled-back', 'abort'),
    ];
    h.actionEffects = { 'a-ok-commit': 'committed', 'a-ok-rollback': 'none', 'a-ok-validate': 'none', 'a-lying': 'prepared' };
    const report = checkHistory(h);
    expect(report.violations.map((v) => v.subject)).toEqual(['a-doubt', 'a-doubt', 'a-rollback-failed', 'a-lying']);
    expect(report.violations.every((v) => v.kind === 'half-action')).toBe(true);
    expect(report.figures).toMatchObject({ actions: 6, actionsCommitted: 1, actionsRolledBack: 2 });
  });
});

/** A random but correct execution: tasks assigned, started, lost with their node, fenced, finished. */
const stepArb = fc.record({
  task: fc.nat({ max: 7 }),
  op: fc.constantFrom('assign', 'start', 'finish', 'fail', 'lose', 'fence', 'cancel'),
  node: fc.constantFrom('w1', 'w2', 'w3'),
});

function correctRun(steps: Array<{ task: number; op: string; node: string }>): Script {
  const s = new Script();
  const ids = Array.from({ length: 8 }, (_, i) => `t${i}`);
  const state = new Map(ids.map((id) => [id, { state: 'pending' as TaskState, attempt: 0 }]));
  for (const id of ids) s.submit(id);
  const live = (id: string) => state.get(id)!;
  for (const { task, op, node } of steps) {
    const id = ids[task]!;
    const t = live(id);
    const active = t.state === 'assigned' || t.state === 'running';
    if (op === 'assign' && t.state === 'pending') {
      s.assign(id, node);
      t.state = 'assigned';
      t.attempt++;
    } else if (op === 'start' && t.state === 'assigned') {
      s.running(id);
      t.state = 'running';
    } else if ((op === 'finish' || op === 'fail') && active) {
      s.finish(id, t.attempt, op === 'finish' ? 'succeeded' : 'failed');
      t.state = op === 'finish' ? 'succeeded' : 'failed';
    } else if (op === 'lose' && active) {
      s.requeue(id);
      t.state = 'pending';
    } else if (op === 'fence' && t.attempt > 0) {
      s.fenced(id, t.attempt - 1);
    } else if (op === 'cancel' && t.state !== 'succeeded' && t.state !== 'failed' && t.state !== 'cancelled') {
      s.cancel(id);
      t.state = 'cancelled';
    }
  }
  for (const id of ids) {
    const t = live(id);
    if (t.state === 'pending') s.assign(id, 'w1');
    if (t.state === 'pending' || t.state === 'assigned' || t.state === 'running') s.finish(id);
  }
  return s;
}

describe('history checker (properties)', () => {
  it('finds nothing wrong in any correct execution', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 80 }), (steps) => {
        expect(checkHistory(correctRun(steps).end()).violations).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('catches any terminal result delivered twice, wherever the copy lands', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), fc.nat(), fc.nat(), (steps, pick, where) => {
        const h = correctRun(steps).end();
        const terminal = h.events.filter((e) => e.type === 'task.finished');
        const original = terminal[pick % terminal.length]!;
        const after = h.events.filter((e) => e.seq > original.seq);
        // Insert the copy at a random place after the original, renumbering what follows.
        const at = after.length === 0 ? h.events.length : h.events.indexOf(after[where % after.length]!);
        h.events.splice(at, 0, { ...original, seq: -1 });
        h.events = h.events.map((e, i) => ({ ...e, seq: i + 1 }));
        expect(checkHistory(h).violations.map((v) => v.kind)).toContain('duplicate');
      }),
      { numRuns: 200 },
    );
  });

  it('catches the loss of any acknowledged task from the log', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), fc.nat({ max: 7 }), (steps, victim) => {
        const h = correctRun(steps).end();
        h.events = h.events.filter((e) => e.subject !== `t${victim}`);
        h.tasks = h.tasks.filter((t) => t.id !== `t${victim}`);
        expect(checkHistory(h).violations.map((v) => v.kind)).toEqual(['lost']);
      }),
      { numRuns: 100 },
    );
  });
});
