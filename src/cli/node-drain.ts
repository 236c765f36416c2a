/** `bitacora node drain|undrain ID`: stop (or resume) giving a node new work; running tasks finish. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { nodeJson } from './nodes.js';
import { printJson, printLine } from './output.js';

export function registerNodeDrain(node: Command, ctx: CliContext): void {
  node
    .command('drain')
    .description('stop sending new work to a node; its running tasks finish')
    .argument('<node>', 'node name or id')
    .addHelpText('after', '\nExamples:\n  $ bitacora node drain worker-1      # before maintenance\n  $ bitacora node undrain worker-1    # back in service')
    .action(
      action(ctx, async (run) => {
        const n = await run.client().drainNode(run.args[0] as string);
        if (run.json) return printJson(ctx, nodeJson(n));
        printLine(ctx, `node ${n.name} is ${n.status}: it takes no new work; its ${n.runningTasks} running task(s) finish. Undo with \`bitacora node undrain ${n.name}\`.`);
      }),
    );

  node
    .command('undrain')
    .description('put a drained node back in service')
    .argument('<node>', 'node name or id')
    .addHelpText('after', '\nExample:\n  $ bitacora node undrain worker-1')
    .action(
      action(ctx, async (run) => {
        const n = await run.client().undrainNode(run.args[0] as string);
        if (run.json) return printJson(ctx, nodeJson(n));
        printLine(ctx, `node ${n.name} is ${n.status}: it takes new work again.`);
      }),
    );
}
