/** Node routes: list and inspect members, drain/undrain, remove, change role (worker ↔ hybrid). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../core/index.js';
import { bodyOrEmpty, idParamSchema, SMALL_BODY_LIMIT, type RouteDeps } from './shared.js';

const roleBodySchema = z.strictObject({
  role: z.enum(['worker', 'hybrid'], { message: 'role must be "worker" or "hybrid" (the master role is not assignable)' }),
});

export function nodeRoutes(app: FastifyInstance, { fleet }: RouteDeps): void {
  app.get('/nodes', async () => fleet.listNodes());

  app.get('/nodes/:id', async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'node id');
    return fleet.getNode(id);
  });

  app.post('/nodes/:id/drain', { bodyLimit: SMALL_BODY_LIMIT }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'node id');
    return fleet.drainNode(id);
  });

  app.post('/nodes/:id/undrain', { bodyLimit: SMALL_BODY_LIMIT }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'node id');
    return fleet.undrainNode(id);
  });

  app.delete('/nodes/:id', async (request, reply) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'node id');
    fleet.removeNode(id);
    return reply.code(204).send();
  });

  app.post('/nodes/:id/role', { bodyLimit: SMALL_BODY_LIMIT }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'node id');
    const { role } = parseOrThrow(roleBodySchema, bodyOrEmpty(request.body), 'role change');
    return fleet.setNodeRole(id, role);
  });
}
