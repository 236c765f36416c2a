/**
 * `bitacora pipeline check FILE` — validates a pipeline file and changes nothing: every
 * problem with its path and line, exit 2 on a bad file. `loadPipeline` is shared with `run`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  MAX_PIPELINE_CHARS, PipelineError, parsePipeline, topicOrder, type Pipeline, type PipelineStep,
} from '../../core/index.js';
import type { CliContext } from '../context.js';
import { ExitCode, printJson, printLine } from '../output.js';
import { action } from './shared.js';

/** Reads and parses FILE (relative to the context's cwd). Throws PipelineError for a bad file. */
export function loadPipeline(ctx: CliContext, file: string): Pipeline {
  let text: string;
  try {
    const path = resolve(ctx.cwd, file);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    // A file that cannot be read is a bad pipeline file: same code, same exit status (2).
    throw new PipelineError(`cannot read ${file}: ${reason}; check the path (relative to ${ctx.cwd})`, [
      { path: '', message: `cannot read the file: ${reason}` },
    ], { cause: err, details: { source: file } });
  }
  if (text.length > MAX_PIPELINE_CHARS) {
    throw new PipelineError(`${file}: the file is too large (more than ${MAX_PIPELINE_CHARS} characters)`, [
      { path: '', message: 'the file is too large' },
    ], { details: { source: file } });
  }
  return parsePipeline(text, file);
}

export function stepCount(step: PipelineStep): number {
  return step.kind === 'sparks' ? step.sparks.length : 1;
}

function stepSummary(step: PipelineStep): string {
  switch (step.kind) {
    case 'command': return `${step.name}: ${step.run}`;
    case 'sparks': return `${step.name}: ${step.sparks.length} sparks in parallel${step.parallel ? ` (at most ${step.parallel} at once)` : ''}`;
    case 'action': return `${step.name}: atomic ${step.type} action (${step.validate ? 'validate, ' : ''}prepare, commit, rollback)`;
  }
}

/** What a valid pipeline will do, in execution order; the `--json` shape of a passing check. */
export function pipelinePlan(pipeline: Pipeline) {
  return {
    project: pipeline.project.name,
    workspace: pipeline.project.workspace,
    strategy: pipeline.strategy,
    topics: topicOrder(pipeline).map((t) => ({
      id: t.id,
      title: t.title,
      risk: t.risk,
      dependsOn: t.dependsOn,
      steps: t.steps.map((s) => ({ name: s.name, kind: s.kind, risk: s.risk, commands: stepCount(s) })),
    })),
  };
}

export function registerPipelineCheckCommand(pipeline: Command, ctx: CliContext): void {
  pipeline
    .command('check <file>')
    .description('validate a pipeline file without running anything (exit 2 when it has problems)')
    .addHelpText('after', `
Every problem is listed with its path and line, e.g.
  topics[2].steps[0].timeout: expected a duration like 30s (line 31)

Examples:
  $ bitacora pipeline check examples/demo-pipeline.yaml
  $ bitacora pipeline check --json my-pipeline.yaml`)
    .action(action<Record<string, never>>(ctx, (run) => {
      const file = run.args[0] as string;
      let parsed: Pipeline;
      try {
        parsed = loadPipeline(ctx, file);
      } catch (err) {
        if (!(err instanceof PipelineError)) throw err;
        if (run.json) printJson(ctx, { valid: false, file, issues: err.issues });
        else ctx.stderr.write(`${err.message}\nNothing was run or changed; fix the file and check it again.\n`);
        return ExitCode.BadInput;
      }
      const plan = pipelinePlan(parsed);
      if (run.json) {
        printJson(ctx, { valid: true, file, ...plan });
        return;
      }
      const steps = parsed.topics.reduce((n, t) => n + t.steps.reduce((m, s) => m + stepCount(s), 0), 0);
      printLine(ctx, `${file}: valid — project ${plan.project} (workspace ${plan.workspace}), ${plan.topics.length} topics, ${steps} commands`);
      const ordered = topicOrder(parsed);
      const idWidth = Math.max(...ordered.map((t) => t.id.length));
      ordered.forEach((t, i) => {
        const after = t.dependsOn.length > 0 ? ` (after ${t.dependsOn.join(', ')})` : '';
        const gate = t.risk === 'high' ? ' — waits for approval' : '';
        printLine(ctx, `  ${i + 1}. ${t.id.padEnd(idWidth)}  ${t.risk.padEnd(6)}  ${t.title}${after}${gate}`);
        for (const step of t.steps) printLine(ctx, `       - ${stepSummary(step)}`);
      });
      printLine(ctx, `Run it with \`bitacora pipeline run --local ${file}\`.`);
    }));
}
