/**
 * Which master the CLI talks to, and with which token. Each of URL and token is taken from, in
 * order: `--url`/`--token`, `BITACORA_URL`/`BITACORA_TOKEN`, then `<dataDir>/client.json`
 * (`{ url, token, caFile? }`, written by `bitacora up` so the master's own machine needs no flags).
 * The CA an `https://` master must present a certificate from: `--ca-file`, `BITACORA_CA_FILE`,
 * then client.json's `caFile` — the last only when the URL came from client.json too (it names
 * that master's CA). Without one, the system's trusted CAs apply.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { BitacoraError, ErrorCode, issuesOf, ValidationError } from '../core/index.js';
import type { SecureTransport } from '../client/fleet-client.js';
import { nodeSecureTransport } from '../client/node-transport.js';

export interface ResolvedConnection {
  url: string;
  token: string;
  /** Where each came from, for error messages: 'flag', 'env' or the client.json path. */
  source: { url: string; token: string; ca?: string };
  /** The CA (PEM) the master's certificate must chain to, with the Node transport that enforces it. */
  caCertPem?: string;
  secureTransport?: SecureTransport;
}

export interface ConnectionInput {
  flags: { url?: string | undefined; token?: string | undefined; caFile?: string | undefined };
  /** Resolves a relative `--ca-file`/`BITACORA_CA_FILE`. Default: the process's working directory. */
  cwd?: string;
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
  /** Absolute path of the CA file, when the master serves HTTPS with the fleet CA. */
  caFile: z.string().min(1, 'must not be empty').optional(),
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

  let ca = input.flags.caFile ? { value: input.flags.caFile, from: '--ca-file' } : input.env['BITACORA_CA_FILE'] ? { value: input.env['BITACORA_CA_FILE'], from: 'BITACORA_CA_FILE' } : null;

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
      if (!url && result.data.caFile) ca ??= { value: result.data.caFile, from: path };
      url ??= { value: result.data.url, from: path };
      token ??= { value: result.data.token, from: path };
    }
    if (!url || !token) {
      const missing = !url && !token ? 'no master to talk to' : !url ? 'no master URL' : 'no API token';
      const message = `${missing}: start a master here with \`bitacora up\` (it writes ${path}), or pass --url and --token (or set BITACORA_URL and BITACORA_TOKEN)`;
      throw new ValidationError(message, [{ path: !url ? 'url' : 'token', message }]);
    }
  }
  const resolved: ResolvedConnection = { url: normalizeUrl(url.value, url.from), token: token.value, source: { url: url.from, token: token.from } };
  if (!ca) return resolved;
  if (!resolved.url.startsWith('https:')) {
    // A CA was asked for, so TLS was expected: do not send the token in clear text instead.
    const message = `${ca.from} names a CA but the master URL ${resolved.url} (from ${url.from}) is not https://`;
    throw new ValidationError(message, [{ path: 'caFile', message: 'needs an https:// URL' }]);
  }
  const caPath = isAbsolute(ca.value) ? ca.value : resolve(input.cwd ?? process.cwd(), ca.value);
  return { ...resolved, source: { ...resolved.source, ca: ca.from }, caCertPem: readCaFile(caPath, ca.from, read), secureTransport: nodeSecureTransport };
}

/** The PEM of a CA certificate file; ValidationError naming the file when it is missing or not a certificate. */
function readCaFile(path: string, from: string, read: (path: string) => string | null): string {
  const text = read(path);
  if (text === null) throw new ValidationError(`${from}: the CA file ${path} does not exist`, [{ path: 'caFile', message: 'no such file' }]);
  try {
    new X509Certificate(text);
  } catch {
    throw new ValidationError(`${from}: ${path} is not a PEM certificate`, [{ path: 'caFile', message: 'not a PEM certificate' }]);
  }
  return text;
}
