/** `bitacora node set-role ID worker|hybrid`: change a node's role live, without a restart. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action, parseChoice } from './common.js';
import { nodeJson } from './nodes.js';
import { printJson, printLine } from './output.js';

export function registerNodeSetRole(node: Command, ctx: CliContext): void {
  node
    .command('set-role')
    .description('change a node between worker and hybrid, live')
    .argument('<node>', 'node name or id')
    .argument('<role>', 'worker or hybrid')
    .addHelpText('after', '\nA worker executes; a hybrid also stands by to coordinate.\n\nExample:\n  $ bitacora node set-role dev-server hybrid')
    .action(
      action(ctx, async (run) => {
        const [id, roleText] = run.args as [string, string];
        const role = parseChoice('role', roleText, ['worker', 'hybrid'] as const)!;
        const n = await run.client().setNodeRole(id, role);
        if (run.json) return printJson(ctx, nodeJson(n));
        printLine(ctx, `node ${n.name} is now a ${n.role}.`);
      }),
    );
}
