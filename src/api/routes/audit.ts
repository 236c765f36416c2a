/** `GET /v1/audit` (the hash-chained audit trail) and `GET /v1/audit/verify` (where, if anywhere, the chain breaks): ReadAudit. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BitacoraError, ErrorCode, parseOrThrow } from '../../core/index.js';
import type { RouteDeps } from './shared.js';

const auditQuerySchema = z.strictObject({
  afterIndex: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

const READ_AUDIT = { config: { operation: 'ReadAudit' } } as const;

export function auditRoutes(app: FastifyInstance, { fleet }: RouteDeps): void {
  app.get('/audit', READ_AUDIT, async (request) => {
    const query = parseOrThrow(auditQuerySchema, request.query ?? {}, 'audit query');
    if (!fleet.auditLog) throw new BitacoraError(ErrorCode.Unavailable, 'this master keeps no audit trail');
    return fleet.auditLog({ ...(query.afterIndex !== undefined ? { afterIndex: query.afterIndex } : {}), limit: query.limit });
  });

  app.get('/audit/verify', READ_AUDIT, async () => {
    if (!fleet.verifyAudit) throw new BitacoraError(ErrorCode.Unavailable, 'this master keeps no audit trail');
    return fleet.verifyAudit();
  });
}
