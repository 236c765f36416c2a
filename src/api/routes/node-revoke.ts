/** `POST /v1/nodes/:id/revoke`: revoke a node — live stream closed, certificates refused from then on, tasks reassigned. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BitacoraError, ErrorCode, parseOrThrow } from '../../core/index.js';
import { bodyOrEmpty, idParamSchema, SMALL_BODY_LIMIT, type RouteDeps } from './shared.js';

const revokeBodySchema = z.strictObject({ reason: z.string().min(1).max(500).optional() });

export function nodeRevokeRoutes(app: FastifyInstance, { fleet }: RouteDeps): void {
  app.post('/nodes/:id/revoke', { bodyLimit: SMALL_BODY_LIMIT }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'node id');
    const { reason } = parseOrThrow(revokeBodySchema, bodyOrEmpty(request.body), 'revocation');
    if (!fleet.revokeNode) throw new BitacoraError(ErrorCode.Unavailable, 'this master cannot revoke nodes');
    return fleet.revokeNode(id, reason);
  });
}
