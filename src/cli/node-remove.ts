/** `bitacora node remove ID`: forget a node; its unfinished tasks go back to the queue. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { printJson, printLine } from './output.js';

export function registerNodeRemove(node: Command, ctx: CliContext): void {
  node
    .command('remove')
    .description('remove a node from the fleet: closes its connection and requeues its unfinished tasks')
    .argument('<node>', 'node name or id')
    .addHelpText(
      'after',
      '\nThe machine can join again later with a new token.\n\nExample:\n  $ bitacora node remove old-laptop',
    )
    .action(
      action(ctx, async (run) => {
        const client = run.client();
        const target = await client.getNode(run.args[0] as string);
        await client.removeNode(target.id);
        if (run.json) return printJson(ctx, { removed: target.id, name: target.name });
        printLine(ctx, `removed node ${target.name} (${target.id}); its unfinished tasks were requeued.`);
      }),
    );
}
