/**
 * Composition root of an agent: ProcessRunner + DirectoryWorkspaces + Agent. `startAgent` is
 * what `bitacora join` (and the master's local worker) call. It resolves once the agent has
 * joined and rejects when the master refuses it for good (bad token, CA mismatch).
 */
import { join, resolve } from 'node:path';
import { Agent, type AgentOptions } from '../agent/index.js';
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { INCARNATION_MARKER_VAR, OWNER_MARKER_VAR, ProcessRunner, reapLeftovers } from '../agent/runner/process-runner.js';
import { launchTaskReaper } from './task-reaper-launch.js';
import { DirectoryWorkspaces } from '../agent/runner/workspaces.js';
import type { AgentHandle, AgentStartOptions } from '../cli/context.js';
import { compileAgentConfig, processContext } from '../config/index.js';
import { packageVersion, stderrLogger } from './support.js';

export interface LocalAgent extends AgentHandle {
  agent: Agent;
}

/**
 * What `bitacora join` passes beyond AgentStartOptions: the node's allow-lists (`--serve-only`,
 * `--serve-projects`). Kept here until AgentStartOptions (cli/context.ts) carries them.
 */
export interface AgentServeOptions {
  serveOnly?: string[];
  serveProjects?: string[];
}

/**
 * `extras` are for tests and embedders: reconnect backoff, the config before the first
 * welcome, `connect` — the transport (fault-injection tests dial through a proxy) — and `fetch`
 * for the join info (the master's own local worker takes it in-process).
 */
export async function startAgent(
  options: AgentStartOptions & AgentServeOptions,
  extras: Partial<Pick<AgentOptions, 'backoff' | 'initialConfig' | 'connect' | 'fetch'>> = {},
): Promise<LocalAgent> {
  const config = compileAgentConfig(
    {
      masterUrl: options.masterUrl,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.caHash !== undefined ? { caHash: options.caHash } : {}),
      role: options.role,
      ...(options.name !== undefined ? { name: options.name } : {}),
      capabilities: options.capabilities,
      specializations: options.specializations,
      ...(options.capacity !== undefined ? { capacity: options.capacity } : {}),
      ...(options.serveOnly !== undefined ? { serveOnly: options.serveOnly } : {}),
      ...(options.serveProjects !== undefined ? { serveProjects: options.serveProjects } : {}),
      dataDir: options.dataDir,
    },
    processContext(),
  );
  // Every task of this agent carries a marker of its data directory. Tasks run in their own
  // process groups, so a SIGKILLed agent leaves them running; before this incarnation starts
  // anything, whatever still carries the marker is a leftover of the previous one.
  const ownerMarker = { name: OWNER_MARKER_VAR, value: createHash('sha256').update(resolve(config.dataDir)).digest('hex').slice(0, 16) };
  const log = stderrLogger(`agent ${config.name}`);
  const reaped = await reapLeftovers(ownerMarker);
  if (reaped > 0) log.warn(`killed ${reaped} process(es) left running by a previous run of this agent`);
  // And if this run dies for good, its reaper kills what this run started.
  const incarnationMarker = { name: INCARNATION_MARKER_VAR, value: randomBytes(8).toString('hex') };
  const reaper = launchTaskReaper(incarnationMarker);
  const agent = new Agent({
    masterUrl: config.master.url,
    dataDir: config.dataDir,
    ...(config.token !== null ? { token: config.token } : {}),
    ...(config.caHash !== null ? { caHash: config.caHash } : {}),
    node: {
      name: config.name,
      role: config.role,
      capabilities: [...config.capabilities],
      specializations: [...config.specializations],
      capacity: config.capacity,
    },
    serve: { capabilities: config.serve.capabilities ? [...config.serve.capabilities] : null, projects: config.serve.projects ? [...config.serve.projects] : null },
    runner: new ProcessRunner({ outputLimitBytes: config.tasks.outputLimitBytes, killGraceMs: config.tasks.killGraceMs, ownerMarker, incarnationMarker }),
    workspaces: new DirectoryWorkspaces(join(config.dataDir, 'workspaces')),
    agentVersion: packageVersion(),
    log,
    initialConfig: { heartbeatIntervalMs: config.heartbeatIntervalMs, selfFenceAfterMs: config.selfFenceAfterMs },
    backoff: { initialMs: config.reconnect.initialDelayMs, maxMs: config.reconnect.maxDelayMs },
    ...extras,
  });
  if (config.serve.capabilities || config.serve.projects) {
    log.info(`serving only capabilities: ${config.serve.capabilities?.join(', ') ?? 'all'}; projects: ${config.serve.projects?.join(', ') ?? 'all'}`);
  }
  void agent.closed.then(() => reaper?.release(), () => reaper?.release());
  try {
    await agent.start();
  } catch (err) {
    reaper?.release();
    throw err;
  }
  return { nodeId: () => agent.nodeId(), closed: agent.closed, close: () => agent.close(), agent };
}
