/**
 * Approvals of risky topic runs: list them, and approve or reject a pending one. A decision is
 * taken once (a second one → 409 InvalidTransition); a late one records 'expired' and answers
 * 409 ApprovalExpired. The decider is the requester; deciding needs Approve/Reject on the approval's project.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { APPROVAL_STATES, NotFoundError, parseOrThrow } from '../../core/index.js';
import type { Target } from '../../security/index.js';
import { auditedWrite, defined, projectFilterSchema, READ_LOGBOOK, type LogbookDeps } from './logbook-shared.js';
import { bodyOrEmpty, idParamSchema, paramId, principalName, projectTargets, SMALL_BODY_LIMIT } from './shared.js';

const listQuerySchema = z.strictObject({
  state: z.enum(APPROVAL_STATES, { message: `state must be one of: ${APPROVAL_STATES.join(', ')}` }).optional(),
  project: projectFilterSchema,
});

const decisionBodySchema = z.strictObject({
  note: z.string().min(1, 'must not be empty (leave it out instead)').max(2000, 'must be at most 2000 characters').optional(),
});

export function logbookApprovalRoutes(app: FastifyInstance, deps: LogbookDeps): void {
  const { logbook } = deps;
  const approvalTargets = async (request: FastifyRequest): Promise<Target[]> => {
    // An unknown approval is the handler's 404 (after validation); deciding on the fleet meanwhile.
    return projectTargets([(await logbook.approvals.get(paramId(request, 'approval id')))?.project]);
  };

  app.get('/approvals', READ_LOGBOOK, async (request) => {
    const query = parseOrThrow(listQuerySchema, request.query, 'approval filter');
    return logbook.approvals.list(defined(query));
  });

  app.get('/approvals/:id', READ_LOGBOOK, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'approval id');
    const approval = await logbook.approvals.get(id);
    if (!approval) throw new NotFoundError('approval', id);
    return approval;
  });

  for (const [verb, decision, operation] of [['approve', 'approved', 'Approve'], ['reject', 'rejected', 'Reject']] as const) {
    app.post(`/approvals/:id/${verb}`, { bodyLimit: SMALL_BODY_LIMIT, config: { operation, targets: approvalTargets } }, async (request) => {
      const { id } = parseOrThrow(idParamSchema, request.params, 'approval id');
      const { note } = parseOrThrow(decisionBodySchema, bodyOrEmpty(request.body), 'approval decision');
      return auditedWrite(deps, request, `approval.${verb}`, id, () =>
        logbook.approvals.decide(id, decision, principalName(request), note ?? null, Date.now()),
      );
    });
  }
}
