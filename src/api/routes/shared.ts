/** Pieces every route module shares: the dependencies they receive, common input schemas, ACL targets. */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BitacoraError, ErrorCode, parseDuration, parseOrThrow, ValidationError } from '../../core/index.js';
import type { AccessService } from '../../access/access-service.js';
import type { FleetService } from '../../coordinator/fleet-service.js';
import type { Target } from '../../security/index.js';

export interface RouteDeps {
  fleet: FleetService;
}

export interface AccessDeps {
  access: AccessService;
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

const MIN_TTL_MS = 10_000;
const MAX_TTL_MS = 30 * 86_400_000;

/** `ttl` is a duration like `1h` or a number of milliseconds, 10s–30d, so tokens never live forever by accident. */
export const ttlSchema = z
  .union([z.string().max(32), z.number()])
  .transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : parseDuration(value);
    if (ms === null || !Number.isInteger(ms)) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration like 15m, 1h or 2d (or whole milliseconds)' });
      return z.NEVER;
    }
    if (ms < MIN_TTL_MS || ms > MAX_TTL_MS) {
      ctx.addIssue({ code: 'custom', message: 'must be between 10s and 30d' });
      return z.NEVER;
    }
    return ms;
  });

/** The service as seen by the caller: privileged operations are audited under the real user's name. */
export function fleetFor(fleet: FleetService, request: FastifyRequest): FleetService {
  return request.principal ? (fleet.actingFor?.(request.principal) ?? fleet) : fleet;
}

/** The caller's name (authenticated routes only). */
export function principalName(request: FastifyRequest): string {
  return request.principal?.name ?? 'unknown';
}

/** One target per distinct project named; the fleet when none is. */
export function projectTargets(projects: readonly (string | null | undefined)[]): Target[] {
  const named = [...new Set(projects.filter((p): p is string => typeof p === 'string' && p !== ''))];
  return named.length > 0 ? named.map((project) => ({ kind: 'project', project })) : [{ kind: 'fleet' }];
}

/**
 * A string field of a not-yet-validated JSON body, for computing ACL targets before the handler
 * validates it. A field of the wrong type is refused here, so the decision never rests on a value
 * the handler would read differently.
 */
export function bodyString(body: unknown, field: string): string | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const value = (body as Record<string, unknown>)[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ValidationError(`${field} must be a string`, [{ path: field, message: 'expected a string' }]);
  return value;
}

/**
 * An entity a route's targets depend on, or undefined when it does not exist: the ACL then decides
 * on the fleet, and the handler answers the 404 (after validating the rest of the request).
 */
export async function lookup<T>(find: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await find();
  } catch (err) {
    if (err instanceof BitacoraError && err.code === ErrorCode.NotFound) return undefined;
    throw err;
  }
}

/** A path parameter, validated like every id. */
export function paramId(request: FastifyRequest, what: string): string {
  return parseOrThrow(idParamSchema, request.params, what).id;
}
