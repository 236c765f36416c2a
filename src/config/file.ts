/**
 * The configuration file of `bitacora up|join --config FILE` (YAML): the seed's FleetConfig
 * fields (`enabled`, `node_id`, `node_type`, `discovery_peers`), `dataDir`, and one section per
 * command — `up:` takes every option of the master (masterOptionsSchema: addresses, TLS, lease,
 * heartbeat, …) and `join:` every option of an agent (agentOptionsSchema: role, name,
 * capabilities, capacity, serve lists, heartbeat, reconnect, …). Validated with those same
 * schemas; every problem is reported at once with its path in the file. Pure: text in.
 *
 * Precedence (applied by the commands): flag > environment > file > default.
 */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { issuesOf, slugSchema, ValidationError, type ValidationIssue } from '../core/index.js';
import { agentOptionsSchema, type AgentOptions } from './agent.js';
import { masterOptionsSchema, type MasterOptions } from './master.js';

const fleetFileSchema = z.strictObject({
  /** false: this machine takes no part in a fleet; `up` and `join` refuse to start. Default true. */
  enabled: z.boolean().default(true),
  /** The node's name: `join --name`, and the name of `up`'s local worker. Default: the host name. */
  node_id: slugSchema.optional(),
  /** master (`up`), worker or hybrid (`join --role`; a hybrid `up` also runs a local worker). */
  node_type: z.enum(['master', 'worker', 'hybrid']).optional(),
  /** Masters to dial: `join` uses the first when no URL is on its command line. */
  discovery_peers: z.array(z.string().min(1).max(2048)).max(16).optional(),
  /** `--data-dir`. Relative to the working directory. */
  dataDir: z.string().min(1).optional(),
  /** Options of `bitacora up`, named as in masterOptionsSchema (e.g. `heartbeatInterval: 500ms`). */
  up: z.record(z.string(), z.unknown()).optional(),
  /** Options of `bitacora join`, named as in agentOptionsSchema (e.g. `capabilities: [linux, docker]`). */
  join: z.record(z.string(), z.unknown()).optional(),
});

export interface FleetFile {
  enabled: boolean;
  nodeId: string | null;
  nodeType: 'master' | 'worker' | 'hybrid' | null;
  discoveryPeers: string[];
  dataDir: string | null;
  /** Validated by masterOptionsSchema; only the keys the file sets. */
  up: Partial<MasterOptions>;
  /** Validated by agentOptionsSchema (without masterUrl); only the keys the file sets. */
  join: Partial<Omit<AgentOptions, 'masterUrl'>>;
}

/** Stands in for the master's URL while the `join:` section is checked alone (the real one may come from the command line). */
const PLACEHOLDER_MASTER = 'http://placeholder.invalid:7700';

/** Parses and validates a configuration file's text. ValidationError naming `file` and every problem with its path. */
export function parseFleetFile(text: string, file: string): FleetFile {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    const at = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new ValidationError(`${file} is not valid YAML${at}: ${(err as Error).message.split('\n')[0]}`, [{ path: '', message: 'syntax error' }]);
  }
  const issues: ValidationIssue[] = [];
  const top = fleetFileSchema.safeParse(raw);
  if (!top.success) issues.push(...prefixed('', issuesOf(top.error)));
  const data = top.success ? top.data : looseSections(raw);
  if (data.up) {
    const up = masterOptionsSchema.safeParse(data.up);
    if (!up.success) issues.push(...prefixed('up', issuesOf(up.error)));
  }
  if (data.join) {
    if ('masterUrl' in data.join) issues.push({ path: 'join.masterUrl', message: 'name the master in discovery_peers (or on the command line), not here' });
    else {
      const join = agentOptionsSchema.safeParse({ masterUrl: PLACEHOLDER_MASTER, ...data.join });
      if (!join.success) issues.push(...prefixed('join', issuesOf(join.error)));
    }
  }
  const peers = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)['discovery_peers'] : undefined;
  for (const [i, peer] of (Array.isArray(peers) ? peers : []).entries()) {
    if (typeof peer !== 'string') continue; // the file schema said so already
    const checked = agentOptionsSchema.safeParse({ masterUrl: peer });
    if (!checked.success) issues.push(...prefixed(`discovery_peers[${i}]`, issuesOf(checked.error).map((x) => ({ ...x, path: '' }))));
  }
  if (issues.length > 0 || !top.success) {
    throw new ValidationError(`invalid configuration file ${file}:\n${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('\n')}`, issues);
  }
  const f = top.data;
  return {
    enabled: f.enabled,
    nodeId: f.node_id ?? null,
    nodeType: f.node_type ?? null,
    discoveryPeers: f.discovery_peers ?? [],
    dataDir: f.dataDir ?? null,
    up: (f.up ?? {}) as Partial<MasterOptions>,
    join: normalizedJoin(f.join ?? {}),
  };
}

/** The `join:` keys the file sets, in the schema's normalized form (`capabilities: "a, b"` → ['a', 'b']); defaults left out. */
function normalizedJoin(raw: Record<string, unknown>): Partial<Omit<AgentOptions, 'masterUrl'>> {
  const parsed = agentOptionsSchema.parse({ masterUrl: PLACEHOLDER_MASTER, ...raw }) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) out[key] = parsed[key];
  return out as Partial<Omit<AgentOptions, 'masterUrl'>>;
}

/** When the top level is invalid, still check the sections that look like sections, so every problem is reported at once. */
function looseSections(raw: unknown): { up?: Record<string, unknown>; join?: Record<string, unknown> } {
  if (raw === null || typeof raw !== 'object') return {};
  const o = raw as Record<string, unknown>;
  const section = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const up = section(o['up']);
  const join = section(o['join']);
  return { ...(up ? { up } : {}), ...(join ? { join } : {}) };
}

/** Paths relative to a section made absolute in the file; an unknown key gets its own path (`up.flavour`). */
function prefixed(prefix: string, issues: ValidationIssue[]): ValidationIssue[] {
  const under = (path: string) => (prefix === '' ? path : path === '' ? prefix : path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`);
  return issues.flatMap((i) => {
    const unknown = /^Unrecognized keys?: (.+)$/.exec(i.message);
    if (!unknown) return [{ path: under(i.path), message: i.message }];
    const keys = [...unknown[1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
    return keys.map((key) => ({ path: under(i.path === '' ? key : `${i.path}.${key}`), message: 'is not an option here (see examples/bitacora.yaml)' }));
  });
}
