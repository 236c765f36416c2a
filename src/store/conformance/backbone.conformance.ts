/**
 * The one conformance suite every Backbone implementation must pass (embedded SQLite now,
 * PostgreSQL next). Written only against the interfaces in `store/*.ts`: it knows no
 * implementation, and every call goes through the asynchronous contract.
 *
 * Usage, in a `*.test.ts` of the implementation:
 *   describeBackboneConformance('sqlite', async () => {
 *     const backbone = await open(…);
 *     return { backbone, cleanup: async () => { await backbone.close(); … }, reopen: () => open(same store) };
 *   });
 * `open` must resolve with a fresh, empty backbone; `cleanup` closes it and removes what it
 * stored; the optional `reopen` opens a second handle on the same store (see harness.ts).
 */
import { describe } from 'vitest';
import { describeActionRepository, describeSparkRepository } from './actions-sparks.conformance.js';
import { describeBatchVerbs } from './batch.conformance.js';
import { describeChangeFeed } from './change-feed.conformance.js';
import { describeEventLog } from './events.conformance.js';
import type { OpenBackbone } from './harness.js';
import { describeKeyValueStore } from './kv.conformance.js';
import { describeLifecycle } from './lifecycle.conformance.js';
import { describeJoinTokenRepository, describeTaskLogStore } from './logs-tokens.conformance.js';
import { describeNodeRepository } from './nodes.conformance.js';
import { describeProjectRepository, describeSessionRepository } from './sessions-projects.conformance.js';
import { describeTaskLifecycle } from './task-lifecycle.conformance.js';
import { describeTaskSubmission } from './tasks.conformance.js';
import { describeApprovalRepository, describeTopicRepository } from './topics-approvals.conformance.js';

export type { OpenBackbone, OpenedBackbone } from './harness.js';

export function describeBackboneConformance(name: string, open: OpenBackbone): void {
  describe(`Backbone conformance: ${name}`, () => {
    describeEventLog(open);
    describeChangeFeed(open);
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
    describeBatchVerbs(open);
    describeLifecycle(open);
  });
}
