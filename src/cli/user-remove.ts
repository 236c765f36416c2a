/** `bitacora user remove NAME`: the user and every token it holds stop working at once. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { printJson, printLine } from './output.js';

export function registerUserRemove(user: Command, ctx: CliContext): void {
  user
    .command('remove')
    .description('remove a user: its API and login tokens are revoked at once')
    .argument('<name>', 'user name')
    .addHelpText('after', '\nThe last admin cannot be removed (add another admin first).\n\nExample:\n  $ bitacora user remove ana')
    .action(
      action(ctx, async (run) => {
        const name = run.args[0] as string;
        await run.client().security.removeUser(name);
        if (run.json) return printJson(ctx, { removed: name });
        printLine(ctx, `removed user ${name}; its tokens were revoked.`);
      }),
    );
}
