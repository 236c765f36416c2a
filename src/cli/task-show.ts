/** `bitacora task show ID`: one task in detail (spec, placement, attempts, result). */
import type { Command } from 'commander';
import { formatDuration } from '../core/index.js';
import type { CliContext } from './context.js';
import { action, commandLine, formatTime } from './common.js';
import { printJson, printLine } from './output.js';

export function registerTaskShow(task: Command, ctx: CliContext): void {
  task
    .command('show')
    .description('show one task: command, constraints, where and how it ran')
    .argument('<task>', 'task id')
    .addHelpText('after', '\nExamples:\n  $ bitacora task show tsk_…\n  $ bitacora task show tsk_… --json | jq .exitCode')
    .action(
      action(ctx, async (run) => {
        const client = run.client();
        const t = await client.getTask(run.args[0] as string);
        let node: string | null = null;
        if (t.nodeId !== null) node = await client.getNode(t.nodeId).then((n) => n.name, () => t.nodeId);
        if (run.json) return printJson(ctx, { ...t, waitingReason: t.waitingReason ?? null, node });
        const took = t.startedAt !== null && t.finishedAt !== null ? formatDuration(t.finishedAt - t.startedAt) : '-';
        const rows: [string, string][] = [
          ['id', t.id], ['state', t.state], ...(t.waitingReason ? [['waiting', t.waitingReason] as [string, string]] : []), ['command', commandLine(t.command)], ['kind', t.kind], ['project', t.project ?? '-'],
          ['node', node ?? '-'], ['attempt', `${t.attempt} (lost-node retries used ${t.infraFailures} of ${t.maxRetries}; retries after failure used ${t.userFailures} of ${t.retryOnFailure})`],
          ['needs', t.needs.join(', ') || '-'], ['prefers', t.prefers.join(', ') || '-'], ['pinned to', t.pinnedNode ?? '-'],
          ['timeout', t.timeoutMs === null ? '-' : formatDuration(t.timeoutMs)], ['idempotency key', t.idempotencyKey ?? '-'],
          ['exit code', t.exitCode === null ? '-' : String(t.exitCode)], ['error', t.error ?? '-'],
          ['created', formatTime(t.createdAt)], ['started', formatTime(t.startedAt)], ['finished', formatTime(t.finishedAt)], ['took', took],
        ];
        for (const [k, v] of rows) printLine(ctx, `${k.padEnd(17)}${v}`);
        printLine(ctx);
        printLine(ctx, `output: bitacora logs ${t.id}`);
      }),
    );
}
