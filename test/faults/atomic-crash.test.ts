/**
 * Fault 5: SIGKILL of the process running an atomic action, at each point of its two-phase
 * commit — above all between prepare and commit. The next start (as `bitacora pipeline run
 * --local` does: kill what the crashed incarnation left running, then recoverInDoubtActions)
 * must finish the job: no decision recorded = abort = roll back; a recorded commit decision =
 * commit. The logbook must say what happened and the
 * workspace must agree with it: committed or rolled back, never half.
 * (test/engine/crash-recovery.test.ts covers 'preparing' and 'committing' in detail.)
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteBackbone } from '../../src/store/sqlite/index.js';
import { checkHistory, formatReport } from '../helpers/faults/checker.js';
import { crashAtomicAction, CRASH_POINTS, effectIn, runEngine, type CrashPoint } from '../helpers/faults/engine.js';
import { emptyHistory } from '../helpers/faults/history.js';
import { processesWithEnv, TAG_VAR } from '../helpers/faults/procs.js';
import { FaultScope } from '../helpers/faults/fleet.js';

const scope = new FaultScope();
afterEach(() => scope.dispose());

const EXPECTED: Record<CrashPoint, { to: 'committed' | 'rolled-back'; decision: 'commit' | 'abort'; effect: 'committed' | 'none' }> = {
  preparing: { to: 'rolled-back', decision: 'abort', effect: 'none' },
  prepared: { to: 'rolled-back', decision: 'abort', effect: 'none' },
  committing: { to: 'committed', decision: 'commit', effect: 'committed' },
  'rolling-back': { to: 'rolled-back', decision: 'abort', effect: 'none' },
};

describe('fault 5: SIGKILL of the engine in the middle of an atomic action', () => {
  for (const point of CRASH_POINTS) {
    it(`crash at '${point}': the next start ${EXPECTED[point].to === 'committed' ? 're-drives the commit' : 'rolls back'} and the logbook says so`, { timeout: 60_000 }, async () => {
      const result = await crashAtomicAction(scope.dir(), point, scope.tag);
      const expected = EXPECTED[point];
      // The crash really left it in doubt: staged, not published, not finished.
      expect(result.effectAfterCrash).toBe('prepared');
      const report = result.recovered.lines.find((l) => l['event'] === 'recovered')?.['report'];
      expect(report).toEqual([expect.objectContaining({ actionId: result.action.id, from: point, to: expected.to })]);

      expect(result.action).toMatchObject({ phase: expected.to, decision: expected.decision });
      expect(result.action.outcome?.summary).toContain(`recovered after a crash in phase ${point}`);
      expect(result.effect).toBe(expected.effect);
      // The next start killed whatever the crashed incarnation left running (e.g. the
      // 'preparing' point's `sleep 300`) before it recovered.
      expect(processesWithEnv(TAG_VAR, scope.tag)).toEqual([]);
      // The event log records the recovery's own phase changes, ending where the record ends.
      const phases = result.events.filter((e) => e.type === 'action.phase' && typeof e.data['to'] === 'string').map((e) => e.data['to']);
      expect(phases.at(-1)).toBe(expected.to);

      const history = { ...emptyHistory(), actions: [result.action], actionEffects: { [result.action.id]: result.effect } };
      const checked = checkHistory(history);
      expect(checked.ok, formatReport(checked)).toBe(true);
      expect(checked.figures.actions).toBe(1);
    });
  }

  // B2 (RELIABILITY.md, fixed): the crashed incarnation's prepare command lives on in its own
  // process group. The next start kills every process carrying the logbook's owner marker
  // BEFORE it rolls back, so the orphan can never stage its change after the rollback.
  it('a prepare still running when the engine dies is killed before the rollback and stages nothing', { timeout: 60_000 }, async () => {
    const dir = scope.dir();
    const db = join(dir, 'bitacora.db');
    const workspaces = join(dir, 'workspaces');
    const workspace = join(workspaces, 'late-prepare');
    const pipeline = join(dir, 'late.yaml');
    // The orphan would stage its change long after any recovery: only a kill can stop it.
    writeFileSync(pipeline, [
      `project: { name: late-prepare, env: { ${TAG_VAR}: "${scope.tag}" } }`,
      'topics:', '  - id: release', '    steps:', '      - action:', '          name: deploy',
      '          prepare: touch started.flag && sleep 30 && touch staged.flag',
      '          commit: mv staged.flag live.flag', '          rollback: rm -f staged.flag',
    ].join('\n'));
    const crashed = await runEngine({ db, workspaces, pipeline }, () => existsSync(join(workspace, 'started.flag')));
    expect(crashed.signal).toBe('SIGKILL');
    // The crash left the prepare running (what B2 was about).
    expect(processesWithEnv(TAG_VAR, scope.tag).length).toBeGreaterThan(0);

    const recovered = await runEngine({ db, workspaces, recover: true });
    const line = recovered.lines.find((l) => l['event'] === 'recovered');
    expect(line?.['killed'], JSON.stringify(recovered.lines)).toBeGreaterThan(0);
    // Nothing of the crashed prepare is left to act after the rollback.
    expect(processesWithEnv(TAG_VAR, scope.tag)).toEqual([]);
    const backbone = await openSqliteBackbone({ file: db });
    const [action] = await backbone.actions.list({ project: 'late-prepare' });
    await backbone.close();
    expect(action).toMatchObject({ phase: 'rolled-back', decision: 'abort' });
    expect(line?.['report']).toEqual([expect.objectContaining({ actionId: action!.id, from: 'preparing', to: 'rolled-back' })]);
    const checked = checkHistory({ ...emptyHistory(), actions: [action!], actionEffects: { [action!.id]: effectIn(workspace) } });
    expect(checked.ok, formatReport(checked)).toBe(true);
    expect(effectIn(workspace)).toBe('none');
  });
});
