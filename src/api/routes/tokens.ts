/** Join tokens: one-time, expiring secrets that let a new machine join the fleet. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseDuration, parseOrThrow } from '../../core/index.js';
import { bodyOrEmpty, SMALL_BODY_LIMIT, type RouteDeps } from './shared.js';

const MIN_TTL_MS = 10_000;
const MAX_TTL_MS = 30 * 86_400_000;

/** `ttl` is a duration like `1h` or a number of milliseconds; bounded so tokens never live forever. */
const ttlSchema = z
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

const createTokenSchema = z.strictObject({
  role: z.enum(['worker', 'hybrid'], { message: 'role must be "worker" or "hybrid"' }).optional(),
  ttl: ttlSchema.optional(),
});

export function tokenRoutes(app: FastifyInstance, { fleet }: RouteDeps): void {
  app.post('/tokens', { bodyLimit: SMALL_BODY_LIMIT }, async (request, reply) => {
    const body = parseOrThrow(createTokenSchema, bodyOrEmpty(request.body), 'token request');
    const created = fleet.createJoinToken({
      ...(body.role ? { role: body.role } : {}),
      ...(body.ttl !== undefined ? { ttlMs: body.ttl } : {}),
      // Only the admin token can call the API until users and roles arrive with the security issue.
      createdBy: 'admin',
    });
    return reply.code(201).send(created);
  });
}
