/** Conformance of KeyValueStore: JSON values, revisions, compare-and-set, prefix listing, events. */
import { describe, expect, it } from 'vitest';
import { ConflictError, ErrorCode } from '../../core/index.js';
import { caught, eventsOf, useBackbone, type OpenBackbone } from './harness.js';

export function describeKeyValueStore(open: OpenBackbone): void {
  describe('KeyValueStore', () => {
    const backbone = useBackbone(open);

    it('returns null for an absent key', async () => {
      expect(await backbone().kv.get('nothing')).toBeNull();
    });

    it('stores JSON values and reads them back with their revision', async () => {
      const kv = backbone().kv;
      const value = { a: 1, list: ['x', null, true], nested: { deep: 'yes' } };
      const put = await kv.put('config/main', value);
      expect(put).toMatchObject({ key: 'config/main', value, revision: expect.any(Number) });
      expect(put.revision).toBeGreaterThan(0);
      expect(await kv.get('config/main')).toEqual(put);
      await kv.put('scalar', 'text');
      expect((await kv.get<string>('scalar'))?.value).toBe('text');
    });

    it('increases the revision on every write of a key', async () => {
      const kv = backbone().kv;
      const r1 = (await kv.put('k', 1)).revision;
      const r2 = (await kv.put('k', 2)).revision;
      expect(r2).toBeGreaterThan(r1);
      expect((await kv.get('k'))?.value).toBe(2);
    });

    it('writes with a matching expected revision', async () => {
      const kv = backbone().kv;
      const first = await kv.put('lease', { holder: 'a' });
      const second = await kv.put('lease', { holder: 'b' }, { expectedRevision: first.revision });
      expect(await kv.get('lease')).toEqual(second);
    });

    it('refuses a write with a stale revision and keeps the current value', async () => {
      const kv = backbone().kv;
      const first = await kv.put('lease', { holder: 'a' });
      await kv.put('lease', { holder: 'b' });
      const err = await caught(() => kv.put('lease', { holder: 'c' }, { expectedRevision: first.revision }));
      expect(err).toBeInstanceOf(ConflictError);
      expect(err.retryable).toBe(true);
      expect((await kv.get('lease'))?.value).toEqual({ holder: 'b' });
    });

    it('creates only when absent with expected revision 0', async () => {
      const kv = backbone().kv;
      await kv.put('leader', 'node-a', { expectedRevision: 0 });
      expect((await caught(() => kv.put('leader', 'node-b', { expectedRevision: 0 }))).code).toBe(ErrorCode.Conflict);
      expect((await kv.get('leader'))?.value).toBe('node-a');
    });

    it('deletes, honouring an expected revision', async () => {
      const kv = backbone().kv;
      const entry = await kv.put('k', 'v');
      await kv.put('k', 'v2');
      expect(await caught(() => kv.delete('k', { expectedRevision: entry.revision }))).toBeInstanceOf(ConflictError);
      expect((await kv.get('k'))?.value).toBe('v2');
      expect(await kv.delete('k')).toBe(true);
      expect(await kv.get('k')).toBeNull();
      expect(await kv.delete('k')).toBe(false);
    });

    it('never reuses a revision for a key deleted and created again', async () => {
      const kv = backbone().kv;
      const before = await kv.put('k', 1);
      await kv.delete('k');
      const again = await kv.put('k', 2, { expectedRevision: 0 });
      expect(again.revision).toBeGreaterThan(before.revision);
    });

    it('lists the entries under a prefix, sorted by key', async () => {
      const kv = backbone().kv;
      await kv.put('config/b', 2);
      await kv.put('config/a', 1);
      await kv.put('configuration', 'not under config/');
      await kv.put('lease/leader', 'x');
      expect((await kv.list('config/')).map((e) => [e.key, e.value])).toEqual([['config/a', 1], ['config/b', 2]]);
      expect(await kv.list('')).toHaveLength(4);
      expect(await kv.list('none/')).toEqual([]);
    });

    it('appends kv.updated for writes and deletes, but not for quiet writes', async () => {
      const b = backbone();
      await b.kv.put('config/x', 1);
      await b.kv.put('lease/leader', 'node', { quiet: true });
      await b.kv.delete('config/x');
      expect((await eventsOf(b, 'kv.updated')).map((e) => e.subject)).toEqual(['config/x', 'config/x']);
    });

    it('refuses an empty key or a value that is not JSON', async () => {
      const kv = backbone().kv;
      expect((await caught(() => kv.put('', 1))).code).toBe(ErrorCode.Validation);
      expect((await caught(() => kv.put('k', undefined))).code).toBe(ErrorCode.Validation);
      expect(await kv.list('')).toEqual([]);
    });
  });
}
