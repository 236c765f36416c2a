/** `bitacora cancel TASK`: cancel a task wherever it is — pending at once, running on its node. */
import type { Command } from 'commander';
import { isTerminal } from '../core/index.js';
import type { CliContext } from './context.js';
import { action, nodeNamer } from './common.js';
import { printJson, printLine } from './output.js';
import { taskJson } from './tasks.js';

export function registerCancel(program: Command, ctx: CliContext): void {
  program
    .command('cancel')
    .description('cancel a task: a pending one at once, a running one on the node running it')
    .argument('<task>', 'task id')
    .option('--reason <text>', 'recorded with the cancellation')
    .addHelpText('after', '\nExample:\n  $ bitacora cancel tsk_… --reason "wrong branch"')
    .action(
      action<{ reason?: string }>(ctx, async (run) => {
        const client = run.client();
        const id = run.args[0] as string;
        const before = await client.getTask(id);
        const after = await client.cancelTask(id, run.opts.reason);
        const nameOf = nodeNamer(after.nodeId ? await client.listNodes() : []);
        if (run.json) return printJson(ctx, taskJson(after, nameOf));
        if (isTerminal(before.state)) {
          printLine(ctx, `task ${id} had already ${before.state === 'cancelled' ? 'been cancelled' : before.state}; nothing to cancel.`);
        } else {
          const where = before.state === 'pending' ? '' : ` (it was ${before.state} on ${nameOf(after.nodeId) ?? 'its node'}; the node stops it)`;
          printLine(ctx, `cancelled task ${id}${where}.`);
        }
      }),
    );
}
