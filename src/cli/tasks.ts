/** `bitacora tasks`: tasks of the fleet with state, node (by name), attempt and exit code. */
import type { Command } from 'commander';
import { TASK_STATES, type TaskState } from '../core/index.js';
import type { TaskView } from '../client/index.js';
import type { CliContext } from './context.js';
import { action, cell, commandLine, formatAge, invalid, nodeNamer, parseIntegerOption, parseList } from './common.js';
import { printJson, printLine, printTable } from './output.js';

interface TasksOptions {
  state?: string;
  node?: string;
  project?: string;
  limit?: string;
}

/** The JSON shape scripts rely on: id, state, node (name), attempt, exitCode, waitingReason — and more. */
export function taskJson(task: TaskView, nameOf: (id: string | null) => string | null) {
  return {
    id: task.id, state: task.state, node: nameOf(task.nodeId), attempt: task.attempt, exitCode: task.exitCode, waitingReason: task.waitingReason ?? null,
    nodeId: task.nodeId, project: task.project, kind: task.kind, command: task.command, error: task.error,
    createdAt: task.createdAt, startedAt: task.startedAt, finishedAt: task.finishedAt,
  };
}

export function parseStates(value: string | undefined): TaskState[] {
  const states = parseList(value);
  for (const s of states) {
    if (!(TASK_STATES as readonly string[]).includes(s)) throw invalid('--state', `'${s}' is not a task state; use ${TASK_STATES.join(', ')} (comma-separated for several)`);
  }
  return states as TaskState[];
}

export function registerTasks(program: Command, ctx: CliContext): void {
  program
    .command('tasks')
    .description('list tasks: state, node, attempt, exit code')
    .option('--state <states>', `only these states, comma-separated: ${TASK_STATES.join(', ')}`)
    .option('--node <node>', 'only tasks on this node (name or id)')
    .option('--project <project>', 'only tasks of this project')
    .option('--limit <n>', 'show the newest N tasks (1 to 10000)', '1000')
    .addHelpText(
      'after',
      `
With --json prints an array of {"id", "state", "node", "attempt", "exitCode", "waitingReason", …},
node by name; "waitingReason" says why a pending task waits (null otherwise).

Examples:
  $ bitacora tasks --state running,pending
  $ bitacora tasks --node worker-1 --json | jq length`,
    )
    .action(
      action<TasksOptions>(ctx, async (run) => {
        const states = parseStates(run.opts.state);
        const limit = parseIntegerOption('--limit', run.opts.limit, 1, 10_000) ?? 1000;
        const client = run.client();
        const [newestFirst, nodes] = await Promise.all([
          client.listTasks({
            ...(states.length > 0 ? { states } : {}),
            ...(run.opts.node ? { node: run.opts.node } : {}),
            ...(run.opts.project ? { project: run.opts.project } : {}),
            limit,
            order: 'desc',
          }),
          client.listNodes(),
        ]);
        // Fetched newest first so a limit keeps the recent ones; shown oldest first, like a log.
        const tasks = [...newestFirst].reverse();
        const nameOf = nodeNamer(nodes);
        if (run.json) return printJson(ctx, tasks.map((t) => taskJson(t, nameOf)));
        if (tasks.length === 0) {
          printLine(ctx, 'no tasks match; submit one with `bitacora run -- echo hello`');
          return;
        }
        const now = Date.now();
        printTable(
          ctx,
          ['ID', 'STATE', 'NODE', 'ATTEMPT', 'EXIT', 'PROJECT', 'AGE', 'COMMAND'],
          tasks.map((t) => [
            t.id, t.state, nameOf(t.nodeId) ?? (t.waitingReason ? cell(`(${t.waitingReason})`, 40) : '-'), String(t.attempt), t.exitCode === null ? '-' : String(t.exitCode),
            t.project ?? '-', formatAge(t.createdAt, now), cell(commandLine(t.command), 40),
          ]),
        );
        if (tasks.length === limit) ctx.stderr.write(`(showing the newest ${limit}; raise --limit to see more)\n`);
      }),
    );
}
