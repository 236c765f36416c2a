/** Node routes: list and inspect members (ReadState), drain/undrain, remove, change role (ManageNodes on the node). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../core/index.js';
import type { Target } from '../../security/index.js';
import { bodyOrEmpty, fleetFor, idParamSchema, lookup, paramId, SMALL_BODY_LIMIT, type RouteDeps } from './shared.js';

const roleBodySchema = z.strictObject({
  role: z.enum(['worker', 'hybrid'], { message: 'role must be "worker" or "hybrid" (the master role is not assignable)' }),
});

const READ = { operation: 'ReadState' } as const;

/** The node named by `:id` (id or name), as the ACL target; an unknown node is decided on the fleet and is the handler's 404. */
export function nodeTarget({ fleet }: RouteDeps) {
  return async (request: FastifyRequest): Promise<Target[]> => {
    const node = await lookup(() => fleet.getNode(paramId(request, 'node id')));
    return [node ? { kind: 'node', nodeId: node.id } : { kind: 'fleet' }];
  };
}

export function nodeRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { fleet } = deps;
  const manage = { config: { operation: 'ManageNodes', targets: nodeTarget(deps) }, bodyLimit: SMALL_BODY_LIMIT } as const;

  app.get('/nodes', { config: READ }, async () => fleet.listNodes());

  app.get('/nodes/:id', { config: READ }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'node id');
    return fleet.getNode(id);
  });

  app.post('/nodes/:id/drain', manage, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'node id');
    return fleetFor(fleet, request).drainNode(id);
  });

  app.post('/nodes/:id/undrain', manage, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'node id');
    return fleetFor(fleet, request).undrainNode(id);
  });

  app.delete('/nodes/:id', manage, async (request, reply) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'node id');
    await fleetFor(fleet, request).removeNode(id);
    return reply.code(204).send();
  });

  app.post('/nodes/:id/role', manage, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'node id');
    const { role } = parseOrThrow(roleBodySchema, bodyOrEmpty(request.body), 'role change');
    return fleetFor(fleet, request).setNodeRole(id, role);
  });
}
