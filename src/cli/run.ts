/** `bitacora run -- CMD …`: submit a spark to the fleet; print its id, or wait and exit with its code. */
import type { Command } from 'commander';
import { envSchema, isTerminal, slugSchema, type NewTaskSpec } from '../core/index.js';
import type { CliContext } from './context.js';
import { action, invalid, nodeNamer, parseCapabilities, parseDurationOption, parseIntegerOption } from './common.js';
import { printJson, printLine } from './output.js';
import { taskJson } from './tasks.js';
import { chunkPrinter, describeEnd, exitCodeOfTask } from './task-output.js';

interface RunOptions {
  project?: string;
  needs?: string;
  prefers?: string;
  on?: string;
  retries?: string;
  timeout?: string;
  idempotencyKey?: string;
  env: string[];
  wait?: boolean;
}

/** Conventional exit status of a command interrupted by Ctrl-C. */
const INTERRUPTED = 130;

const collect = (value: string, previous: string[]) => [...previous, value];

/** One argument with spaces is a shell line (`run -- "make && make test"`); otherwise argv as is. */
export function toArgv(words: string[]): string[] {
  return words.length === 1 && /\s/.test(words[0]!) ? ['sh', '-c', words[0]!] : words;
}

function parseEnv(entries: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw invalid('--env', `'${entry}' must be KEY=VALUE`);
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const checked = envSchema.safeParse(env);
  if (!checked.success) throw invalid('--env', checked.error.issues.map((i) => i.message).join('; '));
  return env;
}

export function buildSpec(words: string[], opts: RunOptions): NewTaskSpec {
  if (opts.project !== undefined && !slugSchema.safeParse(opts.project).success) {
    throw invalid('--project', `'${opts.project}' is not a project name: lowercase letters, digits, ".", "_" or "-"`);
  }
  const timeoutMs = parseDurationOption('--timeout', opts.timeout);
  const retries = parseIntegerOption('--retries', opts.retries, 0, 100);
  return {
    kind: 'spark',
    command: toArgv(words),
    ...(opts.project !== undefined ? { project: opts.project } : {}),
    needs: parseCapabilities('--needs', opts.needs),
    prefers: parseCapabilities('--prefers', opts.prefers),
    ...(opts.on !== undefined ? { pinnedNode: opts.on } : {}),
    ...(retries !== undefined ? { retryOnFailure: retries } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(opts.idempotencyKey !== undefined ? { idempotencyKey: opts.idempotencyKey } : {}),
    ...(opts.env.length > 0 ? { env: parseEnv(opts.env) } : {}),
  };
}

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run a command on the fleet as a spark: prints its id, or --wait streams its output and exits with its code')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--project <project>', 'run in this project (its isolated workspace; prefers its nodes)')
    .option('--needs <caps>', 'required capabilities, comma-separated (hard constraint), e.g. linux,docker')
    .option('--prefers <specs>', 'preferred specializations, comma-separated (affinity), e.g. build')
    .option('--on <node>', 'run only on this node (name or id)')
    .option('--retries <n>', 'run again up to N times after a non-zero exit (lost nodes are always retried)')
    .option('--timeout <duration>', 'stop the command after this long, e.g. 30s or 10m')
    .option('--idempotency-key <key>', 'resubmitting with the same key returns the same task instead of a new one')
    .option('--env <KEY=VALUE>', 'environment variable for the command (repeatable)', collect, [])
    .option('--wait', "stream the task's output and exit with its exit code")
    .addHelpText(
      'after',
      `
Put the command after \`--\` so its own options are not read as bitacora's. A single quoted
argument with spaces runs through \`sh -c\`. Without --wait it prints the task id (with --json:
{"id": …}); with --wait the output streams here and the exit code is the task's (with --json
the output goes to stderr and stdout gets {"id", "state", "node", "attempt", "exitCode"}).

Examples:
  $ bitacora run -- echo hello
  $ bitacora run --wait --prefers build --project proj-b -- make -j8
  $ bitacora run --wait --timeout 5m -- "npm ci && npm test"
  $ id=$(bitacora run --json --needs docker -- docker build . | jq -r .id)`,
    )
    .action(
      action<RunOptions>(ctx, async (run) => {
        const spec = buildSpec(run.args[0] as string[], run.opts);
        const client = run.client();
        const { task, created, warning } = await client.submitTask(spec);
        // Accepted all the same (a node that has it may join), but said at once.
        if (warning) ctx.stderr.write(`[bitacora] warning: ${warning}\n`);
        if (!run.opts.wait) {
          if (run.json) return printJson(ctx, { id: task.id, state: task.state, created, ...(warning ? { warning } : {}) });
          printLine(ctx, task.id);
          if (!created) ctx.stderr.write(`(idempotency key matched the existing task ${task.id}; nothing new was submitted)\n`);
          return;
        }
        const signal = run.stopSignal();
        ctx.stderr.write(`[bitacora] ${created ? 'submitted' : 'already submitted'} ${task.id}; waiting for it (Ctrl-C stops waiting, not the task)\n`);
        let lastState: string | null = null;
        let lastReason: string | null = null;
        const final = await client.followTaskLogs(task.id, chunkPrinter(ctx, { toStderr: run.json }), {
          signal,
          onTask: (t) => {
            if (t.state === 'pending' && t.attempt > 0 && lastState !== 'pending') ctx.stderr.write(`[bitacora] attempt ${t.attempt} ended without a result (${t.error ?? 'node lost'}); requeued\n`);
            lastState = t.state;
            // Why it waits: once, and again whenever the reason changes.
            const reason = t.state === 'pending' ? (t.waitingReason ?? null) : null;
            if (reason !== null && reason !== lastReason) ctx.stderr.write(`[bitacora] waiting: ${reason}\n`);
            lastReason = reason;
          },
        });
        const nameOf = nodeNamer(await client.listNodes().catch(() => []));
        if (!isTerminal(final.state)) {
          ctx.stderr.write(`[bitacora] stopped waiting; ${final.id} is still ${final.state}. Follow it: bitacora logs ${final.id} --follow · cancel it: bitacora cancel ${final.id}\n`);
          if (run.json) printJson(ctx, taskJson(final, nameOf));
          return INTERRUPTED;
        }
        ctx.stderr.write(`[bitacora] ${final.id} ${describeEnd(final, nameOf(final.nodeId))}\n`);
        if (run.json) printJson(ctx, taskJson(final, nameOf));
        return exitCodeOfTask(final);
      }),
    );
}
