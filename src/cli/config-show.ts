/** `bitacora config show`: the fleet's live configuration. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { printConfig } from './config-set.js';
import { printJson } from './output.js';

export function registerConfigShow(config: Command, ctx: CliContext): void {
  config
    .command('show')
    .description('show the live fleet settings')
    .addHelpText('after', '\nExample:\n  $ bitacora config show --json')
    .action(
      action(ctx, async (run) => {
        const { config: current } = await run.client().status();
        if (run.json) return printJson(ctx, current);
        printConfig(ctx, current);
      }),
    );
}
