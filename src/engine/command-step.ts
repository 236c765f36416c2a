/**
 * A plain command step: run once, logged as an Action record (phase validating → succeeded
 * or failed, with command, outcome and timing). The record is created before the command
 * starts, so a crash mid-command leaves it in doubt and recovery marks it failed.
 */
import type { CommandStep } from '../core/pipeline/index.js';
import { describeRun, inferActionType, printable, runShell, succeeded, type EngineDeps, type StepContext } from './context.js';

export interface CommandStepOutcome {
  ok: boolean;
  summary: string;
  actionId: string;
}

export async function runCommandStep(deps: EngineDeps, step: CommandStep, ctx: StepContext, topicTitle: string): Promise<CommandStepOutcome> {
  const { actions } = deps.logbook;
  const action = await actions.create(
    {
      sessionId: ctx.sessionId,
      topicId: ctx.topic.id,
      project: ctx.project,
      type: step.type ?? inferActionType(step.name, ctx.topic.slug, topicTitle),
      description: printable(`${step.name}: ${step.run}`, 4000),
      tags: ['pipeline', `topic:${ctx.topic.slug}`],
      command: step.run,
      phase: 'validating',
    },
    deps.clock.now(),
  );
  const emitPhase = (phase: 'validating' | 'succeeded' | 'failed'): void =>
    deps.emit({ type: 'action.phase', project: ctx.project, topic: ctx.topic.slug, step: ctx.step, actionId: action.id, phase });
  emitPhase('validating');

  const result = await runShell(deps, { ...ctx, env: { ...ctx.env, ...step.env } }, step.run, { timeoutMs: step.timeoutMs });
  const ok = succeeded(result);
  const summary = ok ? 'exit 0' : describeRun(result);
  const phase = ok ? 'succeeded' : 'failed';
  await actions.setPhase(action.id, phase, deps.clock.now());
  await actions.finish(
    action.id,
    { exitCode: result.exitCode, durationMs: Math.max(0, Math.round(result.durationMs)), error: ok ? null : summary, summary: printable(summary, 2000) },
    deps.clock.now(),
  );
  emitPhase(phase);
  return { ok, summary, actionId: action.id };
}
