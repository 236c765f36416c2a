/**
 * Fault 5: SIGKILL of the process running an atomic action, at each point of its two-phase
 * commit — above all between prepare and commit. The next start (recoverInDoubtActions, as
 * `bitacora pipeline run` does) must finish the job: no decision recorded = abort = roll
 * back; a recorded commit decision = commit. The logbook must say what happened and the
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
import { TAG_VAR } from '../helpers/faults/procs.js';
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
      // The event log records the recovery's own phase changes, ending where the record ends.
      const phases = result.events.filter((e) => e.type === 'action.phase' && typeof e.data['to'] === 'string').map((e) => e.data['to']);
      expect(phases.at(-1)).toBe(expected.to);

      const history = { ...emptyHistory(), actions: [result.action], actionEffects: { [result.action.id]: result.effect } };
      const checked = checkHistory(history);
      expect(checked.ok, formatReport(checked)).toBe(true);
      expect(checked.figures.actions).toBe(1);
    });
  }

  // KNOWN BUG (see RELIABILITY.md, "processes of a dead incarnation"): recovery rolls back
  // while the crashed incarnation's prepare command is still running — it was spawned in its
  // own process group and nothing kills it — so it stages its change AFTER the rollback and
  // the action ends "rolled-back" with prepared state behind. Remove `.fails` once the
  // engine sweeps the processes of its previous incarnation before recovering.
  it.fails('a prepare still running when the engine dies cannot stage anything after the rollback', { timeout: 60_000 }, async () => {
    const dir = scope.dir();
    const db = join(dir, 'bitacora.db');
    const workspaces = join(dir, 'workspaces');
    const workspace = join(workspaces, 'late-prepare');
    const pipeline = join(dir, 'late.yaml');
    writeFileSync(pipeline, [
      `project: { name: late-prepare, env: { ${TAG_VAR}: "${scope.tag}" } }`,
      'topics:', '  - id: release', '    steps:', '      - action:', '          name: deploy',
      '          prepare: touch started.flag && sleep 2 && touch staged.flag',
      '          commit: mv staged.flag live.flag', '          rollback: rm -f staged.flag',
    ].join('\n'));
    const crashed = await runEngine({ db, workspaces, pipeline }, () => existsSync(join(workspace, 'started.flag')));
    expect(crashed.signal).toBe('SIGKILL');
    await runEngine({ db, workspaces, recover: true });
    const backbone = openSqliteBackbone({ file: db });
    const [action] = backbone.actions.list({ project: 'late-prepare' });
    backbone.close();
    expect(action).toMatchObject({ phase: 'rolled-back' });
    // Past the orphaned prepare's sleep: whatever it was going to do, it has done.
    await new Promise((r) => setTimeout(r, 3000));
    const checked = checkHistory({ ...emptyHistory(), actions: [action!], actionEffects: { [action!.id]: effectIn(workspace) } });
    expect(checked.ok, formatReport(checked)).toBe(true);
  });
});
