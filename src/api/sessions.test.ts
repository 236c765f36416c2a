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
});
