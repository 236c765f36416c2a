/**
 * `--config FILE` of `up` and `join` (also `$BITACORA_CONFIG`), and `bitacora config check FILE`:
 * reads and validates the configuration file (config/file.ts) and resolves the data directory
 * with its precedence: `--data-dir` > `$BITACORA_DATA_DIR` > the file's `dataDir` > ./.bitacora.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DATA_DIR_ENV, parseFleetFile, resolveDataDir, type FleetFile } from '../config/index.js';
import { ValidationError } from '../core/index.js';
import type { CliContext } from './context.js';
import { action, type Run } from './common.js';
import { printJson, printLine } from './output.js';

export const CONFIG_ENV = 'BITACORA_CONFIG';

/** The file named by `--config` or `$BITACORA_CONFIG`, validated; null when neither is set. */
export function configFileOf(run: Run<{ config?: string }>): { path: string; file: FleetFile } | null {
  const given = run.opts.config ?? run.ctx.env[CONFIG_ENV];
  if (given === undefined || given.trim() === '') return null;
  const path = resolve(run.ctx.cwd, given);
  return { path, file: readFleetFile(path) };
}

export function readFleetFile(path: string): FleetFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValidationError(`cannot read the configuration file ${path}: ${(err as Error).message}`, [{ path: '--config', message: 'unreadable file' }]);
  }
  return parseFleetFile(text, path);
}

/** Data directory: flag > environment > file > default. */
export function dataDirWith(run: Run<unknown>, file: FleetFile | null): string {
  const env = run.ctx.env[DATA_DIR_ENV];
  const fromFile = env === undefined || env.trim() === '' ? file?.dataDir ?? undefined : undefined;
  const flag = run.globals.dataDir ?? fromFile;
  return resolveDataDir({ flag, env: run.ctx.env, cwd: run.ctx.cwd });
}

/** `enabled: false` in the file: nothing to start, said plainly (exit 2). */
export function refuseIfDisabled(config: { path: string; file: FleetFile } | null, command: string): void {
  if (config && !config.file.enabled) {
    throw new ValidationError(`${config.path} says enabled: false: this machine takes no part in a fleet, so \`bitacora ${command}\` starts nothing`, [
      { path: 'enabled', message: 'is false' },
    ]);
  }
}

export function registerConfigCheck(config: Command, ctx: CliContext): void {
  config
    .command('check')
    .description('validate a configuration file for `up`/`join --config` without starting anything; exit 2 naming every problem')
    .argument('<file>', 'the YAML file')
    .addHelpText('after', '\nExamples:\n  $ bitacora config check examples/bitacora.yaml\n  $ bitacora config check fleet.yaml --json')
    .action(
      action(ctx, (run) => {
        const path = resolve(ctx.cwd, run.args[0] as string);
        const file = readFleetFile(path);
        if (run.json) return printJson(ctx, { ok: true, file: path, ...file });
        const parts = [
          `node_type ${file.nodeType ?? '(any)'}`,
          file.nodeId ? `node_id ${file.nodeId}` : null,
          file.discoveryPeers.length > 0 ? `discovery_peers ${file.discoveryPeers.join(', ')}` : null,
          `up: ${Object.keys(file.up).join(', ') || '-'}`,
          `join: ${Object.keys(file.join).join(', ') || '-'}`,
        ].filter((p): p is string => p !== null);
        printLine(ctx, `${path} is valid${file.enabled ? '' : ' (enabled: false: up and join start nothing)'}: ${parts.join('; ')}.`);
      }),
    );
}
