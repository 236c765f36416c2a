/** Conformance of Backbone.batch: all writes of a batch land together or not at all. */
import { describe, expect, it } from 'vitest';
import { useBackbone, type OpenBackbone } from './harness.js';

export function describeBatch(open: OpenBackbone): void {
  describe('Backbone.batch', () => {
    const backbone = useBackbone(open);

    it('returns what the function returns and keeps every write', () => {
      const b = backbone();
      const ids = b.batch(() => [b.tasks.submit({ command: ['true'] }, 1).task.id, b.tasks.submit({ command: ['true'] }, 2).task.id]);
      expect(ids.map((id) => b.tasks.get(id)?.state)).toEqual(['pending', 'pending']);
    });

    it('undoes every write and its events when the function throws', () => {
      const b = backbone();
      const before = b.events.latestSeq();
      expect(() =>
        b.batch(() => {
          b.tasks.submit({ command: ['true'] }, 1);
          b.kv.put('batch/key', 1);
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(b.tasks.list()).toHaveLength(0);
      expect(b.kv.get('batch/key')).toBeNull();
      expect(b.events.latestSeq()).toBe(before);
    });

    it('keeps the other writes when a call inside fails and is caught', () => {
      const b = backbone();
      const task = b.tasks.submit({ command: ['true'] }, 1).task;
      b.batch(() => {
        b.kv.put('batch/kept', true);
        expect(() => b.tasks.markRunning(task.id, 7, 2)).toThrow();
      });
      expect(b.kv.get('batch/kept')?.value).toBe(true);
      expect(b.tasks.get(task.id)?.state).toBe('pending');
    });
  });
}
