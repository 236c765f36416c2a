/**
 * `bitacora token create`: a one-time, expiring join token and the exact join command to use it;
 * with `--user U` an API token acting for user U, with `--user U --login` a one-time dashboard
 * login token.
 */
import type { Command } from 'commander';
import { dashboardLoginUrl } from '../client/index.js';
import { USER_ROLE_NAMES, type CreatedApiToken } from '../core/index.js';
import type { CliContext } from './context.js';
import { action, formatSpan, formatTime, invalid, parseChoice, parseDurationOption, type Run } from './common.js';
import { printJson, printLine } from './output.js';

interface TokenCreateOptions {
  role?: string;
  ttl?: string;
  user?: string;
  login?: boolean;
  label?: string;
}

export function registerTokenCreate(token: Command, ctx: CliContext): void {
  token
    .command('create')
    .description('create a one-time join token for a new machine, or (--user) an API or login token for a user')
    .option('--role <role>', 'join token: the role the new node gets, worker (default) or hybrid; with --user: admin, operator or viewer (default and at most the user\'s own)')
    .option('--ttl <duration>', 'how long the token stays valid: join tokens 10s to 30d (default 1h); API tokens default never; login tokens default 15m')
    .option('--user <name>', 'create an API token acting for this user instead of a join token')
    .option('--login', 'with --user: a one-time dashboard login token instead of an API token')
    .option('--label <text>', 'with --user: a note shown in `token list` (what the token is for)')
    .addHelpText(
      'after',
      `
Every token is shown once and stored only as a hash. A join token works for one join and
expires; an API token is a bearer for the CLI (--token / BITACORA_TOKEN) or scripts, until it
expires or is revoked; a login token opens one dashboard session.
With --json prints {"token", "caHash", "join", "role", "expiresAt", "id"} for a join token and
{"id", "token", "user", "role", "expiresAt", "kind"} for an API or login token; a login token
also has "url", the one-time link that signs a browser (a phone) in to the dashboard.

Examples:
  $ bitacora token create
  $ bitacora token create --role hybrid --ttl 15m
  $ ssh ci-box "$(bitacora token create --json | jq -r .join)"
  $ bitacora token create --user ana --role viewer --ttl 30d --label "grafana scraper"
  $ bitacora token create --user admin --login`,
    )
    .action(
      action<TokenCreateOptions>(ctx, async (run) => {
        if (run.opts.user !== undefined) return userToken(run, run.opts.user);
        for (const option of ['login', 'label'] as const) {
          if (run.opts[option] !== undefined) throw invalid(`--${option}`, 'only applies with --user NAME (API and login tokens)');
        }
        const role = parseChoice('--role', run.opts.role, ['worker', 'hybrid'] as const) ?? 'worker';
        const ttlMs = parseDurationOption('--ttl', run.opts.ttl ?? '1h');
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

async function userToken(run: Run<TokenCreateOptions>, user: string): Promise<void> {
  const { ctx } = run;
  const ttlMs = parseDurationOption('--ttl', run.opts.ttl);
  let created: CreatedApiToken;
  const kind = run.opts.login ? 'login' : 'api';
  if (run.opts.login) {
    if (run.opts.role !== undefined) throw invalid('--role', "a login token acts with the user's own role; leave --role out");
    if (run.opts.label !== undefined) throw invalid('--label', 'login tokens carry no label');
    created = await run.client().security.createLoginToken(user, ttlMs);
  } else {
    const role = parseChoice('--role', run.opts.role, USER_ROLE_NAMES);
    created = await run.client().security.createApiToken({
      user, ...(role ? { role } : {}), ...(ttlMs !== undefined ? { ttl: ttlMs } : {}), ...(run.opts.label ? { label: run.opts.label } : {}),
    });
  }
  const url = kind === 'login' ? dashboardLoginUrl(run.client().url, created.token) : undefined;
  if (run.json) return printJson(ctx, { ...created, kind, ...(url ? { url } : {}) });
  const expiry = created.expiresAt === null ? 'never expires' : `expires ${formatTime(created.expiresAt)}, in ${formatSpan(created.expiresAt - Date.now())}`;
  if (kind === 'login') {
    printLine(ctx, `one-time dashboard sign-in link for user ${created.user} (${created.role}; ${expiry}; works once):`);
    printLine(ctx, `  ${url}`);
    printLine(ctx, `  (the token alone: ${created.token})`);
    return;
  }
  printLine(ctx, `API token ${created.id} for user ${created.user} (${created.role}; ${expiry}):`);
  printLine(ctx, `  ${created.token}`);
  printLine(ctx);
  printLine(ctx, 'It is shown only this once. Use it with --token or BITACORA_TOKEN; revoke it with');
  printLine(ctx, `  bitacora token revoke ${created.id}`);
}
