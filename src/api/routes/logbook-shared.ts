/**
 * Pieces the logbook route modules share: the repositories they receive (a slice of the
 * master's Backbone), who the requester is, and the common query/param schemas.
 */
import { z } from 'zod';
import { slugSchema } from '../../core/index.js';
import type { Backbone } from '../../store/backbone.js';
import { idParamSchema } from './shared.js';

/** The logbook repositories the API serves; the master passes its backbone. Methods are synchronous. */
export type LogbookStore = Pick<Backbone, 'sessions' | 'projects' | 'topics' | 'approvals' | 'actions' | 'sparks'>;

export interface LogbookDeps {
  logbook: LogbookStore;
}

/** Only the admin token can call the API until users and roles arrive with the security issue. */
export const REQUESTER = 'admin';

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
