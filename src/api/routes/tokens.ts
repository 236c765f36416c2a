/** Join tokens (ManageTokens): one-time, expiring secrets that let a new machine join the fleet. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../core/index.js';
import { bodyOrEmpty, fleetFor, principalName, SMALL_BODY_LIMIT, ttlSchema, type RouteDeps } from './shared.js';

const createTokenSchema = z.strictObject({
  role: z.enum(['worker', 'hybrid'], { message: 'role must be "worker" or "hybrid"' }).optional(),
  ttl: ttlSchema.optional(),
});

export function tokenRoutes(app: FastifyInstance, { fleet }: RouteDeps): void {
  app.post('/tokens', { bodyLimit: SMALL_BODY_LIMIT, config: { operation: 'ManageTokens' } }, async (request, reply) => {
    const body = parseOrThrow(createTokenSchema, bodyOrEmpty(request.body), 'token request');
    const created = await fleetFor(fleet, request).createJoinToken({
      ...(body.role ? { role: body.role } : {}),
      ...(body.ttl !== undefined ? { ttlMs: body.ttl } : {}),
      createdBy: principalName(request),
    });
    return reply.code(201).send(created);
  });
}
