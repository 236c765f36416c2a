/** `bitacora token list`: join, API and login tokens with their state — never their secrets. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action, formatTime } from './common.js';
import { printJson, printLine, printTable } from './output.js';

export function registerTokenList(token: Command, ctx: CliContext): void {
  token
    .command('list')
    .description('list join, API and login tokens, newest first: kind, role, user, state, expiry, creator')
    .addHelpText(
      'after',
      `
States: active, expired, used (one-time tokens), revoked. Secrets are never shown: only
their ids, which \`bitacora token revoke ID\` takes.
With --json prints an array of {"id", "kind", "role", "user", "label", "state", "expiresAt", "createdAt", "createdBy", "usedAt", "usedBy", "revokedAt"}.

Examples:
  $ bitacora token list
  $ bitacora token list --json | jq -r '.[] | select(.state == "active" and .kind == "join") | .id'`,
    )
    .action(
      action(ctx, async (run) => {
        const tokens = await run.client().security.listTokens();
        if (run.json) return printJson(ctx, tokens);
        if (tokens.length === 0) return printLine(ctx, 'no tokens: `bitacora token create` makes a join token, `--user NAME` an API token');
        printTable(
          ctx,
          ['ID', 'KIND', 'ROLE', 'USER', 'STATE', 'EXPIRES', 'CREATED BY'],
          tokens.map((t) => [t.id, t.kind, t.role, t.user ?? '-', t.state, t.expiresAt === null ? 'never' : formatTime(t.expiresAt), t.createdBy]),
        );
      }),
    );
}
