/**
 * The logbook side of the CLI: sessions, projects, topics, actions, sparks, the timeline,
 * approvals and local pipelines. The root program (global `--data-dir`, `--json`) calls
 * `registerLogbookCommands` once; every command opens `<dataDir>/fleet.db` and closes it.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerActionCommands } from './action-log.js';
import { registerApproveCommands } from './approve.js';
import { registerPipelineCheckCommand } from './pipeline-check.js';
import { registerPipelineRunCommand } from './pipeline-run.js';
import { registerProjectCommands } from './project.js';
import { registerSessionCommands } from './session.js';
import { registerSparkCommands } from './spark.js';
import { registerTimelineCommand } from './timeline.js';
import { registerTopicCommands } from './topic.js';

export function registerLogbookCommands(program: Command, ctx: CliContext): void {
  registerSessionCommands(program, ctx);
  registerProjectCommands(program, ctx);
  registerTopicCommands(program, ctx);
  registerActionCommands(program, ctx);
  registerSparkCommands(program, ctx);
  registerTimelineCommand(program, ctx);
  registerApproveCommands(program, ctx);
  const pipeline = program
    .command('pipeline')
    .description('validate and run pipeline files (a project\'s work written as YAML)')
    .addHelpText('after', `
Examples:
  $ bitacora pipeline check examples/demo-pipeline.yaml
  $ bitacora pipeline run --local examples/demo-pipeline.yaml
  $ bitacora pipeline run --local --yes --json examples/demo-pipeline.yaml > progress.ndjson`);
  registerPipelineCheckCommand(pipeline, ctx);
  registerPipelineRunCommand(pipeline, ctx);
}
