/** Where a node keeps its state. Pure: the caller passes the environment and working directory in. */
import { isAbsolute, resolve } from 'node:path';
import { ValidationError } from '../core/index.js';

/** Default data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = '.bitacora';
export const DATA_DIR_ENV = 'BITACORA_DATA_DIR';

export interface DataDirInputs {
  /** `--data-dir`, when given; wins over everything. */
  flag?: string | undefined;
  /** The process environment; `BITACORA_DATA_DIR` is read (an empty value counts as unset). */
  env: Readonly<Record<string, string | undefined>>;
  /** Absolute working directory; relative paths resolve against it. */
  cwd: string;
}

/** `--data-dir` > `$BITACORA_DATA_DIR` > `./.bitacora`, as an absolute path. ValidationError for an empty flag or relative cwd. */
export function resolveDataDir({ flag, env, cwd }: DataDirInputs): string {
  if (!isAbsolute(cwd)) throw new ValidationError(`the working directory must be absolute, got ${JSON.stringify(cwd)}`, [{ path: 'cwd', message: 'must be absolute' }]);
  if (flag !== undefined && flag.trim() === '') {
    throw new ValidationError('--data-dir must not be empty', [{ path: 'dataDir', message: 'must not be empty' }]);
  }
  const fromEnv = env[DATA_DIR_ENV];
  const chosen = flag ?? (fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : DEFAULT_DATA_DIR);
  return resolve(cwd, chosen);
}
