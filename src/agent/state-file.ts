/**
 * The agent's persistent identity, `<dataDir>/agent.json` (mode 0600): node id, its private
 * key and node certificate (or a legacy credential), the pinned fleet CA, the master's URL and gRPC address — so a
 * restart rejoins without a new token and refuses a master with a different CA.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseOrThrow } from '../core/index.js';
import { writeFileDurably } from '../security/durable-file.js';

export const AGENT_STATE_FILE = 'agent.json';

const agentStateSchema = z.object({
  version: z.literal(1),
  masterUrl: z.string(),
  grpcAddress: z.string().nullable(),
  caCertPem: z.string().min(1),
  caHash: z.string().min(1),
  nodeId: z.string().nullable(),
  credentialSecret: z.string().nullable(),
  role: z.enum(['worker', 'hybrid']).nullable(),
  /** The node's private key (PKCS#8 PEM) and its certificate from the fleet CA; absent before the first join. */
  keyPem: z.string().min(1).nullable().default(null),
  certPem: z.string().min(1).nullable().default(null),
});
export type AgentState = z.output<typeof agentStateSchema>;

export function stateFilePath(dataDir: string): string {
  return join(dataDir, AGENT_STATE_FILE);
}

/** The stored state, or null when the agent never joined. Throws ValidationError on a corrupt file. */
export function loadAgentState(dataDir: string): AgentState | null {
  const file = stateFilePath(dataDir);
  return readValidated(file, agentStateSchema, `agent state ${file}`);
}

/**
 * Atomic and durable replace (temporary file, fsync, rename, fsync of the directory), owner-only
 * permissions: it holds a secret, and an agent.json lost in a crash means a new join token.
 */
export function saveAgentState(dataDir: string, state: AgentState): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileDurably(stateFilePath(dataDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/**
 * What `bitacora join` was told about the node — role, name, capabilities, specializations,
 * capacity, serve allow-lists — in `<dataDir>/node-settings.json`, so a plain restart
 * (`bitacora join URL --data-dir D`) keeps them; flags given later replace the saved ones and
 * are saved. Only what was given is kept: defaults (host name, CPU count) are worked out anew.
 */
export const NODE_SETTINGS_FILE = 'node-settings.json';

const nodeSettingsSchema = z
  .object({
    role: z.enum(['worker', 'hybrid']).optional(),
    name: z.string().optional(),
    capabilities: z.array(z.string()).optional(),
    specializations: z.array(z.string()).optional(),
    capacity: z.number().int().optional(),
    serveOnly: z.array(z.string()).optional(),
    serveProjects: z.array(z.string()).optional(),
    fingerprint: z.boolean().optional(),
  })
  .strict();
/** Validated for real by the agent's config schema (config/agent.ts) once merged with the flags. */
export type NodeSettings = z.output<typeof nodeSettingsSchema>;

export function loadNodeSettings(dataDir: string): NodeSettings | null {
  const file = join(dataDir, NODE_SETTINGS_FILE);
  return readValidated(file, nodeSettingsSchema, `saved join flags ${file}`);
}

export function saveNodeSettings(dataDir: string, settings: NodeSettings): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileDurably(join(dataDir, NODE_SETTINGS_FILE), `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
}

/** A JSON file checked against `schema`; null when absent. Not JSON → the schema's ValidationError names the file. */
function readValidated<S extends z.ZodType>(file: string, schema: S, what: string): z.output<S> | null {
  if (!existsSync(file)) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    json = { error: `not JSON: ${(err as Error).message}` };
  }
  return parseOrThrow(schema, json, what);
}
