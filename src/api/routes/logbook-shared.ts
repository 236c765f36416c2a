/**
 * Pieces the logbook route modules share: the repositories they receive (a slice of the
 * master's Backbone), the audit sink their writes go through, and the common query/param schemas.
 * Reads need ReadState; writes need WriteLogbook on the entity's project (the fleet when it has
 * none); approval decisions need Approve/Reject on the approval's project.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { slugSchema } from '../../core/index.js';
import type { AuditRecord } from '../../security/index.js';
import type { Backbone } from '../../store/backbone.js';
import { idParamSchema, principalName } from './shared.js';

/** The logbook repositories the API serves; the master passes its backbone. */
export type LogbookStore = Pick<Backbone, 'sessions' | 'projects' | 'topics' | 'approvals' | 'actions' | 'sparks'>;

/**
 * Appends one entry to the audit trail; throws (AuditUnavailable) when it cannot, and the write
 * it announces is then refused (fail-closed).
 */
export type AuditSink = (record: AuditRecord) => Promise<void>;

export interface LogbookDeps {
  logbook: LogbookStore;
  /** Where logbook writes are recorded. Without it they are not audited. */
  audit?: AuditSink;
}

export const READ_LOGBOOK = { config: { operation: 'ReadState' } } as const;

/**
 * Runs a logbook write once an 'allowed' entry for it is in the audit trail (nothing happens when
 * it cannot be written); a failure of the write itself is recorded too, best effort. The same
 * contract as the coordinator's privileged operations.
 */
export async function auditedWrite<T>(deps: LogbookDeps, request: FastifyRequest, action: string, target: string | null, fn: () => Promise<T>): Promise<T> {
  const actor = `user:${principalName(request)}`;
  await deps.audit?.({ actor, action, target, outcome: 'allowed' });
  try {
    return await fn();
  } catch (err) {
    try {
      await deps.audit?.({ actor, action, target, outcome: 'failed', reason: (err instanceof Error ? err.message : String(err)).slice(0, 500) });
    } catch (auditErr) {
      request.log.error({ err: auditErr }, 'cannot record a failed logbook write in the audit trail');
    }
    throw err;
  }
}

export const MAX_LOGBOOK_LIMIT = 10_000;
const DEFAULT_LOGBOOK_LIMIT = 1000;

/** `?limit=`: the most recent N (still oldest first); bounded so one answer stays small. */
export const limitQuerySchema = z.coerce
  .number({ message: 'limit must be a whole number' })
  .int('limit must be a whole number')
  .min(1, 'limit must be at least 1')
  .max(MAX_LOGBOOK_LIMIT, `limit must be at most ${MAX_LOGBOOK_LIMIT}`)
  .default(DEFAULT_LOGBOOK_LIMIT);

/** `?project=` filters: a project slug. */
export const projectFilterSchema = slugSchema.optional();

/** `?session=`, `?topic=`: ids. */
export const idFilterSchema = idParamSchema.shape.id.optional();

export const nameParamSchema = z.object({ name: slugSchema });

/** Drops undefined values, so optional filters never reach a strict repository schema as `undefined` keys. */
export function defined<T extends Record<string, unknown>>(record: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
