/**
 * Crash recovery of actions left in doubt (phase validating/preparing/prepared/committing/
 * rolling-back with no outcome). Rules, applied on start before any new work runs:
 *  - commit decided and phase prepared/committing → re-drive the commit (roll back if it fails);
 *  - phase rolling-back → finish the rollback;
 *  - preparing/prepared without a commit decision → decide abort, roll back;
 *  - validating → nothing was prepared: mark failed;
 *  - no stored plan (plain commands, unknown records) → mark failed, nothing can be re-run.
 * Call it only when no other engine is running actions in the same logbook.
 */
import type { Action, ActionPhase } from '../core/index.js';
import { runShell, type EngineDeps, type StepContext } from './context.js';
import { decodePlan, TwoPhaseDriver, type AtomicPlan, type PlanRunner } from './atomic-action.js';

export interface RecoveredAction {
  actionId: string;
  from: ActionPhase;
  to: ActionPhase;
  summary: string;
}

export type RecoveryDeps = Pick<EngineDeps, 'runner' | 'clock' | 'logbook' | 'settings' | 'emit'>;

export async function recoverInDoubtActions(deps: RecoveryDeps, options: { rollbackAttempts?: number } = {}): Promise<RecoveredAction[]> {
  const report: RecoveredAction[] = [];
  for (const action of await deps.logbook.actions.inDoubt()) {
    const to = await recoverOne(deps, action, options.rollbackAttempts);
    const summary = (await deps.logbook.actions.get(action.id))?.outcome?.summary ?? '';
    report.push({ actionId: action.id, from: action.phase, to, summary });
    deps.emit({ type: 'recovery', actionId: action.id, from: action.phase, to, summary });
  }
  return report;
}

async function recoverOne(deps: RecoveryDeps, action: Action, rollbackAttempts: number | undefined): Promise<ActionPhase> {
  const { actions } = deps.logbook;
  const now = (): number => deps.clock.now();
  const finish = async (summary: string, error: string | null): Promise<void> => {
    if ((await actions.get(action.id))?.outcome != null) return; // finished before the crash; only the phase lagged
    await actions.finish(action.id, { exitCode: null, durationMs: 0, error, summary }, now());
  };
  const plan = decodePlan(action.command);

  if (plan === null || action.phase === 'validating') {
    const what = plan === null ? 'no rollback command is known' : 'nothing was prepared';
    if (action.phase !== 'validating' && action.phase !== 'rolling-back') await actions.setPhase(action.id, 'rolling-back', now());
    await actions.setPhase(action.id, 'failed', now());
    const needsCare = plan === null && action.phase !== 'validating';
    await finish(
      `recovered after a crash in phase ${action.phase}: ${what}${needsCare ? ' — needs manual attention' : ''}`,
      'interrupted',
    );
    return 'failed';
  }

  const driver = new TwoPhaseDriver(
    deps, action.id, plan, planRunner(deps, action, plan),
    (phase) => deps.emit({ type: 'action.phase', project: action.project ?? '', topic: null, step: plan.name, actionId: action.id, phase }),
    rollbackAttempts,
  );
  driver.note(`recovered after a crash in phase ${action.phase}`);
  let to: ActionPhase;
  if (action.phase === 'rolling-back') to = await driver.rollBack('rolling-back');
  else if (action.decision === 'commit' && (action.phase === 'prepared' || action.phase === 'committing')) to = await driver.commit(action.phase);
  else to = await driver.rollBack(action.phase);
  if ((await actions.get(action.id))?.outcome == null) await driver.finish(to === 'committed' ? null : 'interrupted');
  return to;
}

/** Recovery runs the stored commands in the stored workspace and environment. */
function planRunner(deps: RecoveryDeps, action: Action, plan: AtomicPlan): PlanRunner {
  const ctx: StepContext = {
    sessionId: action.sessionId,
    project: action.project ?? '',
    topic: { slug: '', id: action.topicId ?? '' },
    step: plan.name,
    cwd: plan.cwd,
    env: plan.env,
    signal: new AbortController().signal,
  };
  return (line) => runShell(deps, ctx, line, { timeoutMs: plan.timeoutMs, cancellable: false });
}
