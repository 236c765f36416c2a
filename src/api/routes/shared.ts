/** Pieces every route module shares: the dependencies they receive and common input schemas. */
import { z } from 'zod';
import type { FleetService } from '../../coordinator/fleet-service.js';

export interface RouteDeps {
  fleet: FleetService;
}

/** Ids and names in paths: bounded, printable, no separators that could confuse logs. */
export const idParamSchema = z.object({
  id: z
    .string()
    .min(1, 'must not be empty')
    .max(200, 'must be at most 200 characters')
    .regex(/^[\w.:-]+$/, 'must be an id or a name: letters, digits, ".", "_", ":" or "-"'),
});

/** Bodies of small commands (drain, role, config…) never need more than this. */
export const SMALL_BODY_LIMIT = 64 * 1024;

/** Optional JSON bodies: a POST with no body parses as `{}`. */
export function bodyOrEmpty(body: unknown): unknown {
  return body === undefined || body === null ? {} : body;
}
