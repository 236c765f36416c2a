/** `bitacora token revoke ID`: a join, API or login token stops working at once. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { printJson, printLine } from './output.js';

export function registerTokenRevoke(token: Command, ctx: CliContext): void {
  token
    .command('revoke')
    .description('revoke a join, API or login token by id (see `bitacora token list`)')
    .argument('<id>', 'token id, e.g. tok_…')
    .addHelpText('after', '\nRevoking a revoked token changes nothing. With --json prints the token as `token list` shows it.\n\nExample:\n  $ bitacora token revoke tok_0m3v1q2x4a0000a1b2c3d4')
    .action(
      action(ctx, async (run) => {
        const revoked = await run.client().security.revokeToken(run.args[0] as string);
        if (run.json) return printJson(ctx, revoked);
        const owner = revoked.user ? ` of user ${revoked.user}` : '';
        printLine(ctx, `revoked ${revoked.kind} token ${revoked.id}${owner}: it is refused from now on.`);
      }),
    );
}
