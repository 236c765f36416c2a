/**
 * Approvals of risky topic runs: list them, and approve or reject a pending one. A decision is
 * taken once (a second one → 409 InvalidTransition); a late one records 'expired' and answers
 * 409 ApprovalExpired. The decider is the requester.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { APPROVAL_STATES, NotFoundError, parseOrThrow } from '../../core/index.js';
import { defined, projectFilterSchema, REQUESTER, type LogbookDeps } from './logbook-shared.js';
import { bodyOrEmpty, idParamSchema, SMALL_BODY_LIMIT } from './shared.js';

const listQuerySchema = z.strictObject({
  state: z.enum(APPROVAL_STATES, { message: `state must be one of: ${APPROVAL_STATES.join(', ')}` }).optional(),
  project: projectFilterSchema,
});

const decisionBodySchema = z.strictObject({
  note: z.string().min(1, 'must not be empty (leave it out instead)').max(2000, 'must be at most 2000 characters').optional(),
});

export function logbookApprovalRoutes(app: FastifyInstance, { logbook }: LogbookDeps): void {
  app.get('/approvals', async (request) => {
    const query = parseOrThrow(listQuerySchema, request.query, 'approval filter');
    return logbook.approvals.list(defined(query));
  });

  app.get('/approvals/:id', async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'approval id');
    const approval = logbook.approvals.get(id);
    if (!approval) throw new NotFoundError('approval', id);
    return approval;
  });

  for (const [verb, decision] of [['approve', 'approved'], ['reject', 'rejected']] as const) {
    app.post(`/approvals/:id/${verb}`, { bodyLimit: SMALL_BODY_LIMIT }, async (request) => {
      const { id } = parseOrThrow(idParamSchema, request.params, 'approval id');
      const { note } = parseOrThrow(decisionBodySchema, bodyOrEmpty(request.body), 'approval decision');
      return logbook.approvals.decide(id, decision, REQUESTER, note ?? null, Date.now());
    });
  }
}
