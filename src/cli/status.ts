/** `bitacora status`: the fleet at a glance — master, nodes, tasks, whether it accepts work. */
import type { Command } from 'commander';
import { formatDuration } from '../core/index.js';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { printJson, printLine } from './output.js';

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('the fleet at a glance: nodes, tasks, settings')
    .addHelpText('after', '\nExamples:\n  $ bitacora status\n  $ bitacora status --json | jq .tasks.running')
    .action(
      action(ctx, async (run) => {
        const client = run.client();
        const status = await client.status();
        if (run.json) return printJson(ctx, { url: client.url, ...status });
        const t = status.tasks;
        printLine(ctx, `master       ${client.url}${status.acceptingWork ? '' : '  (NOT accepting work: emergency shutdown)'}`);
        printLine(ctx, `nodes        ${status.nodes.total} total: ${status.nodes.ready} ready, ${status.nodes.draining} draining, ${status.nodes.down} down`);
        printLine(ctx, `tasks        ${t.pending} pending, ${t.assigned} assigned, ${t.running} running, ${t.succeeded} succeeded, ${t.failed} failed, ${t.cancelled} cancelled`);
        printLine(ctx, `heartbeat    every ${formatDuration(status.config.heartbeatIntervalMs)}; agents self-fence after ${formatDuration(status.config.selfFenceAfterMs)}`);
      }),
    );
}
