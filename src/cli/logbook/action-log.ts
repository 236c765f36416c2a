/**
 * `bitacora action log|list` — hand-written records of what you did, linked to the current
 * session and (optionally) a topic. Executed actions are written by the engine, not here.
 */
import type { Command } from 'commander';
import { ACTION_TYPES, formatDuration, newActionSchema, parseOrThrow, type Action } from '../../core/index.js';
import type { CliContext } from '../context.js';
import { printJson, printLine, printTable } from '../output.js';
import { cell, entryContext, formatTime, action, joinWords, parseChoice, parseIntegerOption, parseList, withBackbone } from './shared.js';

function outcomeText(action: Action): string {
  if (action.phase === 'logged') return 'logged';
  const duration = action.outcome ? ` ${formatDuration(action.outcome.durationMs)}` : '';
  return `${action.phase}${duration}`;
}

export function registerActionCommands(program: Command, ctx: CliContext): void {
  const actionCommand = program
    .command('action')
    .description('log what you did and list the actions of a session, topic or project')
    .addHelpText('after', `
Examples:
  $ bitacora action log --type debug --tags auth,login "found the token refresh race"
  $ bitacora action log --topic top_0123456789abcd fixed the flaky test
  $ bitacora action list --project api --json`);

  actionCommand
    .command('log <description...>')
    .description('record an action in the current session')
    .option('--type <type>', `kind of work: ${ACTION_TYPES.join('|')} (default other)`)
    .option('--topic <id>', 'the topic it belongs to (its project is recorded too)')
    .option('--tags <tags>', 'comma-separated tags, e.g. auth,login')
    .action(action<{ type?: string; topic?: string; tags?: string }>(ctx, (run) => {
      const type = parseChoice('--type', run.opts.type, ACTION_TYPES);
      const tags = parseList(run.opts.tags);
      const description = joinWords(run.args[0]);
      return withBackbone(run, async (backbone) => {
        const { session, sessionId, topicId, project } = await entryContext(backbone, run.opts.topic);
        const input = parseOrThrow(newActionSchema, {
          sessionId,
          topicId,
          project,
          ...(type ? { type } : {}),
          description,
          tags,
        }, 'action');
        const now = Date.now();
        const created = await backbone.actions.create({ ...input, startedAt: now, endedAt: now }, now);
        if (run.json) {
          printJson(ctx, created);
          return;
        }
        printLine(ctx, `Logged action ${created.id} (${created.type}) in ${session ? `session ${session.id}` : 'no session'}`);
        // Not an error: the record is kept, but the user probably meant to have a session open.
        if (!session) ctx.stderr.write('note: no session is open, so this action is not part of one; start one with `bitacora session start`\n');
      });
    }));

  actionCommand
    .command('list')
    .description('list actions, newest first (default: the current session\'s)')
    .option('--session <id>', 'actions of this session')
    .option('--topic <id>', 'actions of this topic')
    .option('--project <project>', 'actions of this project')
    .option('--all', 'actions of every session')
    .option('--limit <n>', 'how many (default 50)')
    .action(action<{ session?: string; topic?: string; project?: string; all?: boolean; limit?: string }>(ctx, (run) => {
      const limit = parseIntegerOption('--limit', run.opts.limit, 1, 100_000) ?? 50;
      return withBackbone(run, async (backbone) => {
        const { topic, project, all } = run.opts;
        let sessionId = run.opts.session;
        if (sessionId === undefined && topic === undefined && project === undefined && !all) sessionId = (await backbone.sessions.current())?.id;
        const actions = (await backbone.actions
          .list({
            ...(sessionId ? { sessionId } : {}),
            ...(topic ? { topicId: topic } : {}),
            ...(project ? { project } : {}),
          }))
          .sort((a, b) => b.startedAt - a.startedAt)
          .slice(0, limit);
        if (run.json) {
          printJson(ctx, actions);
          return;
        }
        if (actions.length === 0) {
          printLine(ctx, 'No actions. Log one with `bitacora action log DESCRIPTION`.');
          return;
        }
        printTable(ctx, ['ID', 'TIME', 'TYPE', 'PROJECT', 'OUTCOME', 'TAGS', 'DESCRIPTION'], actions.map((a) => [
          a.id, formatTime(a.startedAt), a.type, a.project ?? '-', outcomeText(a), a.tags.join(',') || '-', cell(a.description, 50),
        ]));
      });
    }));
}
