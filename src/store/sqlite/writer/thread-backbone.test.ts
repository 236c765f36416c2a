// openSqliteBackbone wires the thread writer by default: writes commit on the writer thread, and
// this process's watchers see their events before the writes resolve.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FleetEvent } from '../../../core/index.js';
import { openSqliteBackbone, type SqliteBackbone, type SqliteBackboneOptions } from '../index.js';

describe('openSqliteBackbone writers', () => {
  let dir: string;
  const opened: SqliteBackbone[] = [];
  const open = async (options: Partial<SqliteBackboneOptions> = {}): Promise<SqliteBackbone> => {
    const backbone = await openSqliteBackbone({ file: join(dir, 'fleet.db'), ...options });
    opened.push(backbone);
    return backbone;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-writers-'));
  });
  afterEach(async () => {
    for (const backbone of opened.splice(0)) await backbone.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const writer of [undefined, 'thread', 'local'] as const) {
    it(`publishes a write's events to watchers before it resolves (writer: ${writer ?? 'default'})`, async () => {
      const backbone = await open(writer === undefined ? {} : { writer });
      const seen: FleetEvent[] = [];
      const stop = backbone.events.watch(0, (event) => seen.push(event));
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, n) =>
          backbone.tasks.submit({ command: ['echo', String(n)] }, 1_000 + n).then((outcome) => {
            expect(seen.map((e) => e.subject)).toContain(outcome.task.id);
            return outcome;
          }),
        ),
      );
      stop();
      expect(seen.map((e) => e.subject)).toEqual(outcomes.map((o) => o.task.id));
      await expect(backbone.tasks.get(outcomes[9]!.task.id)).resolves.toEqual(outcomes[9]!.task);
    });
  }

  it('refuses writes once closed, and closes twice without error', async () => {
    const backbone = await open();
    await backbone.close();
    await expect(backbone.tasks.submit({ command: ['true'] }, 1)).rejects.toMatchObject({ message: 'the store is closed' });
    await backbone.close();
  });
});
