import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateHmacKey, generateSecret, hashSecret, hmacSecret, redactSecret, SECRET_PREFIXES, secretKindOf, secretsEqual } from './tokens.js';

describe('secrets', () => {
  it('are the prefix plus 32 random bytes in base64url', () => {
    const token = generateSecret(SECRET_PREFIXES.join);
    expect(token).toMatch(/^bjt_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    expect(generateSecret('bjt_')).not.toBe(token);
  });

  it('say what they are', () => {
    expect(secretKindOf(generateSecret('bjt_'))).toBe('join');
    expect(secretKindOf(generateSecret('bat_'))).toBe('admin');
    expect(secretKindOf(generateSecret('bnc_'))).toBe('node');
    expect(secretKindOf('bjt_short')).toBeNull();
    expect(secretKindOf(`xxx_${'a'.repeat(43)}`)).toBeNull();
  });

  it('are stored as sha256 hex, or as an HMAC under a fleet key', () => {
    const token = generateSecret('bat_');
    expect(hashSecret(token)).toBe(createHash('sha256').update(token).digest('hex'));
    const key = generateHmacKey();
    expect(hmacSecret(key, token)).toBe(createHmac('sha256', key).update(token).digest('hex'));
    expect(hmacSecret(generateHmacKey(), token)).not.toBe(hmacSecret(key, token));
  });

  it('compare equal exactly when they are equal', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(secretsEqual(a, b)).toBe(a === b);
        expect(secretsEqual(a, a)).toBe(true);
      }),
    );
  });

  it('are redacted to their prefix and four characters', () => {
    const token = generateSecret('bjt_');
    expect(redactSecret(token)).toBe(`${token.slice(0, 8)}…`);
    expect(redactSecret('whatever the user typed')).toBe('…');
  });
});
