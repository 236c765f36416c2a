/**
 * Composition root of an agent: ProcessRunner + DirectoryWorkspaces + Agent. `startAgent` is
 * what `bitacora join` (and the master's local worker) call: it merges the flags with the ones
 * the node saved (node-settings.json), adds the machine's fingerprint, and saves them again. It resolves once the agent has
 * joined and rejects when the master refuses it for good (bad token, CA mismatch).
 */
import { join, resolve } from 'node:path';
import { Agent, loadAgentState, loadNodeSettings, machineCapabilities, saveNodeSettings, type AgentOptions } from '../agent/index.js';
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { INCARNATION_MARKER_VAR, OWNER_MARKER_VAR, ProcessRunner, reapLeftovers } from '../agent/runner/process-runner.js';
import { launchTaskReaper } from './task-reaper-launch.js';
import { DirectoryWorkspaces } from '../agent/runner/workspaces.js';
import type { AgentHandle, AgentStartOptions } from '../cli/context.js';
import { compileAgentConfig, mergeJoinFlags, processContext } from '../config/index.js';
import { packageVersion, stderrLogger } from './support.js';

export interface LocalAgent extends AgentHandle {
  agent: Agent;
}

/** Kept for embedders that import it: the allow-lists are part of AgentStartOptions now. */
export type AgentServeOptions = Pick<AgentStartOptions, 'serveOnly' | 'serveProjects'>;

/**
 * `extras` are for tests and embedders: reconnect backoff, the config before the first
 * welcome, `connect` — the transport (fault-injection tests dial through a proxy) — and `fetch`
 * for the join info (the master's own local worker takes it in-process).
 */
export async function startAgent(
  options: AgentStartOptions,
  extras: Partial<Pick<AgentOptions, 'backoff' | 'initialConfig' | 'connect' | 'fetch'>> = {},
): Promise<LocalAgent> {
  // The node's settings: saved by an earlier start, each flag given now replacing its saved value.
  const saved = loadNodeSettings(options.dataDir);
  const given = {
    role: options.role, name: options.name, capabilities: options.capabilities, specializations: options.specializations,
    capacity: options.capacity, serveOnly: options.serveOnly, serveProjects: options.serveProjects, fingerprint: options.fingerprint,
  };
  // A node's name is fixed when it joins (the master's record keeps it): a later --name would
  // make the agent call itself what the master does not. Kept, and said so.
  const joinedAs = saved?.name !== undefined && loadAgentState(options.dataDir)?.nodeId ? saved.name : undefined;
  if (joinedAs !== undefined && given.name !== undefined && given.name !== joinedAs) {
    stderrLogger('agent', options.logFormat).warn(`this node joined as '${joinedAs}' and keeps that name (not '${given.name}'): to rename it, \`bitacora node remove ${joinedAs}\` on the master and join again with a new token`);
    given.name = joinedAs;
  }
  const flags = mergeJoinFlags(saved, given);
  const restored = Object.keys(saved ?? {}).filter((k) => given[k as keyof typeof given] === undefined);
  const config = compileAgentConfig(
    {
      ...options.settings,
      masterUrl: options.masterUrl,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.caHash !== undefined ? { caHash: options.caHash } : {}),
      ...definedOnly(flags),
      detectedCapabilities: machineCapabilities(),
      dataDir: options.dataDir,
    },
    processContext(),
  );
  // Saved only once valid, so a typo never replaces good settings.
  if (JSON.stringify(flags) !== JSON.stringify(saved ?? {})) saveNodeSettings(config.dataDir, definedOnly(flags));
  // Every task of this agent carries a marker of its data directory. Tasks run in their own
  // process groups, so a SIGKILLed agent leaves them running; before this incarnation starts
  // anything, whatever still carries the marker is a leftover of the previous one.
  const ownerMarker = { name: OWNER_MARKER_VAR, value: createHash('sha256').update(resolve(config.dataDir)).digest('hex').slice(0, 16) };
  const log = stderrLogger(`agent ${config.name}`, options.logFormat);
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
  return {
    settings: { role: config.role, name: config.name, capabilities: config.capabilities, restored },
    nodeId: () => agent.nodeId(), closed: agent.closed, close: () => agent.close(), agent,
  };
}

function definedOnly<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
