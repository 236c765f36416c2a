/**
 * Which master the CLI talks to, and with which token. Each of URL and token is taken from, in
 * order: `--url`/`--token`, `BITACORA_URL`/`BITACORA_TOKEN`, then `<dataDir>/client.json`
 * (`{ url, token }`, written by `bitacora up` so the master's own machine needs no flags).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BitacoraError, ErrorCode, issuesOf, ValidationError } from '../core/index.js';

export interface ResolvedConnection {
  url: string;
  token: string;
  /** Where each came from, for error messages: 'flag', 'env' or the client.json path. */
  source: { url: string; token: string };
}

export interface ConnectionInput {
  flags: { url?: string | undefined; token?: string | undefined };
  env: NodeJS.ProcessEnv;
  /** Lazy: only resolved when a flag or variable is missing. */
  dataDir: () => string;
  /** Injected by tests; default reads the file, null when it does not exist. */
  readFile?: (path: string) => string | null;
}

export const CLIENT_FILE = 'client.json';

const clientFileSchema = z.object({
  url: z.string().min(1, 'must not be empty'),
  token: z.string().min(1, 'must not be empty'),
});

function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw new BitacoraError(ErrorCode.Internal, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** `127.0.0.1:7700` → `http://127.0.0.1:7700`; anything but http(s) is refused. */
export function normalizeUrl(text: string, from: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ValidationError(`${from}: '${text}' is not a URL; write it like http://127.0.0.1:7700`, [{ path: 'url', message: 'not a URL' }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ValidationError(`${from}: '${text}' must be an http:// or https:// URL`, [{ path: 'url', message: 'not http(s)' }]);
  }
  return url.toString().replace(/\/+$/, '');
}

export function resolveConnection(input: ConnectionInput): ResolvedConnection {
  const read = input.readFile ?? readIfExists;
  let url = input.flags.url ? { value: input.flags.url, from: '--url' } : input.env['BITACORA_URL'] ? { value: input.env['BITACORA_URL'], from: 'BITACORA_URL' } : null;
  let token = input.flags.token ? { value: input.flags.token, from: '--token' } : input.env['BITACORA_TOKEN'] ? { value: input.env['BITACORA_TOKEN'], from: 'BITACORA_TOKEN' } : null;

  if (!url || !token) {
    const path = join(input.dataDir(), CLIENT_FILE);
    const text = read(path);
    if (text !== null) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new ValidationError(`${path} is not valid JSON: delete it and restart \`bitacora up\`, or pass --url and --token`, [{ path: CLIENT_FILE, message: 'invalid JSON' }]);
      }
      const result = clientFileSchema.safeParse(parsed);
      if (!result.success) {
        const issues = issuesOf(result.error);
        throw new ValidationError(`${path} is malformed (${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}): restart \`bitacora up\` to rewrite it, or pass --url and --token`, issues);
      }
      url ??= { value: result.data.url, from: path };
      token ??= { value: result.data.token, from: path };
    }
    if (!url || !token) {
      const missing = !url && !token ? 'no master to talk to' : !url ? 'no master URL' : 'no API token';
      const message = `${missing}: start a master here with \`bitacora up\` (it writes ${path}), or pass --url and --token (or set BITACORA_URL and BITACORA_TOKEN)`;
      throw new ValidationError(message, [{ path: !url ? 'url' : 'token', message }]);
    }
  }
  return { url: normalizeUrl(url.value, url.from), token: token.value, source: { url: url.from, token: token.from } };
}
