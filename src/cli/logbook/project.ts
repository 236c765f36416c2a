/** `bitacora project create|list|show` — projects: a workspace and its work, named by a slug. */
import type { Command } from 'commander';
import { BitacoraError, ErrorCode, newProjectSchema, parseOrThrow } from '../../core/index.js';
import type { CliContext } from '../context.js';
import { printJson, printLine, printTable } from '../output.js';
import { cell, formatTime, action, notFound, withBackbone } from './shared.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function registerProjectCommands(program: Command, ctx: CliContext): void {
  const project = program
    .command('project')
    .description('create and inspect projects')
    .addHelpText('after', `
Examples:
  $ bitacora project create api --description "public REST API" --repository git@example.com:me/api.git
  $ bitacora project list
  $ bitacora project show api --json`);

  project
    .command('create <name>')
    .description('create a project; NAME is a lowercase slug (a-z, 0-9, ".", "_", "-")')
    .option('--description <text>', 'what the project is')
    .option('--repository <url>', 'where its code lives')
    .addHelpText('after', `
Example:
  $ bitacora project create web-shop --description "the shop front end"`)
    .action(action<{ description?: string; repository?: string }>(ctx, (run) => {
      const name = run.args[0] as string;
      // Validate before opening the store so a bad name changes nothing and says why.
      const input = parseOrThrow(newProjectSchema, {
        name,
        description: run.opts.description ?? '',
        repository: run.opts.repository ?? null,
      }, 'project');
      return withBackbone(run, async (backbone) => {
        if (await backbone.projects.get(name)) {
          throw new BitacoraError(ErrorCode.Conflict, `project '${name}' already exists; see it with \`bitacora project show ${name}\``, {
            details: { project: name },
          });
        }
        const created = await backbone.projects.create(input, Date.now());
        if (run.json) printJson(ctx, created);
        else printLine(ctx, `Created project ${created.name} (workspace ${created.workspace}, ${created.status})`);
      });
    }));

  project
    .command('list')
    .description('list projects with their status and topic counts')
    .action(action<Record<string, never>>(ctx, (run) => withBackbone(run, async (backbone) => {
      const projects = (await backbone.projects.list()).sort((a, b) => a.name.localeCompare(b.name));
      if (run.json) {
        printJson(ctx, projects);
        return;
      }
      if (projects.length === 0) {
        printLine(ctx, 'No projects yet. Create one with `bitacora project create NAME`.');
        return;
      }
      const rows = await Promise.all(projects.map(async (p) => {
        const topics = await backbone.topics.list({ project: p.name });
        const active = topics.find((t) => t.status === 'in-progress');
        return [p.name, p.status, String(topics.length), active ? cell(active.title, 30) : '-', formatTime(p.updatedAt), cell(p.description, 40)];
      }));
      printTable(ctx, ['NAME', 'STATUS', 'TOPICS', 'ACTIVE TOPIC', 'UPDATED', 'DESCRIPTION'], rows);
    })));

  project
    .command('show <name>')
    .description('show a project, its topics and how much was logged on it')
    .action(action<Record<string, never>>(ctx, (run) => withBackbone(run, async (backbone) => {
      const name = run.args[0] as string;
      const found = await backbone.projects.get(name);
      if (!found) throw notFound('project', name, 'list projects with `bitacora project list`');
      const [topics, actions, sparks, sessions, pending] = await Promise.all([
        backbone.topics.list({ project: name }).then((list) => list.sort((a, b) => b.priority - a.priority || a.createdAt - b.createdAt)),
        backbone.actions.list({ project: name }),
        backbone.sparks.list({ project: name }),
        backbone.sessions.list({ project: name }),
        backbone.approvals.list({ project: name, state: 'pending' }),
      ]);
      if (run.json) {
        printJson(ctx, {
          ...found,
          topics,
          counts: { sessions: sessions.length, actions: actions.length, sparks: sparks.length, pendingApprovals: pending.length },
        });
        return;
      }
      const rows: [string, string][] = [
        ['project', found.name],
        ['status', found.status],
        ['description', found.description || '-'],
        ['repository', found.repository ?? '-'],
        ['workspace', found.workspace],
        ['pinned nodes', found.pinnedNodes.join(', ') || '-'],
        ['created', formatTime(found.createdAt)],
        ['updated', formatTime(found.updatedAt)],
        ['logged', `${plural(sessions.length, 'session')}, ${plural(actions.length, 'action')}, ${plural(sparks.length, 'spark')}`],
        ['approvals', pending.length > 0 ? `${pending.length} pending — see \`bitacora approvals\`` : 'none pending'],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      for (const [k, v] of rows) printLine(ctx, `${k.padEnd(width)}  ${v}`);
      printLine(ctx);
      if (topics.length === 0) {
        printLine(ctx, `No topics yet. Add one with \`bitacora topic create --project ${name} TITLE\`.`);
        return;
      }
      printTable(ctx, ['TOPIC', 'STATUS', 'RISK', 'PRIO', 'ESTIMATE', 'TITLE'], topics.map((t) => [
        t.id, t.status, t.risk, String(t.priority), t.estimatedHours === null ? '-' : `${t.estimatedHours}h`, cell(t.title, 50),
      ]));
    })));
}
