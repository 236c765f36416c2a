/** `bitacora audit [--json]` lists the hash-chained audit trail; `bitacora audit verify` names where the chain breaks. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { ExitCode, printJson, printLine, printTable } from './output.js';

export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program
    .command('audit')
    .description('the audit trail: who did what to which target, and the outcome')
    .option('--limit <n>', 'the most recent N entries', '100')
    .action(
      action<{ limit: string }>(ctx, async (run) => {
        const entries = await run.client().security.auditLog({ limit: Number(run.opts.limit) });
        if (run.json) return printJson(ctx, entries);
        printTable(
          ctx,
          ['#', 'TIME', 'ACTOR', 'ACTION', 'TARGET', 'OUTCOME', 'REASON'],
          entries.map(({ entry: e }) => [String(e.index), new Date(e.at).toISOString(), e.actor, e.action, e.target ?? '-', e.outcome, e.reason ?? '']),
        );
      }),
    );
  audit
    .command('verify')
    .description('re-check the hash chain; exits 1 and names the first edited, deleted or reordered entry')
    .action(
      action(ctx, async (run) => {
        const result = await run.client().security.verifyAudit();
        if (run.json) printJson(ctx, result);
        else if (result.ok) printLine(ctx, `audit trail intact: ${result.checked} entries verified.`);
        else printLine(ctx, `audit trail BROKEN after ${result.checked} good entries: ${result.break?.message ?? 'unknown break'}`);
        return result.ok ? ExitCode.Ok : ExitCode.WorkFailed;
      }),
    );
}
