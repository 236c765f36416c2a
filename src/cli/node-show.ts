/** `bitacora node show ID`: one node in detail. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { action, formatAge, formatTime } from './common.js';
import { nodeJson } from './nodes.js';
import { printJson, printLine } from './output.js';

export function registerNodeShow(node: Command, ctx: CliContext): void {
  node
    .command('show')
    .description('show one node: role, status, capabilities, resources, heartbeat')
    .argument('<node>', 'node name or id')
    .addHelpText('after', '\nExamples:\n  $ bitacora node show worker-1\n  $ bitacora node show worker-1 --json')
    .action(
      action(ctx, async (run) => {
        const n = await run.client().getNode(run.args[0] as string);
        if (run.json) return printJson(ctx, nodeJson(n));
        const rows: [string, string][] = [
          ['name', n.name], ['id', n.id], ['role', n.role], ['status', n.status],
          ['tasks', `${n.runningTasks} running of capacity ${n.capacity}`],
          ['capabilities', n.capabilities.join(', ') || '-'], ['specializations', n.specializations.join(', ') || '-'],
          ['resources', `${n.resources.cpus} cpus, ${(n.resources.memoryBytes / 2 ** 30).toFixed(1)} GiB, load ${n.resources.load.toFixed(2)}`],
          ['heartbeat', n.lastHeartbeatAt === null ? '-' : `${formatTime(n.lastHeartbeatAt)} (${formatAge(n.lastHeartbeatAt)})`],
          ['joined', formatTime(n.joinedAt)], ['agent', n.agentVersion], ['address', n.address ?? '-'],
        ];
        for (const [k, v] of rows) printLine(ctx, `${k.padEnd(16)}${v}`);
      }),
    );
}
