/** `bitacora shutdown`: the fleet's emergency stop, in tiers; asks for --yes before acting. */
import type { Command } from 'commander';
import { EMERGENCY_TIERS, type EmergencyTier } from '../client/index.js';
import type { CliContext } from './context.js';
import { action, parseChoice } from './common.js';
import { CliExit, ExitCode, printJson, printLine } from './output.js';

const WHAT: Record<EmergencyTier, string> = {
  'stop-dispatch': 'stops handing out new work; running tasks finish, pending ones wait',
  'cancel-all': 'stops handing out new work and cancels every pending and running task on every node',
  'shutdown-nodes': 'cancels every task and shuts down every agent and the master',
};

export function registerShutdown(program: Command, ctx: CliContext): void {
  program
    .command('shutdown')
    .description('emergency stop of the whole fleet, in tiers (needs --yes)')
    .option('--tier <tier>', `${EMERGENCY_TIERS.join(' | ')}`, 'cancel-all')
    .option('--reason <text>', 'recorded with the shutdown', 'emergency shutdown from the CLI')
    .option('--yes', 'really do it')
    .addHelpText(
      'after',
      `
Tiers:
  stop-dispatch    ${WHAT['stop-dispatch']}
  cancel-all       ${WHAT['cancel-all']} (default)
  shutdown-nodes   ${WHAT['shutdown-nodes']}

Examples:
  $ bitacora shutdown --tier stop-dispatch --yes --reason "deploy freeze"
  $ bitacora shutdown --yes`,
    )
    .action(
      action<{ tier: string; reason: string; yes?: boolean }>(ctx, async (run) => {
        const tier = parseChoice('--tier', run.opts.tier, EMERGENCY_TIERS)!;
        if (!run.opts.yes) {
          throw new CliExit(ExitCode.BadInput, `shutdown --tier ${tier} ${WHAT[tier]}.\nNothing was done: add --yes to confirm.`);
        }
        const done = await run.client().shutdown(tier, run.opts.reason);
        if (run.json) return printJson(ctx, done);
        printLine(ctx, `emergency shutdown (${tier}) sent: the fleet ${WHAT[tier]}. Reason recorded: ${done.reason}`);
      }),
    );
}
