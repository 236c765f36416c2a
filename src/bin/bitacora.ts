#!/usr/bin/env node
/**
 * The `bitacora` executable: wires the concrete implementations (SQLite backbone, process
 * runner, workspaces on disk, master and agent processes) into the CLI and exits with its code.
 */
import { join } from 'node:path';
import { DirectoryWorkspaces } from '../agent/runner/workspaces.js';
import { ProcessRunner } from '../agent/runner/process-runner.js';
import type { CliContext, CliDeps } from '../cli/context.js';
import { runCli } from '../cli/program.js';
import { openSqliteBackbone } from '../store/sqlite/index.js';
import { spawnSelf } from './spawn-self.js';

const deps: CliDeps = {
  openBackbone: (dataDir) => openSqliteBackbone({ file: join(dataDir, 'fleet.db') }),
  newCommandRunner: () => new ProcessRunner(),
  newWorkspaces: (root) => new DirectoryWorkspaces(root),
  // Loaded on demand: gRPC, TLS and the coordinator are only needed by `up` and `join`.
  startMaster: async (options) => (await import('./master.js')).startMaster(options),
  startAgent: async (options) => (await import('./agent-main.js')).startAgent(options),
  spawnSelf,
};

let stop: AbortController | null = null;
/** First SIGINT/SIGTERM asks the running command to stop cleanly; a second one exits at once. */
function stopSignal(): AbortSignal {
  if (!stop) {
    const controller = new AbortController();
    stop = controller;
    let received = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      received++;
      if (received > 1) {
        process.stderr.write(`\nreceived ${signal} again: exiting now\n`);
        process.exit(130);
      }
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return stop.signal;
}

const ctx: CliContext = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), deps, stopSignal };

const code = await runCli(process.argv.slice(2), ctx);
process.exitCode = code;
// Whatever a library left open (a keep-alive socket, a timer) must not keep a finished CLI alive.
setTimeout(() => process.exit(code), 2000).unref();
