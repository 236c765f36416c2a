/** The CLI's composition of the local engine: one owner marker per logbook, leftovers killed before recovery. */
import { describe, expect, it, vi } from 'vitest';
import { MemoryLogbook } from '../../engine/testing/memory-logbook.js';
import { FakeRunner, FakeWorkspaces } from '../../engine/testing/fakes.js';
import type { OwnerMarker } from '../../engine/index.js';
import { LOGBOOK_OWNER_VAR, logbookOwner, newLocalEngine, recoverOnStart } from './local-engine.js';

describe('logbookOwner', () => {
  it('names one logbook by its absolute location: stable, distinct, 16 hex', () => {
    const a = logbookOwner('/data/one');
    expect(a).toEqual({ name: LOGBOOK_OWNER_VAR, value: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(logbookOwner('/data/one/../one')).toEqual(a);
    expect(logbookOwner('/data/two').value).not.toBe(a.value);
  });
});

describe('recoverOnStart', () => {
  it("kills the logbook's leftovers before it recovers in-doubt actions", async () => {
    const order: string[] = [];
    const runner = new (class extends FakeRunner {
      async killOwned(owner: OwnerMarker): Promise<number> {
        order.push(`kill ${owner.name}=${owner.value}`);
        return 1;
      }
    })();
    const manager = newLocalEngine('/data/one', {
      runner, workspaces: new FakeWorkspaces(), logbook: new MemoryLogbook(), clock: { now: () => Date.now() },
    });
    const recover = manager.recoverInDoubtActions.bind(manager);
    vi.spyOn(manager, 'recoverInDoubtActions').mockImplementation(async () => {
      order.push('recover');
      return recover();
    });
    expect(await recoverOnStart(manager)).toEqual({ killed: 1, recovered: [] });
    expect(order).toEqual([`kill ${LOGBOOK_OWNER_VAR}=${logbookOwner('/data/one').value}`, 'recover']);
  });
});
