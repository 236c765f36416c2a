/** `bitacora user list`: the users of the API and dashboard, their roles and project limits. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action, formatTime } from './common.js';
import { printJson, printLine, printTable } from './output.js';

export function registerUserList(user: Command, ctx: CliContext): void {
  user
    .command('list')
    .description('list the users: name, role, projects they are limited to, who created them')
    .addHelpText('after', '\nWith --json prints an array of {"name", "role", "projects"?, "createdAt", "createdBy"}.\n\nExamples:\n  $ bitacora user list\n  $ bitacora user list --json | jq -r \'.[] | select(.role == "admin") | .name\'')
    .action(
      action(ctx, async (run) => {
        const users = await run.client().security.listUsers();
        if (run.json) return printJson(ctx, users);
        if (users.length === 0) return printLine(ctx, 'no users yet: add one with `bitacora user add NAME --role viewer`');
        printTable(
          ctx,
          ['NAME', 'ROLE', 'PROJECTS', 'CREATED', 'CREATED BY'],
          users.map((u) => [u.name, u.role, u.projects ? u.projects.join(',') : '(all)', formatTime(u.createdAt), u.createdBy]),
        );
      }),
    );
}
