/** `bitacora nodes`: the members of the fleet as a table (or JSON). */
import type { Command } from 'commander';
import type { FleetNode } from '../core/index.js';
import type { CliContext } from './context.js';
import { action, cell, formatAge } from './common.js';
import { printJson, printLine, printTable } from './output.js';

/** The JSON shape scripts rely on: at least id, name, role, status. */
export function nodeJson(node: FleetNode) {
  return {
    id: node.id, name: node.name, role: node.role, status: node.status,
    capabilities: node.capabilities, specializations: node.specializations, capacity: node.capacity,
    runningTasks: node.runningTasks, resources: node.resources, lastHeartbeatAt: node.lastHeartbeatAt,
    joinedAt: node.joinedAt, agentVersion: node.agentVersion, address: node.address,
  };
}

export function registerNodes(program: Command, ctx: CliContext): void {
  program
    .command('nodes')
    .description('list the nodes of the fleet: role, status, load, last heartbeat')
    .addHelpText(
      'after',
      `
Statuses: joining, ready, draining, down (missed heartbeats), left.
With --json prints an array of {"id", "name", "role", "status", …}.

Examples:
  $ bitacora nodes
  $ bitacora nodes --json | jq -r '.[] | select(.status == "down") | .name'`,
    )
    .action(
      action(ctx, async (run) => {
        const nodes = await run.client().listNodes();
        if (run.json) return printJson(ctx, nodes.map(nodeJson));
        if (nodes.length === 0) {
          printLine(ctx, 'no nodes yet: run `bitacora up --local-worker`, or join a machine with the command `bitacora token create` prints');
          return;
        }
        const now = Date.now();
        printTable(
          ctx,
          ['NAME', 'ID', 'ROLE', 'STATUS', 'TASKS', 'LOAD', 'HEARTBEAT', 'CAPABILITIES', 'SPECIALIZATIONS'],
          nodes.map((n) => [
            n.name, n.id, n.role, n.status, `${n.runningTasks}/${n.capacity}`, n.resources.load.toFixed(2),
            formatAge(n.lastHeartbeatAt, now), cell(n.capabilities.join(','), 30), cell(n.specializations.join(','), 30),
          ]),
        );
      }),
    );
}
