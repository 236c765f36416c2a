/** `bitacora user add NAME --role R [--project P …]`: a user of the API and dashboard. */
import type { Command } from 'commander';
import { USER_ROLE_NAMES } from '../core/index.js';
import type { CliContext } from './context.js';
import { action, invalid, parseChoice, parseList } from './common.js';
import { printJson, printLine } from './output.js';

interface UserAddOptions {
  role?: string;
  project: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerUserAdd(user: Command, ctx: CliContext): void {
  user
    .command('add')
    .description('add a user of the API and dashboard with a role: admin, operator or viewer')
    .argument('<name>', 'user name: a lowercase slug (a-z, 0-9, ".", "_", "-")')
    .option('--role <role>', `the user's role: ${USER_ROLE_NAMES.join(', ')}`)
    .option('--project <project>', 'limit the user to this project (repeat, or comma-separate, for several)', collect, [])
    .addHelpText(
      'after',
      `
admin does everything; operator runs and manages work (limited to --project projects when
given); viewer reads. The user has no token yet: make one with \`bitacora token create --user NAME\`
(for scripts and the CLI) or \`--login\` (a one-time dashboard login).
With --json prints the user: {"name", "role", "projects"?, "createdAt", "createdBy"}.

Examples:
  $ bitacora user add ana --role operator --project web --project api
  $ bitacora user add ci --role viewer
  $ bitacora user add ops --role admin --json`,
    )
    .action(
      action<UserAddOptions>(ctx, async (run) => {
        const role = parseChoice('--role', run.opts.role, USER_ROLE_NAMES);
        if (role === undefined) throw invalid('--role', `required: one of ${USER_ROLE_NAMES.join(', ')}`);
        const projects = run.opts.project.flatMap((p) => parseList(p));
        const created = await run.client().security.addUser({ name: run.args[0] as string, role, ...(projects.length > 0 ? { projects } : {}) });
        if (run.json) return printJson(ctx, created);
        const scope = created.projects ? ` limited to projects ${created.projects.join(', ')}` : '';
        printLine(ctx, `added user ${created.name} (${created.role})${scope}.`);
        printLine(ctx, `Give them a token: bitacora token create --user ${created.name}   (or --login for the dashboard)`);
      }),
    );
}
