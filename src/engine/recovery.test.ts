/** recoverInDoubtActions: every in-doubt phase is resolved by the documented rule. */
import { describe, expect, it } from 'vitest';
import type { ActionPhase } from '../core/index.js';
import { encodePlan, type AtomicPlan } from './atomic-action.js';
import type { EngineDeps } from './context.js';
import { progressEmitter, type ProgressEvent } from './progress.js';
import { recoverInDoubtActions } from './recovery.js';
import { MemoryLogbook } from './testing/memory-logbook.js';
import { FakeRunner, type FakeOutcome } from './testing/fakes.js';

const plan: AtomicPlan = {
  kind: 'bitacora.atomic/v1', name: 'deploy', validate: 'validate', prepare: 'prepare', commit: 'commit', rollback: 'rollback',
  cwd: '/w/p', env: { K: 'v' }, timeoutMs: 1000,
};

/** Walks a new action through `path` of phases, as a crashed engine would have left it. */
function setup(script: (line: string) => FakeOutcome = () => ({})) {
  const logbook = new MemoryLogbook();
  const runner = new FakeRunner(script);
  const events: ProgressEvent[] = [];
  const deps: EngineDeps = {
    runner, clock: { now: () => Date.now() }, logbook,
    settings: { defaultTimeoutMs: null, killGraceMs: undefined, outputLimitBytes: undefined, capabilities: null, outputTailChars: 100 },
    emit: progressEmitter((e) => events.push(e), Date.now),
  };
  const leave = async (path: ActionPhase[], decision: 'commit' | 'abort' | null, command: string | null = encodePlan(plan)): Promise<string> => {
    const action = await logbook.actions.create({ description: 'x', command, phase: 'validating', project: 'p' }, 1);
    for (const phase of path) await logbook.actions.setPhase(action.id, phase, 1);
    if (decision) await logbook.actions.decide(action.id, decision, 1);
    return action.id;
  };
  return { logbook, runner, deps, leave, events };
}

describe('recoverInDoubtActions', () => {
  it('rolls back an action prepared without a commit decision', async () => {
    const { deps, leave, runner, logbook, events } = setup();
    const id = await leave(['preparing', 'prepared'], null);
    const report = await recoverInDoubtActions(deps);
    expect(report).toEqual([{ actionId: id, from: 'prepared', to: 'rolled-back', summary: 'recovered after a crash in phase prepared, rolled back' }]);
    expect(runner.lines()).toEqual(['rollback']);
    expect(runner.calls[0]!.request).toMatchObject({ cwd: '/w/p', env: { K: 'v' }, timeoutMs: 1000 });
    expect(await logbook.actions.get(id)).toMatchObject({ phase: 'rolled-back', decision: 'abort', outcome: { error: 'interrupted' } });
    expect(events).toContainEqual(expect.objectContaining({ type: 'recovery', actionId: id, to: 'rolled-back' }));
  });

  it('rolls back an action that crashed while preparing', async () => {
    const { deps, leave, runner } = setup();
    await leave(['preparing'], null);
    expect((await recoverInDoubtActions(deps))[0]!.to).toBe('rolled-back');
    expect(runner.lines()).toEqual(['rollback']);
  });

  it('re-drives the commit when commit was decided', async () => {
    const { deps, leave, runner, logbook } = setup();
    const prepared = await leave(['preparing', 'prepared'], 'commit');
    const committing = await leave(['preparing', 'prepared', 'committing'], 'commit');
    const report = await recoverInDoubtActions(deps);
    expect(report.map((r) => r.to)).toEqual(['committed', 'committed']);
    expect(runner.lines()).toEqual(['commit', 'commit']);
    expect((await logbook.actions.get(prepared))!.outcome).toMatchObject({ error: null, summary: 'recovered after a crash in phase prepared, commit ok' });
    expect((await logbook.actions.get(committing))!.phase).toBe('committed');
  });

  it('rolls back when the re-driven commit fails', async () => {
    const { deps, leave, runner } = setup((line) => (line === 'commit' ? { exitCode: 4 } : {}));
    await leave(['preparing', 'prepared', 'committing'], 'commit');
    const [r] = await recoverInDoubtActions(deps);
    expect(r).toMatchObject({ to: 'rolled-back', summary: 'recovered after a crash in phase committing, commit failed (exit 4), rolled back' });
    expect(runner.lines()).toEqual(['commit', 'rollback']);
  });

  it('finishes an interrupted rollback', async () => {
    const { deps, leave, runner } = setup();
    await leave(['preparing', 'rolling-back'], 'abort');
    expect((await recoverInDoubtActions(deps))[0]!.to).toBe('rolled-back');
    expect(runner.lines()).toEqual(['rollback']);
  });

  it('marks failed what cannot be undone: validating, and actions without a stored plan', async () => {
    const { deps, leave, runner, logbook } = setup();
    const validating = await leave([], null);
    const plain = await leave([], null, 'make build');
    const unknownPrepared = await leave(['preparing', 'prepared'], null, 'not a plan');
    const report = await recoverInDoubtActions(deps);
    expect(report.map((r) => r.to)).toEqual(['failed', 'failed', 'failed']);
    expect(runner.calls).toHaveLength(0);
    expect((await logbook.actions.get(validating))!.outcome!.summary).toBe('recovered after a crash in phase validating: nothing was prepared');
    expect((await logbook.actions.get(plain))!.outcome!.summary).toBe('recovered after a crash in phase validating: no rollback command is known');
    expect((await logbook.actions.get(unknownPrepared))!.outcome!.summary).toMatch(/no rollback command is known — needs manual attention$/);
    expect(await logbook.actions.inDoubt()).toEqual([]);
  });

  it('does nothing when nothing is in doubt', async () => {
    const { deps, runner } = setup();
    expect(await recoverInDoubtActions(deps)).toEqual([]);
    expect(runner.calls).toHaveLength(0);
  });
});
