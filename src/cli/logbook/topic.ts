/**
 * `bitacora topic create|list|activate|complete|hold` — ordered lines of work inside a project.
 * At most one topic per project is in progress; the error says which one and how to free it.
 */
import type { Command } from 'commander';
import { BitacoraError, ErrorCode, RISK_LEVELS, TOPIC_STATUSES, type Topic, type TopicStatus } from '../../core/index.js';
import type { Backbone } from '../../store/backbone.js';
import type { CliContext } from '../context.js';
import { printJson, printLine, printTable } from '../output.js';
import {
  cell, formatTime, action, joinWords, notFound, parseChoice, parseEstimateHours, parseIntegerOption, parseList, withBackbone,
} from './shared.js';

function activeTopicError(active: Topic): BitacoraError {
  return new BitacoraError(
    ErrorCode.ActiveTopicExists,
    `project '${active.project}' already has topic ${active.id} ("${active.title}") in progress; ` +
      `finish it with \`bitacora topic complete ${active.id}\` or pause it with \`bitacora topic hold ${active.id}\` first`,
    { details: { project: active.project, activeTopicId: active.id } },
  );
}

async function getTopic(backbone: Backbone, id: string): Promise<Topic> {
  const topic = await backbone.topics.get(id);
  if (!topic) throw notFound('topic', id, 'list topics with `bitacora topic list`');
  return topic;
}

function printTopic(ctx: CliContext, json: boolean, verb: string, topic: Topic): void {
  if (json) printJson(ctx, topic);
  else printLine(ctx, `${verb} topic ${topic.id} "${topic.title}" (${topic.project}, ${topic.status}, risk ${topic.risk})`);
}

export function registerTopicCommands(program: Command, ctx: CliContext): void {
  const topic = program
    .command('topic')
    .description('plan and track the topics (ordered lines of work) of a project')
    .addHelpText('after', `
Examples:
  $ bitacora topic create --project api --risk high --estimate 2h "migrate the users table"
  $ bitacora topic list --project api
  $ bitacora topic activate top_0123456789abcd
  $ bitacora topic complete top_0123456789abcd`);

  topic
    .command('create <title...>')
    .description('add a topic to a project (default project: the current session\'s)')
    .option('--project <project>', 'the project it belongs to')
    .option('--description <text>', 'details')
    .option('--risk <risk>', `risk level: ${RISK_LEVELS.join('|')} (default low; high pauses runs for approval)`)
    .option('--priority <n>', 'priority 0-10 (default 5, higher first)')
    .option('--depends-on <ids>', 'comma-separated ids of topics of the same project that must complete first')
    .option('--estimate <duration>', 'estimated effort, e.g. 45m, 2h, 1.5d')
    .addHelpText('after', `
Example:
  $ bitacora topic create --project api --priority 8 --depends-on top_a,top_b "release v2"`)
    .action(action<{ project?: string; description?: string; risk?: string; priority?: string; dependsOn?: string; estimate?: string }>(ctx, (run) => {
      const title = joinWords(run.args[0]);
      const risk = parseChoice('--risk', run.opts.risk, RISK_LEVELS);
      const priority = parseIntegerOption('--priority', run.opts.priority, 0, 10);
      const estimatedHours = parseEstimateHours('--estimate', run.opts.estimate);
      const dependsOn = parseList(run.opts.dependsOn);
      return withBackbone(run, async (backbone) => {
        const projectName = run.opts.project ?? (await backbone.sessions.current())?.project ?? undefined;
        if (!projectName) {
          throw new BitacoraError(ErrorCode.Validation, 'which project? pass --project NAME (or start a session with --project)', {
            details: { issues: [{ path: '--project', message: 'required' }] },
          });
        }
        if (!(await backbone.projects.get(projectName))) {
          throw notFound('project', projectName, `create it with \`bitacora project create ${projectName}\``);
        }
        for (const dep of dependsOn) {
          const found = await backbone.topics.get(dep);
          if (!found || found.project !== projectName) {
            throw notFound('topic', dep, `--depends-on takes ids of topics of project '${projectName}'; list them with \`bitacora topic list --project ${projectName}\``);
          }
        }
        const created = await backbone.topics.create({
          project: projectName,
          title,
          ...(run.opts.description !== undefined ? { description: run.opts.description } : {}),
          ...(risk ? { risk } : {}),
          ...(priority !== undefined ? { priority } : {}),
          ...(estimatedHours !== undefined ? { estimatedHours } : {}),
          dependsOn,
        }, Date.now());
        printTopic(ctx, run.json, 'Created', created);
      });
    }));

  topic
    .command('list')
    .description('list topics, highest priority first')
    .option('--project <project>', 'only this project\'s topics')
    .option('--status <status>', `only topics in this status: ${TOPIC_STATUSES.join('|')}`)
    .action(action<{ project?: string; status?: string }>(ctx, (run) => {
      const status = parseChoice('--status', run.opts.status, TOPIC_STATUSES);
      return withBackbone(run, async (backbone) => {
        if (run.opts.project !== undefined && !(await backbone.projects.get(run.opts.project))) {
          throw notFound('project', run.opts.project, 'list projects with `bitacora project list`');
        }
        const topics = (await backbone.topics
          .list({ ...(run.opts.project ? { project: run.opts.project } : {}), ...(status ? { status } : {}) }))
          .sort((a, b) => a.project.localeCompare(b.project) || b.priority - a.priority || a.createdAt - b.createdAt);
        if (run.json) {
          printJson(ctx, topics);
          return;
        }
        if (topics.length === 0) {
          printLine(ctx, 'No topics. Add one with `bitacora topic create --project NAME TITLE`.');
          return;
        }
        printTable(ctx, ['ID', 'PROJECT', 'STATUS', 'RISK', 'PRIO', 'ESTIMATE', 'DEPENDS ON', 'UPDATED', 'TITLE'], topics.map((t) => [
          t.id, t.project, t.status, t.risk, String(t.priority), t.estimatedHours === null ? '-' : `${t.estimatedHours}h`,
          t.dependsOn.length > 0 ? t.dependsOn.join(',') : '-', formatTime(t.updatedAt), cell(t.title, 50),
        ]));
      });
    }));

  topic
    .command('activate <id>')
    .description('start working on a topic (status in-progress); one per project at a time')
    .action(action<Record<string, never>>(ctx, (run) => withBackbone(run, async (backbone) => {
      const target = await getTopic(backbone, run.args[0] as string);
      if (target.status === 'in-progress') {
        printTopic(ctx, run.json, 'Already active:', target);
        return;
      }
      const active = (await backbone.topics.list({ project: target.project, status: 'in-progress' })).find((t) => t.id !== target.id);
      if (active) throw activeTopicError(active);
      try {
        printTopic(ctx, run.json, 'Activated', await backbone.topics.activate(target.id, Date.now()));
      } catch (err) {
        // Another terminal may have activated one in between: name it and the fix all the same.
        if (err instanceof BitacoraError && err.code === ErrorCode.ActiveTopicExists) {
          const now = (await backbone.topics.list({ project: target.project, status: 'in-progress' }))[0];
          if (now) throw activeTopicError(now);
        }
        throw err;
      }
    })));

  const setStatus = (name: string, status: TopicStatus, verb: string, what: string) =>
    topic
      .command(`${name} <id>`)
      .description(what)
      .action(action<Record<string, never>>(ctx, (run) => withBackbone(run, async (backbone) => {
        const target = await getTopic(backbone, run.args[0] as string);
        printTopic(ctx, run.json, verb, await backbone.topics.setStatus(target.id, status, Date.now()));
      })));
  setStatus('complete', 'completed', 'Completed', 'mark a topic completed (frees the project for its next topic)');
  setStatus('hold', 'on-hold', 'Put on hold', 'put a topic on hold (frees the project for another topic)');
}
