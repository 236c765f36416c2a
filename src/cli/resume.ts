/** `bitacora resume`: hand out work again after an emergency shutdown froze dispatch. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { printJson, printLine } from './output.js';

export function registerResume(program: Command, ctx: CliContext): void {
  program
    .command('resume')
    .description('resume handing out work after `bitacora shutdown --tier stop-dispatch|cancel-all`')
    .addHelpText('after', '\nExample:\n  $ bitacora shutdown --tier stop-dispatch --yes && bitacora resume')
    .action(
      action(ctx, async (run) => {
        const status = await run.client().resumeDispatch();
        if (run.json) return printJson(ctx, status);
        printLine(ctx, `dispatch resumed: ${status.tasks.pending} pending task(s) will be assigned to ${status.nodes.ready} ready node(s).`);
      }),
    );
}
