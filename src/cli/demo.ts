/** `bitacora demo`: a local three-node fleet plays the seed's story and prints a summary. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { action } from './common.js';
import type { CliContext } from './context.js';
import { DemoFleet } from './demo/fleet-processes.js';
import { playDemo } from './demo/story.js';
import { printJson, printLine, printTable } from './output.js';

interface DemoOptions {
  keep?: boolean;
}

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('start a local three-node fleet (master, worker-1 build, worker-2 test), kill worker-1 mid-build, show the work move on')
    .option('--keep', 'keep the demo data directories and logs afterwards')
    .addHelpText(
      'after',
      `
The demo starts real processes on 127.0.0.1 with their own data directories under a
temporary folder — \`bitacora up --local-worker\` and two \`bitacora join\` — and uses the same
API as the CLI. It exits 0 when every task ended with exactly one accepted result.

Examples:
  $ bitacora demo
  $ bitacora demo --json --keep     # machine-readable summary; keep logs for a look`,
    )
    .action(
      action<DemoOptions>(ctx, async (run) => {
        const baseDir = mkdtempSync(join(tmpdir(), 'bitacora-demo-'));
        const fleet = new DemoFleet(ctx.deps, baseDir);
        const say = (line: string) => (run.json ? ctx.stderr.write(`${line}\n`) : printLine(ctx, line));
        try {
          const report = await playDemo(fleet, say, run.stopSignal());
          if (run.json) printJson(ctx, report);
          else {
            printLine(ctx);
            printTable(ctx, ['TASK', 'PROJECT', 'STATE', 'NODE', 'ATTEMPTS'],
              report.tasks.map((t) => [t.name, t.project ?? '-', t.state, t.node ?? '-', String(t.attempt)]));
            printLine(ctx);
            printLine(ctx, report.ok
              ? `✔ all ${report.tasks.length} tasks succeeded; ${report.movedTasks.length} moved off the killed ${report.killedNode} with a new attempt, and ${report.killedNode} rejoined.`
              : `✘ ${report.problems.join('; ')}`);
          }
          return report.ok ? 0 : 1;
        } finally {
          await fleet.stopAll();
          if (run.opts.keep) say(`demo data and logs kept in ${baseDir}`);
          else rmSync(baseDir, { recursive: true, force: true });
        }
      }),
    );
}
