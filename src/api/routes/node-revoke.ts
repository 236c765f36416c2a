/** `POST /v1/nodes/:id/revoke` (RevokeNode on the node): live stream closed, certificates refused from then on, tasks reassigned. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BitacoraError, ErrorCode, parseOrThrow } from '../../core/index.js';
import { nodeTarget } from './nodes.js';
import { bodyOrEmpty, fleetFor, idParamSchema, SMALL_BODY_LIMIT, type RouteDeps } from './shared.js';

const revokeBodySchema = z.strictObject({ reason: z.string().min(1).max(500).optional() });

export function nodeRevokeRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { fleet } = deps;
  app.post('/nodes/:id/revoke', { bodyLimit: SMALL_BODY_LIMIT, config: { operation: 'RevokeNode', targets: nodeTarget(deps) } }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'node id');
    const { reason } = parseOrThrow(revokeBodySchema, bodyOrEmpty(request.body), 'revocation');
    const acting = fleetFor(fleet, request);
    if (!acting.revokeNode) throw new BitacoraError(ErrorCode.Unavailable, 'this master cannot revoke nodes');
    return acting.revokeNode(id, reason);
  });
}
