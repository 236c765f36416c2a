/** AtomicAction: phases persisted before acting, rollback on any failure, exact summaries. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActionPhase } from '../core/index.js';
import type { AtomicStep } from '../core/pipeline/index.js';
import { AtomicAction, decodePlan } from './atomic-action.js';
import type { EngineDeps, StepContext } from './context.js';
import { progressEmitter } from './progress.js';
import { MemoryLogbook } from './testing/memory-logbook.js';
import { FakeRunner, type FakeOutcome } from './testing/fakes.js';

const step = (extra: Partial<AtomicStep> = {}): AtomicStep => ({
  kind: 'action', name: 'deploy', type: 'deploy', risk: null, validate: 'validate', prepare: 'prepare', commit: 'commit',
  rollback: 'rollback', timeoutMs: null, participants: [], env: {}, needs: [], ...extra,
});

/** A resource the commands act on, to check what state an action leaves behind. */
interface World {
  prepared: boolean;
  committed: boolean;
}

async function setup(outcomeOf: (command: string, attempt: number) => FakeOutcome) {
  const logbook = new MemoryLogbook();
  const world: World = { prepared: false, committed: false };
  const seen: Array<{ command: string; phase: ActionPhase; decision: string | null }> = [];
  const attempts = new Map<string, number>();
  let actionId = '';
  const runner = new FakeRunner(async (line) => {
    const action = (await logbook.actions.get(actionId))!;
    seen.push({ command: line, phase: action.phase, decision: action.decision });
    const attempt = (attempts.get(line) ?? 0) + 1;
    attempts.set(line, attempt);
    const outcome = outcomeOf(line, attempt);
    const ok = (outcome.exitCode ?? 0) === 0 && !outcome.error && !outcome.delayMs;
    // Worst case: a prepare that failed or timed out may still have prepared something.
    if (line === 'prepare') world.prepared = true;
    if (ok && line === 'commit') Object.assign(world, { prepared: false, committed: true });
    if (ok && line === 'rollback') world.prepared = false;
    return outcome;
  });
  const now = Date.now();
  await logbook.projects.create({ name: 'p' }, now);
  const topic = await logbook.topics.create({ project: 'p', title: 't' }, now);
  const deps: EngineDeps = {
    runner, clock: { now: () => Date.now() }, logbook,
    settings: { defaultTimeoutMs: null, killGraceMs: undefined, outputLimitBytes: undefined, capabilities: null, outputTailChars: 100 },
    emit: progressEmitter((e) => {
      if (e.type === 'action.phase') actionId = e.actionId;
    }, Date.now),
  };
  const ctx = (signal = new AbortController().signal): StepContext => ({
    sessionId: null, project: 'p', topic: { slug: 't', id: topic.id }, step: 'deploy', cwd: '/w', env: { P: '1' }, signal,
  });
  return { logbook, world, seen, runner, atomic: new AtomicAction(deps), ctx };
}

describe('AtomicAction', () => {
  it('commits: validate, prepare, commit — each phase persisted before its command runs', async () => {
    const { atomic, ctx, seen, world, logbook } = await setup(() => ({}));
    const outcome = await atomic.execute(step(), ctx());
    expect(outcome).toMatchObject({ ok: true, phase: 'committed', summary: 'validate ok, prepare ok, commit ok' });
    expect(seen).toEqual([
      { command: 'validate', phase: 'validating', decision: null },
      { command: 'prepare', phase: 'preparing', decision: null },
      { command: 'commit', phase: 'committing', decision: 'commit' },
    ]);
    expect(world).toEqual({ prepared: false, committed: true });
    const action = (await logbook.actions.get(outcome.actionId))!;
    expect(action).toMatchObject({ phase: 'committed', decision: 'commit', type: 'deploy', outcome: { error: null, exitCode: 0 } });
    expect(decodePlan(action.command)).toMatchObject({ prepare: 'prepare', rollback: 'rollback', cwd: '/w', env: { P: '1' } });
  });

  it('a failing validate prepares nothing', async () => {
    const { atomic, ctx, seen, logbook } = await setup((c) => (c === 'validate' ? { exitCode: 1 } : {}));
    const outcome = await atomic.execute(step(), ctx());
    expect(outcome).toMatchObject({ ok: false, phase: 'failed', summary: 'validate failed (exit 1); nothing prepared' });
    expect(seen.map((s) => s.command)).toEqual(['validate']);
    expect((await logbook.actions.get(outcome.actionId))!.decision).toBeNull();
  });

  it('a failing prepare decides abort and rolls back', async () => {
    const { atomic, ctx, seen, logbook } = await setup((c) => (c === 'prepare' ? { exitCode: 2 } : {}));
    const outcome = await atomic.execute(step({ validate: null }), ctx());
    expect(outcome).toMatchObject({ ok: false, phase: 'rolled-back', summary: 'prepare failed (exit 2), rolled back' });
    expect(seen.at(-1)).toEqual({ command: 'rollback', phase: 'rolling-back', decision: 'abort' });
    expect((await logbook.actions.get(outcome.actionId))!.outcome).toMatchObject({ error: 'prepare failed (exit 2)', exitCode: 2 });
  });

  it('a failing commit rolls back and says so', async () => {
    const { atomic, ctx, world } = await setup((c) => (c === 'commit' ? { exitCode: 3 } : {}));
    const outcome = await atomic.execute(step({ validate: null }), ctx());
    expect(outcome.summary).toBe('prepare ok, commit failed (exit 3), rolled back');
    expect(outcome.phase).toBe('rolled-back');
    expect(world.prepared).toBe(false);
  });

  it('retries a failing rollback, then reports manual attention', async () => {
    const flaky = await setup((c, n) => (c === 'prepare' ? { exitCode: 1 } : c === 'rollback' && n < 2 ? { exitCode: 1 } : {}));
    expect((await flaky.atomic.execute(step({ validate: null }), flaky.ctx())).summary).toBe('prepare failed (exit 1), rolled back (attempt 2)');
    const broken = await setup((c) => (c === 'prepare' || c === 'rollback' ? { exitCode: 1 } : {}));
    const outcome = await broken.atomic.execute(step({ validate: null }), broken.ctx());
    expect(outcome.phase).toBe('failed');
    expect(outcome.summary).toMatch(/^prepare failed \(exit 1\), rollback failed \(exit 1\) — prepared state may remain, needs manual attention$/);
  });

  it('cancel during prepare rolls back; commit and rollback are not cancellable', async () => {
    const { atomic, ctx, runner, seen } = await setup((c) => (c === 'prepare' ? { delayMs: 10_000 } : {}));
    const controller = new AbortController();
    const running = atomic.execute(step({ validate: null }), ctx(controller.signal));
    setTimeout(() => controller.abort(), 20);
    const outcome = await running;
    expect(outcome).toMatchObject({ phase: 'rolled-back', summary: 'prepare failed (cancelled), rolled back' });
    expect(seen.map((s) => s.command)).toEqual(['prepare', 'rollback']);
    expect(runner.calls.find((c) => c.line === 'rollback')!.request.signal).toBeUndefined();
  });

  it('property: failing at any step leaves no prepared state behind', async () => {
    const failure = fc.oneof(
      fc.constant<FakeOutcome>({ exitCode: 1 }),
      fc.constant<FakeOutcome>({ exitCode: 127 }),
      fc.constant<FakeOutcome>({ error: 'spawn-failed: command not found: x' }),
      fc.constant<FakeOutcome>({ delayMs: 50 }), // with the 5 ms timeout below: a timeout
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('validate', 'prepare', 'commit', 'none'),
        failure,
        fc.integer({ min: 0, max: 2 }), // failing rollback attempts (3 are allowed)
        fc.boolean(),
        async (failAt, how, rollbackFailures, hasValidate) => {
          const { atomic, ctx, world, logbook } = await setup((c, n) => {
            if (c === failAt) return how;
            if (c === 'rollback' && n <= rollbackFailures) return { exitCode: 1 };
            return {};
          });
          const outcome = await atomic.execute(step({ validate: hasValidate ? 'validate' : null, timeoutMs: 5 }), ctx());
          const action = (await logbook.actions.get(outcome.actionId))!;
          expect(world.prepared).toBe(false);
          expect(['committed', 'rolled-back', 'failed']).toContain(action.phase);
          expect(action.outcome).not.toBeNull();
          expect(await logbook.actions.inDoubt()).toEqual([]);
          if (failAt === 'none' || (failAt === 'validate' && !hasValidate)) expect(action.phase).toBe('committed');
          else expect(world.committed).toBe(false);
        },
      ),
      { numRuns: 120 },
    );
  });
});
