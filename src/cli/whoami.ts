/** `bitacora whoami`: the user and role the CLI's token acts as. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { printJson, printLine } from './output.js';

export function registerWhoami(program: Command, ctx: CliContext): void {
  program
    .command('whoami')
    .description('show the user and role the token acts as')
    .addHelpText('after', '\nWith --json prints {"user", "role", "projects"?, "via"}.\n\nExamples:\n  $ bitacora whoami\n  $ BITACORA_TOKEN=bat_… bitacora whoami --json')
    .action(
      action(ctx, async (run) => {
        const me = await run.client().security.whoami();
        if (run.json) return printJson(ctx, me);
        const scope = me.projects ? `, limited to projects ${me.projects.join(', ')}` : '';
        printLine(ctx, `${me.user} (${me.role}${scope}) via ${me.via}, at ${run.client().url}`);
      }),
    );
}
