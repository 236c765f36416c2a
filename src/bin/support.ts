/** Small helpers shared by the composition roots: a stderr logger and the package version. */
import { readFileSync } from 'node:fs';

export interface Log {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One line per message on stderr, prefixed by time and component; BITACORA_QUIET=1 silences info. */
export function stderrLogger(component: string): Log {
  const quiet = process.env['BITACORA_QUIET'] === '1';
  const write = (level: string, message: string) =>
    process.stderr.write(`${new Date().toISOString()} ${level} [${component}] ${message}\n`);
  return {
    info: (m) => {
      if (!quiet) write('info ', m);
    },
    warn: (m) => write('warn ', m),
    error: (m) => write('error', m),
  };
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

