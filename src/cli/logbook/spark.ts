/**
 * `bitacora spark add|list` — sparks: quick insights, ideas, bugs and notes captured in the
 * current session. Executed sparks (commands with results) are written by the engine.
 */
import type { Command } from 'commander';
import { SPARK_TYPES, newSparkSchema, parseOrThrow, type Spark } from '../../core/index.js';
import type { CliContext } from '../context.js';
import { printJson, printLine, printTable } from '../output.js';
import { cell, entryContext, formatTime, action, joinWords, parseChoice, parseIntegerOption, parseList, withBackbone } from './shared.js';

function resultText(spark: Spark): string {
  if (!spark.result) return '-';
  if (spark.result.error) return spark.result.error;
  return `exit ${spark.result.exitCode ?? '?'}`;
}

export function registerSparkCommands(program: Command, ctx: CliContext): void {
  const spark = program
    .command('spark')
    .description('capture and list sparks: insights, ideas, bugs, solutions, questions, notes')
    .addHelpText('after', `
Examples:
  $ bitacora spark add --type idea --tags perf "cache the token introspection"
  $ bitacora spark add the build is slow on cold caches
  $ bitacora spark list --type bug --json`);

  spark
    .command('add <content...>')
    .description('capture a spark in the current session')
    .option('--type <type>', `${SPARK_TYPES.join('|')} (default note)`)
    .option('--tags <tags>', 'comma-separated tags, e.g. perf,db')
    .option('--topic <id>', 'the topic it is about')
    .action(action<{ type?: string; tags?: string; topic?: string }>(ctx, (run) => {
      const type = parseChoice('--type', run.opts.type, SPARK_TYPES);
      const tags = parseList(run.opts.tags);
      const content = joinWords(run.args[0]);
      return withBackbone(run, async (backbone) => {
        const { session, sessionId, topicId, project } = await entryContext(backbone, run.opts.topic);
        const input = parseOrThrow(newSparkSchema, {
          ...(type ? { type } : {}),
          content,
          tags,
          sessionId,
          topicId,
          project,
        }, 'spark');
        const created = await backbone.sparks.add(input, Date.now());
        if (run.json) printJson(ctx, created);
        else printLine(ctx, `Added ${created.type} ${created.id}${session ? ` to session ${session.id}` : ''}`);
      });
    }));

  spark
    .command('list')
    .description('list sparks, newest first (default: the current session\'s, or all when none is open)')
    .option('--type <type>', `only this type: ${SPARK_TYPES.join('|')}`)
    .option('--session <id>', 'sparks of this session')
    .option('--project <project>', 'sparks of this project')
    .option('--all', 'sparks of every session')
    .option('--limit <n>', 'how many (default 50)')
    .action(action<{ type?: string; session?: string; project?: string; all?: boolean; limit?: string }>(ctx, (run) => {
      const type = parseChoice('--type', run.opts.type, SPARK_TYPES);
      const limit = parseIntegerOption('--limit', run.opts.limit, 1, 100_000) ?? 50;
      return withBackbone(run, async (backbone) => {
        const { project, all } = run.opts;
        let sessionId = run.opts.session;
        if (sessionId === undefined && project === undefined && !all) sessionId = (await backbone.sessions.current())?.id;
        const sparks = (await backbone.sparks
          .list({ ...(sessionId ? { sessionId } : {}), ...(project ? { project } : {}), ...(type ? { type } : {}) }))
          .sort((a, b) => b.createdAt - a.createdAt)
          .slice(0, limit);
        if (run.json) {
          printJson(ctx, sparks);
          return;
        }
        if (sparks.length === 0) {
          printLine(ctx, 'No sparks. Capture one with `bitacora spark add CONTENT`.');
          return;
        }
        printTable(ctx, ['ID', 'TIME', 'TYPE', 'PROJECT', 'TAGS', 'RESULT', 'CONTENT'], sparks.map((s) => [
          s.id, formatTime(s.createdAt), s.type, s.project ?? '-', s.tags.join(',') || '-', resultText(s), cell(s.command ?? s.content, 50),
        ]));
      });
    }));
}
