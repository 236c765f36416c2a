/** Durations written by humans ↔ milliseconds. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads every unit', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
  });

  it('refuses what is not a duration', () => {
    for (const text of ['', '30', 's', '-1s', '1 s', '1w', 'forever']) expect(parseDuration(text)).toBeNull();
  });
});

describe('formatDuration', () => {
  it('never prints 60 seconds or 60 minutes in a unit', () => {
    expect(formatDuration(3_599_500)).toBe('1h0m');
    expect(formatDuration(59_600)).toBe('1m0s');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 * 86_400_000 }), (ms) => {
        expect(formatDuration(ms)).not.toMatch(/(^|[^\d])60[sm]/);
      }),
    );
  });

  it('keeps short durations precise', () => {
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(61_000)).toBe('1m1s');
  });
});
