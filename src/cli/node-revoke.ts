/** `bitacora node revoke ID`: cut a node off for good — live connection closed, certificate refused, tasks reassigned. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { printJson, printLine } from './output.js';

export function registerNodeRevoke(node: Command, ctx: CliContext): void {
  node
    .command('revoke')
    .description('revoke a node: closes its connection within seconds, refuses its certificate from now on, reassigns its tasks')
    .argument('<node>', 'node name or id')
    .option('--reason <text>', 'why (kept in the audit trail)')
    .addHelpText('after', '\nUnlike `node remove`, the machine cannot reconnect with its certificate; it needs a new join token.\n\nExample:\n  $ bitacora node revoke stolen-laptop --reason "laptop lost"')
    .action(
      action<{ reason?: string }>(ctx, async (run) => {
        const node = await run.client().security.revokeNode(run.args[0] as string, run.opts.reason);
        if (run.json) return printJson(ctx, { revoked: node.id, name: node.name, status: node.status });
        printLine(ctx, `revoked node ${node.name} (${node.id}): its certificate is refused from now on and its tasks were reassigned.`);
      }),
    );
}
