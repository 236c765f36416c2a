/** `bitacora logs TASK [--follow]`: a task's captured output; with --follow, live until it ends. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action, parseIntegerOption } from './common.js';
import { printJson } from './output.js';
import { chunkPrinter, describeEnd } from './task-output.js';

interface LogsOptions {
  follow?: boolean;
  attempt?: string;
}

export function registerLogs(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description("print a task's output (stdout to stdout, stderr to stderr); --follow streams it live")
    .argument('<task>', 'task id')
    .option('-f, --follow', 'keep streaming new output until the task ends')
    .option('--attempt <n>', 'only this attempt (default: every attempt, in order)')
    .addHelpText(
      'after',
      `
Output is kept by the master up to a per-task limit. With --json prints the chunks
({"taskId", "attempt", "seq", "stream", "data", "at"}): an array, or one per line with --follow.

Examples:
  $ bitacora logs tsk_…
  $ bitacora logs tsk_… --follow
  $ bitacora logs tsk_… --attempt 2 2>/dev/null`,
    )
    .action(
      action<LogsOptions>(ctx, async (run) => {
        const id = run.args[0] as string;
        const attempt = parseIntegerOption('--attempt', run.opts.attempt, 1, 1000);
        const client = run.client();
        if (!run.opts.follow) {
          const chunks = await client.taskLogs(id, attempt !== undefined ? { attempt } : {});
          if (run.json) return printJson(ctx, chunks);
          const print = chunkPrinter(ctx);
          for (const chunk of chunks) print(chunk);
          return;
        }
        const signal = run.stopSignal();
        const task = await client.followTaskLogs(id, chunkPrinter(ctx, { ndjson: run.json }), {
          signal,
          ...(attempt !== undefined ? { attempt } : {}),
        });
        if (signal.aborted) return;
        if (!run.json) {
          const node = task.nodeId ? await client.getNode(task.nodeId).then((n) => n.name, () => task.nodeId) : null;
          ctx.stderr.write(`[bitacora] task ${task.id} ${describeEnd(task, node)}\n`);
        }
      }),
    );
}
