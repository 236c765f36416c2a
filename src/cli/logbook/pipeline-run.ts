/**
 * `bitacora pipeline run --local FILE` — runs a pipeline on this machine through the local
 * four-level engine with a live progress display; high-risk topics wait for approval
 * (`bitacora approve ID` from any terminal, the y/N prompt on a TTY, or `--yes`).
 * Exit 0 when every project completed, 1 when work failed or stopped, 2 on a bad file.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { BitacoraError, ErrorCode, formatDuration, topicOrder, type Pipeline } from '../../core/index.js';
import { systemClock, type PipelineRunResult, type ProgressEvent } from '../../engine/index.js';
import type { Backbone } from '../../store/backbone.js';
import { parseDurationOption } from '../common.js';
import type { CliContext } from '../context.js';
import { ExitCode, printLine } from '../output.js';
import { ApprovalPrompt } from './approval-prompt.js';
import { newLocalEngine, recoverOnStart } from './local-engine.js';
import { registerLocalRun } from './local-runs.js';
import { loadPipeline } from './pipeline-check.js';
import { ProgressDisplay, type DisplayMode } from './progress-display.js';
import { action, defaultUser, withBackbone, type Run } from './shared.js';

interface RunOptions {
  local?: boolean;
  yes?: boolean;
  autoApprove?: boolean;
  approvalTtl?: string;
}

/** Terminal input for the y/N prompt. */
type Stdin = NodeJS.ReadableStream & { isTTY?: boolean };

function stdinOf(ctx: CliContext): Stdin | null {
  const fromCtx = (ctx as CliContext & { stdin?: Stdin }).stdin;
  // The binary's context has no stdin yet; its stdout is the process's, so its stdin is too.
  return fromCtx ?? (ctx.stdout === process.stdout ? process.stdin : null);
}

/** Thrown by `pipeline run` without --local: a usage error until fleet pipelines exist. */
export function fleetPipelinesUnavailable(file: string): BitacoraError {
  return new BitacoraError(
    ErrorCode.Validation,
    `running pipelines across the fleet is not available yet; run it on this machine with \`bitacora pipeline run --local ${file}\``,
    { details: { issues: [{ path: '--local', message: 'required for now' }] } },
  );
}

function mark(status: string): string {
  return status === 'completed' ? '✓' : status === 'skipped' ? '-' : '✗';
}

/** The outcome after the progress; on a TTY the final status block already lists the topics. */
function printSummary(ctx: CliContext, result: PipelineRunResult, withTopics: boolean): void {
  printLine(ctx);
  for (const p of result.projects) {
    printLine(ctx, `${mark(p.status)} ${p.project}: ${p.status} in ${formatDuration(p.durationMs)}${p.error ? ` — ${p.error}` : ''}`);
    if (!withTopics) continue;
    const width = Math.max(0, ...p.topics.map((t) => t.topic.length));
    for (const t of p.topics) printLine(ctx, `    ${mark(t.status)} ${t.topic.padEnd(width)}  ${t.status.padEnd(17)} ${formatDuration(t.durationMs)}`);
  }
  printLine(ctx, `Recorded in session ${result.sessionId}: see \`bitacora log --session ${result.sessionId}\``);
}

/** The decision the y/N prompt records; returns the line to show. */
async function decideAtPrompt(backbone: Backbone, ctx: CliContext, approvalId: string, approve: boolean): Promise<string> {
  try {
    const decided = await backbone.approvals.decide(
      approvalId, approve ? 'approved' : 'rejected', defaultUser(ctx), 'answered at the pipeline run prompt', Date.now(),
    );
    return `${decided.state === 'approved' ? 'Approved' : 'Rejected'} ${approvalId}.`;
  } catch (err) {
    // Decided elsewhere a moment earlier, or expired: the engine reports the outcome.
    return `Could not record the answer: ${(err as Error).message}`;
  }
}

async function runLocal(run: Run<RunOptions>, pipeline: Pipeline, file: string): Promise<number> {
  const { ctx } = run;
  const yes = run.opts.yes === true || run.opts.autoApprove === true;
  const approvalTtlMs = parseDurationOption('--approval-ttl', run.opts.approvalTtl);
  const dataDir = run.dataDir();
  const tty = ctx.stdout.isTTY === true;
  const mode: DisplayMode = run.json ? 'json' : tty ? 'tty' : 'lines';
  const stdin = stdinOf(ctx);

  return withBackbone(run, async (backbone) => {
    const display = new ProgressDisplay(ctx.stdout, mode, pipeline, topicOrder(pipeline).map((t) => t.id), yes);
    const prompt = mode === 'tty' && !yes && stdin?.isTTY === true
      ? new ApprovalPrompt(stdin, ctx.stdout, display, (id, approve) => decideAtPrompt(backbone, ctx, id, approve))
      : null;
    const onProgress = (e: ProgressEvent): void => {
      display.onEvent(e);
      if (e.type === 'approval.needed') prompt?.ask({ approvalId: e.approvalId, subject: e.subject, project: e.project });
      if (e.type === 'approval.decided') prompt?.settled(e.approvalId, `Decided elsewhere: ${e.state}${e.by ? ` by ${e.by}` : ''}.`);
    };
    // Every command carries the marker of this data directory's logbook (see local-engine.ts).
    const manager = newLocalEngine(dataDir, {
      runner: ctx.deps.newCommandRunner(),
      workspaces: ctx.deps.newWorkspaces(join(dataDir, 'workspaces')),
      clock: systemClock,
      logbook: backbone,
      autoApprove: yes,
      user: defaultUser(ctx),
      ...(approvalTtlMs !== undefined ? { approvalTtlMs } : {}),
      onProgress,
    });

    const registration = await registerLocalRun(backbone.kv);
    display.start();
    try {
      if (registration.alone) {
        // Finish what a crashed earlier run left prepared before new work touches the workspaces;
        // first kill its commands still running, or they could act after the recovery.
        const { killed } = await recoverOnStart(manager);
        if (killed > 0) display.note(`killed ${killed} process(es) left running by a crashed earlier run on this data directory`);
      } else {
        display.note('note: another `pipeline run --local` is using this data directory; crash recovery is left to the next lone run');
      }
      const result = await manager.runPipelines([{ pipeline }], { ...(ctx.stopSignal ? { signal: ctx.stopSignal() } : {}) });
      prompt?.close();
      display.stop();
      if (mode === 'json') {
        ctx.stdout.write(`${JSON.stringify({
          type: 'run.finished', at: Date.now(), file, ok: result.ok, sessionId: result.sessionId,
          projects: result.projects.map((p) => ({
            project: p.project, status: p.status, error: p.error, durationMs: p.durationMs, workspace: p.workspace,
            topics: p.topics.map((t) => ({ topic: t.topic, topicId: t.topicId, status: t.status, approvalId: t.approvalId, durationMs: t.durationMs })),
          })),
        })}\n`);
      } else {
        printSummary(ctx, result, mode === 'lines');
      }
      return result.ok ? ExitCode.Ok : ExitCode.WorkFailed;
    } finally {
      prompt?.close();
      display.stop();
      await registration.release();
    }
  });
}

export function registerPipelineRunCommand(pipeline: Command, ctx: CliContext): void {
  pipeline
    .command('run <file>')
    .description('run a pipeline file; --local runs it on this machine with a live progress display')
    .option('--local', 'run on this machine through the local engine (required for now)')
    .option('--yes', 'approve high-risk topics automatically (recorded as auto-approve)')
    .option('--auto-approve', 'same as --yes')
    .option('--approval-ttl <duration>', 'how long an approval request stays open, e.g. 15m (default 1h)')
    .addHelpText('after', `
High-risk topics wait for approval: the run prints the approval id and the command to type
in another terminal (\`bitacora approve ID\`, or \`--reject\`); on a terminal it also asks y/N.
Workspaces live under <data dir>/workspaces/<project>. Ctrl-C cancels: running commands are
killed and prepared atomic actions roll back.
Exit codes: 0 every topic completed, 1 work failed, was rejected or cancelled, 2 bad file.
Progress with --json is one JSON object per line (NDJSON), ending with {"type":"run.finished",…}.

Examples:
  $ bitacora pipeline run --local examples/demo-pipeline.yaml
  $ bitacora pipeline run --local --yes examples/demo-pipeline.yaml
  $ bitacora pipeline run --local --json pipeline.yaml | jq -c 'select(.type == "step.finished")'`)
    .action(action<RunOptions>(ctx, (run) => {
      const file = run.args[0] as string;
      if (run.opts.local !== true) throw fleetPipelinesUnavailable(file);
      // Parsed before anything is opened or created: a bad file changes nothing (exit 2).
      const parsed = loadPipeline(ctx, file);
      return runLocal(run, parsed, file);
    }));
}
