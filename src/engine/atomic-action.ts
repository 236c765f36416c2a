/**
 * L3 — AtomicAction: validate the state the action depends on, then a local two-phase
 * commit whose every phase is persisted (actions.setPhase) BEFORE the engine acts on it:
 *
 *   validating → preparing → prepared → [decide commit] → committing → committed
 *   any failure after prepare started → [decide abort] → rolling-back → rolled-back
 *
 * A failing commit also rolls back (the decision stays 'commit'; the phase says what
 * happened). Commit and rollback ignore cancellation once started — half a commit is worse
 * than a late one. The plan (commands, cwd, env) is stored as JSON in the action's
 * `command` field so that `recoverInDoubtActions` can finish the job after a crash.
 */
import type { ActionOutcome, ActionPhase } from '../core/index.js';
import type { AtomicStep } from '../core/pipeline/index.js';
import { describeRun, printable, runShell, succeeded, type EngineDeps, type StepContext } from './context.js';
import type { RunResult } from './ports.js';

/** What recovery needs to re-drive or undo an action; persisted in `Action.command`. */
export interface AtomicPlan {
  kind: 'bitacora.atomic/v1';
  name: string;
  validate: string | null;
  prepare: string;
  commit: string;
  rollback: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number | null;
}

export function encodePlan(plan: AtomicPlan): string {
  return JSON.stringify(plan);
}

/** The plan stored in an action's `command`, or null for plain commands and hand-logged actions. */
export function decodePlan(command: string | null): AtomicPlan | null {
  if (command === null || !command.startsWith('{')) return null;
  try {
    const value = JSON.parse(command) as Partial<AtomicPlan>;
    if (value.kind !== 'bitacora.atomic/v1' || typeof value.rollback !== 'string' || typeof value.commit !== 'string') return null;
    if (typeof value.cwd !== 'string' || typeof value.env !== 'object' || value.env === null) return null;
    return value as AtomicPlan;
  } catch {
    return null;
  }
}

export interface AtomicOutcome {
  ok: boolean;
  actionId: string;
  /** Final phase: committed, rolled-back, or failed (validate failed, or rollback failed). */
  phase: ActionPhase;
  /** "validate ok, prepare ok, commit failed (exit 3), rolled back". */
  summary: string;
}

/** Runs one command of an action; the seam recovery shares with live execution. */
export type PlanRunner = (line: string, cancellable: boolean) => Promise<RunResult>;

/**
 * Drives an action from `prepared`/`committing` (with a commit decision) or from any phase
 * that must roll back. Shared by live execution and crash recovery so both behave alike.
 */
export class TwoPhaseDriver {
  readonly parts: string[] = [];
  private lastExit: number | null = null;
  private firstError: string | null = null;
  private readonly startedAt: number;

  constructor(
    private readonly deps: Pick<EngineDeps, 'logbook' | 'clock'>,
    private readonly actionId: string,
    private readonly plan: AtomicPlan,
    private readonly run: PlanRunner,
    private readonly onPhase: (phase: ActionPhase) => void,
    private readonly rollbackAttempts = 3,
  ) {
    this.startedAt = deps.clock.now();
  }

  note(part: string, result?: RunResult): void {
    this.parts.push(part);
    if (result) this.lastExit = result.exitCode;
  }

  fail(part: string, result: RunResult): void {
    this.firstError ??= part;
    this.note(part, result);
  }

  /** Persists the phase, then reports it: the record always leads what the engine does next. */
  async setPhase(phase: ActionPhase): Promise<void> {
    await this.deps.logbook.actions.setPhase(this.actionId, phase, this.deps.clock.now());
    this.onPhase(phase);
  }

  /** prepared (or committing, on recovery) → committing → committed, rolling back on failure. */
  async commit(from: ActionPhase): Promise<ActionPhase> {
    await this.deps.logbook.actions.decide(this.actionId, 'commit', this.deps.clock.now());
    if (from !== 'committing') await this.setPhase('committing');
    const result = await this.run(this.plan.commit, false);
    if (!succeeded(result)) {
      this.fail(`commit failed (${describeRun(result)})`, result);
      return this.rollBack('committing');
    }
    this.note('commit ok', result);
    await this.setPhase('committed');
    return 'committed';
  }

  /**
   * Persists the abort decision (unless commit was already decided), then rolling-back →
   * rolled-back. Rollback is retried: it must be idempotent, and a transient failure should
   * not leave prepared state behind. If every attempt fails the action ends 'failed'.
   */
  async rollBack(from: ActionPhase): Promise<ActionPhase> {
    const current = await this.deps.logbook.actions.get(this.actionId);
    if (current?.decision == null) await this.deps.logbook.actions.decide(this.actionId, 'abort', this.deps.clock.now());
    if (from !== 'rolling-back') await this.setPhase('rolling-back');
    let last: RunResult | null = null;
    for (let attempt = 1; attempt <= this.rollbackAttempts; attempt++) {
      last = await this.run(this.plan.rollback, false);
      if (succeeded(last)) {
        this.note(attempt === 1 ? 'rolled back' : `rolled back (attempt ${attempt})`);
        await this.setPhase('rolled-back');
        return 'rolled-back';
      }
    }
    this.fail(`rollback failed (${describeRun(last!)}) — prepared state may remain, needs manual attention`, last!);
    await this.setPhase('failed');
    return 'failed';
  }

  async finish(extraError: string | null = null): Promise<ActionOutcome> {
    const outcome: ActionOutcome = {
      exitCode: this.lastExit,
      durationMs: Math.max(0, Math.round(this.deps.clock.now() - this.startedAt)),
      error: this.firstError ?? extraError,
      summary: printable(this.parts.join(', '), 2000),
    };
    await this.deps.logbook.actions.finish(this.actionId, outcome, this.deps.clock.now());
    return outcome;
  }
}

export interface AtomicActionOptions {
  /** Attempts of the rollback command before giving up (default 3). */
  rollbackAttempts?: number;
}

/** Executes atomic steps. Serial by construction: a topic awaits each step. */
export class AtomicAction {
  constructor(
    private readonly deps: EngineDeps,
    private readonly options: AtomicActionOptions = {},
  ) {}

  async execute(step: AtomicStep, ctx: StepContext): Promise<AtomicOutcome> {
    const env = { ...ctx.env, ...step.env };
    const plan: AtomicPlan = {
      kind: 'bitacora.atomic/v1', name: step.name, validate: step.validate, prepare: step.prepare, commit: step.commit,
      rollback: step.rollback, cwd: ctx.cwd, env, timeoutMs: step.timeoutMs,
    };
    const action = await this.deps.logbook.actions.create(
      {
        sessionId: ctx.sessionId, topicId: ctx.topic.id, project: ctx.project, type: step.type,
        description: printable(`atomic action ${step.name}`, 4000), tags: ['pipeline', 'atomic', `topic:${ctx.topic.slug}`],
        command: encodePlan(plan), participants: step.participants, phase: 'validating',
      },
      this.deps.clock.now(),
    );
    const onPhase = (phase: ActionPhase): void =>
      this.deps.emit({ type: 'action.phase', project: ctx.project, topic: ctx.topic.slug, step: step.name, actionId: action.id, phase });
    const stepCtx = { ...ctx, env };
    const run: PlanRunner = (line, cancellable) => runShell(this.deps, stepCtx, line, { timeoutMs: step.timeoutMs, cancellable });
    const driver = new TwoPhaseDriver(this.deps, action.id, plan, run, onPhase, this.options.rollbackAttempts);
    onPhase('validating');
    const done = async (phase: ActionPhase, extraError: string | null = null): Promise<AtomicOutcome> => {
      await driver.finish(extraError);
      return { ok: phase === 'committed', actionId: action.id, phase, summary: driver.parts.join(', ') };
    };

    if (step.validate !== null) {
      const result = await run(step.validate, true);
      if (!succeeded(result)) {
        driver.fail(`validate failed (${describeRun(result)}); nothing prepared`, result);
        await driver.setPhase('failed');
        return done('failed');
      }
      driver.note('validate ok', result);
    }
    if (ctx.signal.aborted) {
      driver.note('cancelled before prepare; nothing prepared');
      await driver.setPhase('failed');
      return done('failed', 'cancelled');
    }

    await driver.setPhase('preparing');
    const prepared = await run(step.prepare, true);
    if (!succeeded(prepared)) {
      driver.fail(`prepare failed (${describeRun(prepared)})`, prepared);
      return done(await driver.rollBack('preparing'));
    }
    driver.note('prepare ok', prepared);
    await driver.setPhase('prepared');
    if (ctx.signal.aborted) {
      driver.note('cancelled before commit');
      return done(await driver.rollBack('prepared'), 'cancelled');
    }
    return done(await driver.commit('prepared'));
  }
}
