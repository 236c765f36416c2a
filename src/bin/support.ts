/** Small helpers shared by the composition roots: a stderr logger and the package version. */
import { readFileSync } from 'node:fs';

export interface Log {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** `human` (the default): `time level [component] message`; `json`: one object per line for log shippers. */
export type LogFormat = 'human' | 'json';

/**
 * One line per message on stderr; BITACORA_QUIET=1 silences info. `json` lines are
 * `{"time","level","component","msg",…fields}` (fields that do not serialize are left out).
 */
export function stderrLogger(component: string, format: LogFormat = 'human'): Log {
  const quiet = process.env['BITACORA_QUIET'] === '1';
  const write = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => {
    const time = new Date().toISOString();
    if (format === 'json') process.stderr.write(`${jsonLine({ time, level, component, msg: message, ...plainFields(fields) })}\n`);
    else process.stderr.write(`${time} ${level.padEnd(5)} [${component}] ${message}\n`);
  };
  return {
    info: (m, f) => {
      if (!quiet) write('info', m, f);
    },
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

/** Fields as JSON can carry them: an Error becomes its message, the rest is kept if it serializes. */
function plainFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value instanceof Error) out[key] = value.message;
    else if (value !== undefined && typeof value !== 'function') out[key] = value;
  }
  return out;
}

function jsonLine(value: Record<string, unknown>): string {
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify({ time: value['time'], level: value['level'], component: value['component'], msg: value['msg'] });
  }
}

let version: string | null = null;

/** The version in package.json (dist/bin → ../../package.json). */
export function packageVersion(): string {
  if (version !== null) return version;
  try {
    version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    version = '0.0.0';
  }
  return version;
}

