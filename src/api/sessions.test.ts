import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SessionStore } from './sessions.js';

const ada = { kind: 'user', name: 'ada', role: 'admin' } as const;

describe('SessionStore', () => {
  it('finds a session by its cookie value and keeps only its hash as the key', () => {
    const store = new SessionStore();
    const { id, session } = store.create(ada);
    expect(id).toMatch(/^[\w-]{43}$/);
    expect(session.key).not.toContain(id);
    expect(store.get(id)).toBe(session);
    expect(store.get(`${id}x`)).toBeNull();
    expect(session.csrfToken).not.toBe(id);
  });

  it('ends a session after the idle period, and after the absolute lifetime even when in use', () => {
    let now = 0;
    const store = new SessionStore({ idleMs: 100, absoluteMs: 250, now: () => now });
    const idle = store.create(ada);
    now = 100;
    expect(store.get(idle.id)).toBeNull();
    const busy = store.create(ada);
    for (now = 150; now < 350; now += 50) expect(store.get(busy.id)).not.toBeNull();
    now = 350;
    expect(store.get(busy.id)).toBeNull();
    expect(store.size).toBe(0);
  });

  it('ends sessions on logout and with their user, and evicts the least recently used when full', () => {
    const store = new SessionStore({ maxSessions: 2 });
    const a = store.create(ada);
    const b = store.create({ kind: 'user', name: 'bo', role: 'viewer' });
    store.get(a.id);
    const c = store.create(ada);
    expect(store.get(b.id)).toBeNull();
    expect(store.deleteUser('ada')).toBe(2);
    expect(store.get(a.id)).toBeNull();
    const d = store.create(ada);
    expect(store.delete(d.session.key)).toBe(true);
    expect(store.get(d.id)).toBeNull();
    expect(store.get(c.id)).toBeNull();
  });

  it('with a file: writes in the background, one write at a time, and a reopened store has the live sessions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitacora-sessions-'));
    try {
      const file = join(dir, 'sessions.json');
      let now = 0;
      const first = await SessionStore.open({ file, idleMs: 100, now: () => now });
      const kept = first.create(ada);
      const ended = first.create(ada);
      const stale = first.create({ kind: 'user', name: 'bo', role: 'viewer' });
      first.delete(ended.session.key);
      await first.saved();
      const written = readFileSync(file, 'utf8');
      expect(written).not.toContain(kept.id);
      expect((JSON.parse(written) as unknown[]).length).toBe(2);
      now = 60;
      expect(first.get(kept.id)).not.toBeNull();
      await first.close();

      now = 120; // bo's session went idle; ada's was used at 60
      const second = await SessionStore.open({ file, idleMs: 100, now: () => now });
      expect(second.get(kept.id)?.csrfToken).toBe(kept.session.csrfToken);
      expect(second.get(ended.id)).toBeNull();
      expect(second.get(stale.id)).toBeNull();
      expect(second.size).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with a file it cannot write: keeps the sessions in memory and reports the failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitacora-sessions-'));
    try {
      const file = join(dir, 'sessions.json');
      mkdirSync(`${file}.tmp`); // the temporary file cannot be written
      const errors: unknown[] = [];
      const store = await SessionStore.open({ file, onWriteError: (err) => errors.push(err) });
      const { id } = store.create(ada);
      await store.saved();
      expect(errors).toHaveLength(1);
      expect(store.get(id)).not.toBeNull();
      // An unreadable or missing file is an empty store.
      expect((await SessionStore.open({ file })).size).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
