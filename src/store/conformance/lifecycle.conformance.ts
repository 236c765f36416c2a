/** Conformance of Backbone.close: idempotent, writes issued before it are kept, calls after it reject with BIT_ERR_UNAVAILABLE. */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../core/index.js';
import { caught, T0, useBackboneFixture, type OpenBackbone } from './harness.js';

export function describeLifecycle(open: OpenBackbone): void {
  describe('Backbone.close', () => {
    const fixture = useBackboneFixture(open);

    it('closes idempotently, however often and concurrently it is called', async () => {
      const b = fixture.backbone();
      await Promise.all([b.close(), b.close()]);
      await b.close();
    });

    it('refuses reads and writes after close with BIT_ERR_UNAVAILABLE', async () => {
      const b = fixture.backbone();
      await b.close();
      expect((await caught(() => b.tasks.submit({ command: ['true'] }, T0))).code).toBe(ErrorCode.Unavailable);
      expect((await caught(() => b.tasks.list())).code).toBe(ErrorCode.Unavailable);
      expect((await caught(() => b.events.read(0))).code).toBe(ErrorCode.Unavailable);
    });

    it('resolves the writes issued before close, and keeps them', async (ctx) => {
      const b = fixture.backbone();
      const writes = Array.from({ length: 20 }, (_, i) => b.tasks.submit({ command: ['echo', String(i)] }, T0));
      const closing = b.close();
      const outcomes = await Promise.all(writes);
      await closing;
      const other = await fixture.reopen();
      if (!other) return ctx.skip();
      expect((await other.tasks.list()).map((t) => t.id)).toEqual(outcomes.map((o) => o.task.id));
    });
  });
}
