/**
 * The one conformance suite every Backbone implementation must pass (embedded SQLite now,
 * NATS JetStream later). Written only against the interfaces in `store/*.ts`.
 *
 * Usage, in a `*.test.ts` of the implementation:
 *   describeBackboneConformance('sqlite', () => { const backbone = open(…); return { backbone, cleanup } });
 * `open` must return a fresh, empty backbone; `cleanup` closes it and removes what it stored.
 */
import { describe } from 'vitest';
import { describeBatch } from './batch.conformance.js';
import { describeActionRepository, describeSparkRepository } from './actions-sparks.conformance.js';
import { describeEventLog } from './events.conformance.js';
import type { OpenBackbone } from './harness.js';
import { describeKeyValueStore } from './kv.conformance.js';
import { describeJoinTokenRepository, describeTaskLogStore } from './logs-tokens.conformance.js';
import { describeNodeRepository } from './nodes.conformance.js';
import { describeProjectRepository, describeSessionRepository } from './sessions-projects.conformance.js';
import { describeTaskLifecycle } from './task-lifecycle.conformance.js';
import { describeTaskSubmission } from './tasks.conformance.js';
import { describeApprovalRepository, describeTopicRepository } from './topics-approvals.conformance.js';

export type { OpenBackbone } from './harness.js';

export function describeBackboneConformance(name: string, open: OpenBackbone): void {
  describe(`Backbone conformance: ${name}`, () => {
    describeEventLog(open);
    describeKeyValueStore(open);
    describeNodeRepository(open);
    describeTaskSubmission(open);
    describeTaskLifecycle(open);
    describeTaskLogStore(open);
    describeJoinTokenRepository(open);
    describeSessionRepository(open);
    describeProjectRepository(open);
    describeTopicRepository(open);
    describeApprovalRepository(open);
    describeActionRepository(open);
    describeSparkRepository(open);
    describeBatch(open);
  });
}
