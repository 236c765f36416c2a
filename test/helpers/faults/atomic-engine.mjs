#!/usr/bin/env node
// One incarnation of the local engine on a SQLite logbook, for crash tests of atomic actions
// (extends test/engine/fixtures/run-until-killed.mjs). argv[2]: JSON
//   { db, workspaces, recover?: boolean, pipeline?: file, dieAt?: phase }
// The engine is composed by the CLI's own code (src/cli/logbook/local-engine.ts, as
// `bitacora pipeline run --local` does): every command carries the logbook's owner marker,
// and `recover` first kills what a crashed earlier incarnation left running, then resolves
// what it left in doubt — the CLI's start-up. With `pipeline` it then runs it; `dieAt` makes
// the process SIGKILL itself the moment that action phase has been persisted (the engine
// persists a phase before it emits it) — a crash at an exact point of the two-phase commit,
// e.g. between prepare and commit. Prints JSON lines: {event:'phase'}, {event:'recovered', killed, report}, {event:'finished'}.
import { readFileSync } from 'node:fs';
import { ProcessRunner } from '../../../dist/agent/runner/process-runner.js';
import { DirectoryWorkspaces } from '../../../dist/agent/runner/workspaces.js';
import { parsePipeline } from '../../../dist/core/pipeline/index.js';
import { newLocalEngine, recoverOnStart } from '../../../dist/cli/logbook/local-engine.js';
import { systemClock } from '../../../dist/engine/index.js';
import { openSqliteBackbone } from '../../../dist/store/sqlite/index.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const backbone = await openSqliteBackbone({ file: options.db });
const manager = newLocalEngine(options.db, {
  runner: new ProcessRunner(),
  workspaces: new DirectoryWorkspaces(options.workspaces),
  clock: systemClock,
  logbook: backbone,
  onProgress: (event) => {
    if (event.type !== 'action.phase') return;
    out({ event: 'phase', phase: event.phase, actionId: event.actionId });
    if (event.phase === options.dieAt) process.kill(process.pid, 'SIGKILL');
  },
});
if (options.recover) {
  const { killed, recovered } = await recoverOnStart(manager);
  out({ event: 'recovered', killed, report: recovered });
}
if (options.pipeline) {
  const result = await manager.runPipelines([{ pipeline: parsePipeline(readFileSync(options.pipeline, 'utf8'), options.pipeline) }]);
  out({ event: 'finished', ok: result.ok });
}
await backbone.close();
