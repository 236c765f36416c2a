/**
 * The audit trail (ReadAudit): `GET /v1/audit` (the MAC'd hash chain), `GET|POST /v1/audit/verify`
 * (where, if anywhere, it breaks; POST `{checkpoint}` also checks a checkpoint an agent kept) and
 * `GET /v1/audit/checkpoints` (the signed checkpoints and their public key, for verifying elsewhere).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BitacoraError, ErrorCode, parseOrThrow } from '../../core/index.js';
import type { RouteDeps } from './shared.js';

const auditQuerySchema = z.strictObject({
  afterIndex: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

/** The checkpoint itself is checked by the verifier (signature, shape); here only its size. */
const verifyBodySchema = z.strictObject({
  checkpoint: z.record(z.string(), z.unknown()).refine((v) => JSON.stringify(v).length <= 4096, 'must be at most 4096 bytes of JSON').optional(),
});

/** The master's checkpoint file and the public key that verifies it. */
export interface AuditCheckpointSource {
  checkpoints(): unknown[];
  publicKeyPem: string;
}

const READ_AUDIT = { config: { operation: 'ReadAudit' } } as const;

export function auditRoutes(app: FastifyInstance, { fleet, checkpoints }: RouteDeps & { checkpoints?: AuditCheckpointSource }): void {
  app.get('/audit', READ_AUDIT, async (request) => {
    const query = parseOrThrow(auditQuerySchema, request.query ?? {}, 'audit query');
    if (!fleet.auditLog) throw new BitacoraError(ErrorCode.Unavailable, 'this master keeps no audit trail');
    return fleet.auditLog({ ...(query.afterIndex !== undefined ? { afterIndex: query.afterIndex } : {}), limit: query.limit });
  });

  app.get('/audit/verify', READ_AUDIT, async () => {
    if (!fleet.verifyAudit) throw new BitacoraError(ErrorCode.Unavailable, 'this master keeps no audit trail');
    return fleet.verifyAudit();
  });

  app.post('/audit/verify', READ_AUDIT, async (request) => {
    const body = parseOrThrow(verifyBodySchema, request.body ?? {}, 'audit verification request');
    if (!fleet.verifyAudit) throw new BitacoraError(ErrorCode.Unavailable, 'this master keeps no audit trail');
    return fleet.verifyAudit(body.checkpoint ? [body.checkpoint] : []);
  });

  app.get('/audit/checkpoints', READ_AUDIT, async () => {
    if (!checkpoints) throw new BitacoraError(ErrorCode.Unavailable, 'this master signs no audit checkpoints');
    return { publicKeyPem: checkpoints.publicKeyPem, checkpoints: checkpoints.checkpoints() };
  });
}
