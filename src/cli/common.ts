/**
 * Plumbing shared by the fleet commands: global options, the action wrapper that turns errors
 * into exit codes, the API client for the resolved master, option parsers that fail with exit 2
 * and a message naming the fix, and small formatting helpers for tables.
 */
import type { Command } from 'commander';
import { resolveDataDir } from '../config/index.js';
import { FleetClient } from '../client/index.js';
import { BitacoraError, capabilitySchema, ErrorCode, parseDuration, ValidationError, type FleetNode } from '../core/index.js';
import { resolveConnection, type ResolvedConnection } from './connection.js';
import type { CliContext } from './context.js';
import { CliExit, reportError } from './output.js';

/** Options every command inherits from the program. */
export interface GlobalOptions {
  dataDir?: string;
  url?: string;
  token?: string;
  json?: boolean;
}

export interface Run<O> {
  ctx: CliContext;
  command: Command;
  /** Positional arguments as commander parsed them (variadic ones are arrays). */
  args: unknown[];
  opts: O;
  globals: GlobalOptions;
  json: boolean;
  /** `--data-dir` > BITACORA_DATA_DIR > ./.bitacora, resolved on first use. */
  dataDir(): string;
  /** A client for the master named by --url/--token, the environment or <dataDir>/client.json. */
  client(): FleetClient;
  /** Aborted on SIGINT/SIGTERM (never, when the context has no signal source). */
  stopSignal(): AbortSignal;
}

/**
 * Wraps a command body for `.action()`. Errors are reported here (human or `--json`) and
 * rethrown as a message-less CliExit carrying the exit code, so the program runner gets the
 * code without printing twice. A body may return a non-zero code after printing its own output.
 */
export function action<O>(ctx: CliContext, body: (run: Run<O>) => Promise<number | void> | number | void) {
  return async (...actionArgs: unknown[]): Promise<void> => {
    const command = actionArgs[actionArgs.length - 1] as Command;
    const globals = command.optsWithGlobals<GlobalOptions>();
    const json = globals.json === true;
    let dataDir: string | null = null;
    let client: FleetClient | null = null;
    let connection: ResolvedConnection | null = null;
    const run: Run<O> = {
      ctx,
      command,
      args: command.processedArgs,
      opts: command.opts<O & Record<string, unknown>>(),
      globals,
      json,
      dataDir: () => (dataDir ??= resolveDataDir({ flag: globals.dataDir, env: ctx.env, cwd: ctx.cwd })),
      client: () => {
        connection ??= resolveConnection({ flags: globals, env: ctx.env, dataDir: run.dataDir, cwd: ctx.cwd });
        return (client ??= new FleetClient(connection));
      },
      stopSignal: () => ctx.stopSignal?.() ?? new AbortController().signal,
    };
    let code: number | void;
    try {
      code = await body(run);
    } catch (err) {
      throw new CliExit(reportError(ctx, withConnectionHint(err, connection), json));
    }
    if (typeof code === 'number' && code !== 0) throw new CliExit(code);
  };
}

/** A refused token: say where the CLI took it from, since that is what the user must fix. */
function withConnectionHint(err: unknown, connection: ResolvedConnection | null): unknown {
  if (!(err instanceof BitacoraError) || err.code !== ErrorCode.Unauthenticated || connection === null) return err;
  const hint = `the master at ${connection.url} refused the token from ${connection.source.token}; pass the admin token that \`bitacora up\` printed with --token (or BITACORA_TOKEN)`;
  return new BitacoraError(err.code, hint, { details: err.details, cause: err });
}

export function invalid(option: string, message: string): ValidationError {
  return new ValidationError(`${option}: ${message}`, [{ path: option, message }]);
}

/** `a,b , c` → ['a','b','c']; undefined → []. */
export function parseList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** A comma list of capabilities/specializations, each a lowercase word. */
export function parseCapabilities(option: string, value: string | undefined): string[] {
  const list = parseList(value);
  for (const item of list) {
    if (!capabilitySchema.safeParse(item).success) {
      throw invalid(option, `'${item}' is not a capability: use lowercase words (a-z, 0-9, ".", "_", "-"), comma-separated, e.g. linux,docker`);
    }
  }
  return list;
}

export function parseChoice<T extends string>(option: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw invalid(option, `'${value}' is not one of ${allowed.join(', ')}`);
}

export function parseIntegerOption(option: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw invalid(option, `'${value}' must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** `30s`, `500ms`, `1h` → milliseconds. */
export function parseDurationOption(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === null || ms <= 0) throw invalid(option, `'${value}' is not a duration; write it like 500ms, 30s, 5m or 1h`);
  return ms;
}

/** Local time as `YYYY-MM-DD HH:MM:SS`. */
export function formatTime(ms: number | null): string {
  if (ms === null) return '-';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `45s`, `59m`, `1h`, `2d 3h`: a rounded span for humans (expiry, age). */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h}h` : `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d}d` : `${d}d ${h % 24}h`;
}

/** `3s ago`, `5m ago`: how fresh a heartbeat is. */
export function formatAge(ms: number | null, now = Date.now()): string {
  if (ms === null) return '-';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** Shortens text for a table cell, keeping it on one line. */
export function cell(text: string | null | undefined, max = 50): string {
  if (text === null || text === undefined || text === '') return '-';
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** argv as a shell-like line for display: `sh -c 'make test'`. */
export function commandLine(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** id → name for showing nodes by name; a node removed since keeps its id. */
export function nodeNamer(nodes: FleetNode[]): (id: string | null) => string | null {
  const names = new Map(nodes.map((n) => [n.id, n.name]));
  return (id) => (id === null ? null : (names.get(id) ?? id));
}
