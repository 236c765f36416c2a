/** `bitacora token create`: a one-time, expiring join token and the exact join command to use it. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action, formatSpan, formatTime, parseChoice, parseDurationOption } from './common.js';
import { printJson, printLine } from './output.js';

interface TokenCreateOptions {
  role?: string;
  ttl?: string;
}

export function registerTokenCreate(token: Command, ctx: CliContext): void {
  token
    .command('create')
    .description('create a one-time join token for a new machine')
    .option('--role <role>', 'role the new node gets: worker or hybrid', 'worker')
    .option('--ttl <duration>', 'how long the token stays valid (10s to 30d)', '1h')
    .addHelpText(
      'after',
      `
The token is shown once and stored only as a hash; it works for one join and expires.
With --json prints {"token", "caHash", "join", "role", "expiresAt", "id"}.

Examples:
  $ bitacora token create
  $ bitacora token create --role hybrid --ttl 15m
  $ ssh ci-box "$(bitacora token create --json | jq -r .join)"`,
    )
    .action(
      action<TokenCreateOptions>(ctx, async (run) => {
        const role = parseChoice('--role', run.opts.role, ['worker', 'hybrid'] as const) ?? 'worker';
        const ttlMs = parseDurationOption('--ttl', run.opts.ttl);
        const created = await run.client().createToken({ role, ...(ttlMs !== undefined ? { ttl: ttlMs } : {}) });
        if (run.json) {
          printJson(ctx, { token: created.token, caHash: created.caHash, join: created.join, role: created.role, expiresAt: created.expiresAt, id: created.id });
          return;
        }
        const left = formatSpan(created.expiresAt - Date.now());
        printLine(ctx, `join token for a ${created.role} (one-time, expires ${formatTime(created.expiresAt)}, in ${left}):`);
        printLine(ctx, `  ${created.token}`);
        printLine(ctx);
        printLine(ctx, 'On the new machine run:');
        printLine(ctx, `  ${created.join}`);
      }),
    );
}
