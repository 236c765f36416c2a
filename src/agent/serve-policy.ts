/**
 * ServePolicy — what this node agrees to run, decided on the node itself so that a buggy or
 * compromised master cannot make it run anything else: an optional capability allow-list
 * (`--serve-only`, config `serveOnly`) and an optional project allow-list (`--serve-projects`,
 * config `serveProjects`). Pure: the Executor asks it before any workspace or process exists.
 *
 * Limits: the project travels in every assignment, so the project allow-list holds against any
 * master. A task's required capabilities (`needs`) are checked when the assignment carries
 * them; an assignment that does not declare them is judged by project only (the master places
 * tasks only on nodes advertising what they need, and the node advertises only what it serves).
 */
import { ErrorCode } from '../core/index.js';

export interface ServePolicy {
  /** Capabilities served; null = every capability the node advertises. Default null. */
  readonly capabilities: readonly string[] | null;
  /** Projects served (workspace slugs; tasks without a project count as 'default'); null = all. Default null. */
  readonly projects: readonly string[] | null;
}

export const SERVE_EVERYTHING: ServePolicy = Object.freeze({ capabilities: null, projects: null });

/** What the node is asked to run, as far as the policy cares. */
export interface AssignmentFacts {
  /** The task's project, or null (runs in the 'default' workspace). */
  project: string | null;
  /** The task's required capabilities; undefined when the assignment does not say. */
  needs?: readonly string[] | undefined;
}

export type ServeDecision = { serve: true } | { serve: false; code: typeof ErrorCode.Forbidden; reason: string };

/** Workspace of tasks without a project (same as the Executor's). */
const NO_PROJECT = 'default';

/** Serve or refuse `task` under `policy`, with a reason naming what is not served. */
export function decideServe(policy: ServePolicy, task: AssignmentFacts): ServeDecision {
  if (policy.projects !== null) {
    const project = task.project ?? NO_PROJECT;
    if (!policy.projects.includes(project)) {
      return refuse(`project '${project}' is not served by this node (it serves ${list(policy.projects)})`);
    }
  }
  if (policy.capabilities !== null && task.needs !== undefined) {
    const missing = task.needs.filter((n) => !policy.capabilities!.includes(n));
    if (missing.length > 0) {
      return refuse(`capabilit${missing.length === 1 ? 'y' : 'ies'} ${missing.map((m) => `'${m}'`).join(', ')} not served by this node (it serves ${list(policy.capabilities)})`);
    }
  }
  return { serve: true };
}

/** The capabilities to advertise: those the node has, restricted to what it serves. */
export function advertisedCapabilities(capabilities: readonly string[], policy: ServePolicy): string[] {
  return policy.capabilities === null ? [...capabilities] : capabilities.filter((c) => policy.capabilities!.includes(c));
}

/** The reason sent in a rejection report: `BIT_ERR_FORBIDDEN: …`, so the master can tell a policy refusal from a full node. */
export function refusalReason(decision: Extract<ServeDecision, { serve: false }>): string {
  return `${decision.code}: ${decision.reason}`;
}

function refuse(reason: string): ServeDecision {
  return { serve: false, code: ErrorCode.Forbidden, reason };
}

function list(items: readonly string[]): string {
  return items.length === 0 ? 'nothing' : items.join(', ');
}
