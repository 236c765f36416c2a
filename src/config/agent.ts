/**
 * An agent's options (`bitacora join` flags, environment) → its compiled configuration:
 * validated, fully defaulted, frozen. Defaults that depend on the machine (name, capacity)
 * come from the context, so compiling stays pure.
 */
import { z } from 'zod';
import { slugSchema } from '../core/index.js';
import { deepFreeze, parseOptions, type ConfigContext, type DeepReadonly } from './compile.js';
import { resolveDataDir } from './data-dir.js';
import { formatHostPort, parseHostPort } from './host-port.js';
import { address, type Address } from './master.js';
import { capabilityList, durationMs, integer, sizeBytes } from './values.js';

const SECOND = 1000;
const DAY = 86_400_000;

/** The master's HTTP port when the join URL names none. */
export const DEFAULT_MASTER_HTTP_PORT = 7700;

export const AGENT_DEFAULTS = Object.freeze({
  role: 'worker' as const,
  heartbeatIntervalMs: 1000,
  selfFenceAfterMs: 15 * SECOND,
  outputLimitBytes: 1024 * 1024,
  killGraceMs: 2000,
  reconnectInitialDelayMs: 250,
  reconnectMaxDelayMs: 10 * SECOND,
});

/** What the machine says about itself; `processContext()` reads it from the real process. */
export interface AgentContext extends ConfigContext {
  /** os.hostname(): the default node name, as a slug. */
  hostname: string;
  /** Usable CPUs: the default capacity. */
  cpus: number;
}

const masterUrl = z.string().transform((text, ctx) => {
  const parsed = parseMasterUrl(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

export const agentOptionsSchema = z
  .object({
    /** The master's URL as `bitacora up` prints it (`http://10.0.0.5:7700`); `host:port` means http. Required. */
    masterUrl: masterUrl,
    /** One-time join token; only for the first join. Default none. */
    token: z.string().trim().min(1).max(512).regex(/^\S+$/, 'must not contain spaces').optional(),
    /** Fingerprint of the fleet CA to pin, `sha256:<64 hex>`. Default none (trust on first use). */
    caHash: z
      .string()
      .trim()
      .regex(/^sha256:[0-9a-fA-F]{64}$/, 'must be sha256: followed by 64 hex digits, as printed by `bitacora up`')
      .transform((s) => s.toLowerCase())
      .optional(),
    /** worker (executes) or hybrid (executes, can coordinate). Default worker. */
    role: z.enum(['worker', 'hybrid']).default(AGENT_DEFAULTS.role),
    /** Node name. Default: the host name as a slug. */
    name: slugSchema.optional(),
    /** Capabilities offered (hard constraints of tasks). Default none. */
    capabilities: capabilityList.default([]),
    /**
     * `--serve-only`: the only capabilities this node serves (each must be among `capabilities`);
     * only these are advertised, and an assignment needing anything else is refused by the node.
     * Default: every capability in `capabilities`.
     */
    serveOnly: capabilityList.optional(),
    /**
     * `--serve-projects`: the only projects whose tasks this node runs ('default' = tasks without
     * a project); anything else is refused by the node, whatever the master sends. Default: all.
     */
    serveProjects: z
      .union([z.array(z.string()), z.string().transform((s) => (s.trim() === '' ? [] : s.split(',')))])
      .transform((items) => [...new Set(items.map((i) => i.trim()))])
      .pipe(z.array(slugSchema).min(1, 'name at least one project').max(256, 'at most 256 projects'))
      .optional(),
    /**
     * What the machine was found to have (`os:linux`, `arch:x64`, tools on PATH; agent's
     * machine-fingerprint.ts), advertised beside `capabilities` unless `fingerprint` is false.
     * Set by the composition root, not by users. Default none.
     */
    detectedCapabilities: capabilityList.default([]),
    /** Advertise `detectedCapabilities`. Default true. */
    fingerprint: z.boolean().default(true),
    /** Specializations (affinity), e.g. build,test. Default none. */
    specializations: capabilityList.default([]),
    /** Tasks run at once. Default: the number of CPUs. */
    capacity: integer({ min: 1, max: 1024 }).optional(),
    /** `--data-dir`. Default: `$BITACORA_DATA_DIR`, else `./.bitacora`. */
    dataDir: z.string().optional(),
    /** Heartbeat interval until the master's welcome says otherwise. Default 1s. */
    heartbeatInterval: durationMs({ min: 50, max: 3_600_000 }).default(AGENT_DEFAULTS.heartbeatIntervalMs),
    /** Cut off from the master this long, the agent stops its own tasks (the master's welcome may override). Default 15s. */
    selfFenceAfter: durationMs({ min: 100, max: DAY }).default(AGENT_DEFAULTS.selfFenceAfterMs),
    /** Output kept per task attempt. Default 1MiB. */
    outputLimit: sizeBytes({ min: 1024, max: 1024 ** 3 }).default(AGENT_DEFAULTS.outputLimitBytes),
    /** After SIGTERM, how long before SIGKILL. Default 2s. */
    killGrace: durationMs({ min: 0, max: 600 * SECOND }).default(AGENT_DEFAULTS.killGraceMs),
    /** First reconnect delay; doubles up to reconnectMaxDelay (with jitter). Default 250ms. */
    reconnectInitialDelay: durationMs({ min: 10, max: 60 * SECOND }).default(AGENT_DEFAULTS.reconnectInitialDelayMs),
    /** Longest reconnect delay. Default 10s. */
    reconnectMaxDelay: durationMs({ min: 10, max: 600 * SECOND }).default(AGENT_DEFAULTS.reconnectMaxDelayMs),
  })
  .strict()
  .superRefine((o, ctx) => {
    const all = allCapabilities(o);
    for (const [i, cap] of (o.serveOnly ?? []).entries()) {
      if (!all.includes(cap)) {
        ctx.addIssue({ code: 'custom', path: ['serveOnly', i], message: `'${cap}' is not among the node's capabilities (${all.join(', ') || 'none'}): serveOnly can only restrict them` });
      }
    }
    if (o.reconnectMaxDelay < o.reconnectInitialDelay) {
      ctx.addIssue({ code: 'custom', path: ['reconnectMaxDelay'], message: 'must be at least reconnectInitialDelay' });
    }
  });

export type AgentOptions = z.input<typeof agentOptionsSchema>;

/** Hand-typed capabilities first, then the detected ones not typed. */
function allCapabilities(o: { capabilities: string[]; detectedCapabilities: string[]; fingerprint: boolean }): string[] {
  return [...new Set([...o.capabilities, ...(o.fingerprint ? o.detectedCapabilities : [])])];
}

/** The join flags a node remembers (agent's node-settings.json): a later start's flags replace them, field by field. */
export type RememberedJoinFlags = Partial<Pick<AgentOptions, 'role' | 'name' | 'fingerprint'>> & {
  capacity?: number;
  capabilities?: string[];
  specializations?: string[];
  serveOnly?: string[];
  serveProjects?: string[];
};

/** `saved` with every flag given now put over it; what is undefined in `given` keeps the saved value. */
export function mergeJoinFlags(saved: RememberedJoinFlags | null, given: RememberedJoinFlags): RememberedJoinFlags {
  const out: Record<string, unknown> = { ...(saved ?? {}) };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) out[key] = value;
  return out as RememberedJoinFlags;
}

export type CompiledAgentConfig = DeepReadonly<{
  /** The master's HTTP endpoint; the gRPC address comes from its join info. */
  master: Address & { url: string; secure: boolean };
  token: string | null;
  /** Normalized `sha256:<lowercase hex>`, or null when not pinned. */
  caHash: string | null;
  role: 'worker' | 'hybrid';
  name: string;
  capabilities: string[];
  specializations: string[];
  capacity: number;
  /** What the node agrees to run (null = no restriction); `capabilities` above are all it has. */
  serve: { capabilities: string[] | null; projects: string[] | null };
  /** Absolute. */
  dataDir: string;
  heartbeatIntervalMs: number;
  selfFenceAfterMs: number;
  tasks: { outputLimitBytes: number; killGraceMs: number };
  reconnect: { initialDelayMs: number; maxDelayMs: number };
}>;

/** Validates and completes an agent's options. ValidationError listing every bad option by name. */
export function compileAgentConfig(options: AgentOptions, context: AgentContext): CompiledAgentConfig {
  const o = parseOptions(agentOptionsSchema, options, 'agent configuration');
  return deepFreeze({
    master: o.masterUrl,
    token: o.token ?? null,
    caHash: o.caHash ?? null,
    role: o.role,
    name: o.name ?? nodeNameFromHostname(context.hostname),
    capabilities: allCapabilities(o),
    specializations: o.specializations,
    capacity: o.capacity ?? Math.min(1024, Math.max(1, Math.floor(context.cpus))),
    serve: { capabilities: o.serveOnly ?? null, projects: o.serveProjects ?? null },
    dataDir: resolveDataDir({ flag: o.dataDir, env: context.env, cwd: context.cwd }),
    heartbeatIntervalMs: o.heartbeatInterval,
    selfFenceAfterMs: o.selfFenceAfter,
    tasks: { outputLimitBytes: o.outputLimit, killGraceMs: o.killGrace },
    reconnect: { initialDelayMs: o.reconnectInitialDelay, maxDelayMs: o.reconnectMaxDelay },
  });
}

/**
 * A valid node name from a host name: lowercase, the domain dropped (`Dev-Box.local` → `dev-box`),
 * anything outside the slug alphabet turned into `-`, at most 64 characters; `node` if nothing is left.
 */
export function nodeNameFromHostname(hostname: string): string {
  const first = hostname.trim().split('.')[0] ?? '';
  const slug = first
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .slice(0, 64)
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return slug === '' ? 'node' : slug;
}

/** `http(s)://host[:port][/]` or `host:port` → the master's address, or a message saying what is wrong. */
export function parseMasterUrl(text: string): (Address & { url: string; secure: boolean }) | string {
  const value = text.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      const hp = parseHostPort(value, 'masterUrl');
      return { ...address(hp), url: `http://${formatHostPort(hp)}`, secure: false };
    } catch {
      return `${JSON.stringify(text)} is not a URL like http://10.0.0.5:7700`;
    }
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${JSON.stringify(text)} is not a URL like http://10.0.0.5:7700`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `the master's URL must start with http:// or https://, got ${url.protocol}//`;
  if (url.username !== '' || url.password !== '') return 'the master URL must not carry credentials; use --token';
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') return 'the master URL is just scheme://host:port, without a path';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  // URL drops a port equal to the scheme's default (http://h:80), so look at what was written.
  const written = /^[a-z]+:\/\/(?:\[[^\]]*\]|[^/:?#]*):(\d+)/i.exec(value);
  const port = url.port !== '' ? Number(url.port) : written !== null ? Number(written[1]) : DEFAULT_MASTER_HTTP_PORT;
  const hp = { host, port };
  return { ...address(hp), url: `${url.protocol}//${formatHostPort(hp)}`, secure: url.protocol === 'https:' };
}
