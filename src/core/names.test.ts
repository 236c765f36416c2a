import { describe, expect, it } from 'vitest';
import { newSessionSchema } from './model/session.js';
import { slugSchema, userNameSchema } from './names.js';

describe('userNameSchema (session users)', () => {
  it('accepts a printable name and refuses control characters, separators and path tricks', () => {
    expect(userNameSchema.safeParse('Ana María').success).toBe(true);
    for (const bad of ['', 'a\u0000b', 'a\nb', '\u001b[31mred', 'a\u2028b', '../root', 'a/b', 'a\\b', 'x'.repeat(65)]) {
      expect(userNameSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('guards new sessions from every entry (REST and pipeline files share it)', () => {
    expect(newSessionSchema.safeParse({ user: 'ana' }).success).toBe(true);
    expect(newSessionSchema.safeParse({ user: 'ana\u0007' }).success).toBe(false);
  });
});

describe('slugSchema', () => {
  it('refuses traversal and separators', () => {
    for (const bad of ['..', 'a..b', '/etc', 'a/b', 'A', '-a', 'a-']) expect(slugSchema.safeParse(bad).success, bad).toBe(false);
    expect(slugSchema.safeParse('web.api_v2').success).toBe(true);
  });
});
