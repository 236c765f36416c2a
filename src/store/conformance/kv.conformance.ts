/** Conformance of KeyValueStore: JSON values, revisions, compare-and-set, prefix listing, events. */
import { describe, expect, it } from 'vitest';
import { ConflictError, ErrorCode } from '../../core/index.js';
import { caught, eventsOf, useBackbone, type OpenBackbone } from './harness.js';

export function describeKeyValueStore(open: OpenBackbone): void {
  describe('KeyValueStore', () => {
    const backbone = useBackbone(open);

    it('returns null for an absent key', () => {
      expect(backbone().kv.get('nothing')).toBeNull();
    });

    it('stores JSON values and reads them back with their revision', () => {
      const kv = backbone().kv;
      const value = { a: 1, list: ['x', null, true], nested: { deep: 'yes' } };
      const put = kv.put('config/main', value);
      expect(put).toMatchObject({ key: 'config/main', value, revision: expect.any(Number) });
      expect(put.revision).toBeGreaterThan(0);
      expect(kv.get('config/main')).toEqual(put);
      kv.put('scalar', 'text');
      expect(kv.get<string>('scalar')?.value).toBe('text');
    });

    it('increases the revision on every write of a key', () => {
      const kv = backbone().kv;
      const r1 = kv.put('k', 1).revision;
      const r2 = kv.put('k', 2).revision;
      expect(r2).toBeGreaterThan(r1);
      expect(kv.get('k')?.value).toBe(2);
    });

    it('writes with a matching expected revision', () => {
      const kv = backbone().kv;
      const first = kv.put('lease', { holder: 'a' });
      const second = kv.put('lease', { holder: 'b' }, { expectedRevision: first.revision });
      expect(kv.get('lease')).toEqual(second);
    });

    it('refuses a write with a stale revision and keeps the current value', () => {
      const kv = backbone().kv;
      const first = kv.put('lease', { holder: 'a' });
      kv.put('lease', { holder: 'b' });
      const err = caught(() => kv.put('lease', { holder: 'c' }, { expectedRevision: first.revision }));
      expect(err).toBeInstanceOf(ConflictError);
      expect(err.retryable).toBe(true);
      expect(kv.get('lease')?.value).toEqual({ holder: 'b' });
    });

    it('creates only when absent with expected revision 0', () => {
      const kv = backbone().kv;
      kv.put('leader', 'node-a', { expectedRevision: 0 });
      expect(caught(() => kv.put('leader', 'node-b', { expectedRevision: 0 })).code).toBe(ErrorCode.Conflict);
      expect(kv.get('leader')?.value).toBe('node-a');
    });

    it('deletes, honouring an expected revision', () => {
      const kv = backbone().kv;
      const entry = kv.put('k', 'v');
      kv.put('k', 'v2');
      expect(caught(() => kv.delete('k', { expectedRevision: entry.revision }))).toBeInstanceOf(ConflictError);
      expect(kv.get('k')?.value).toBe('v2');
      expect(kv.delete('k')).toBe(true);
      expect(kv.get('k')).toBeNull();
      expect(kv.delete('k')).toBe(false);
    });

    it('never reuses a revision for a key deleted and created again', () => {
      const kv = backbone().kv;
      const before = kv.put('k', 1);
      kv.delete('k');
      const again = kv.put('k', 2, { expectedRevision: 0 });
      expect(again.revision).toBeGreaterThan(before.revision);
    });

    it('lists the entries under a prefix, sorted by key', () => {
      const kv = backbone().kv;
      kv.put('config/b', 2);
      kv.put('config/a', 1);
      kv.put('configuration', 'not under config/');
      kv.put('lease/leader', 'x');
      expect(kv.list('config/').map((e) => [e.key, e.value])).toEqual([['config/a', 1], ['config/b', 2]]);
      expect(kv.list('')).toHaveLength(4);
      expect(kv.list('none/')).toEqual([]);
    });

    it('appends kv.updated for writes and deletes, but not for quiet writes', () => {
      const b = backbone();
      b.kv.put('config/x', 1);
      b.kv.put('lease/leader', 'node', { quiet: true });
      b.kv.delete('config/x');
      expect(eventsOf(b, 'kv.updated').map((e) => e.subject)).toEqual(['config/x', 'config/x']);
    });

    it('refuses an empty key or a value that is not JSON', () => {
      const kv = backbone().kv;
      expect(caught(() => kv.put('', 1)).code).toBe(ErrorCode.Validation);
      expect(caught(() => kv.put('k', undefined)).code).toBe(ErrorCode.Validation);
      expect(kv.list('')).toEqual([]);
    });
  });
}
