import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/index.js';
import { DEFAULT_EWMA_ALPHA, estimateKeyOf, updateEstimate } from './estimates.js';

describe('updateEstimate', () => {
  it('starts from the first observation', () => {
    expect(updateEstimate(undefined, 1200)).toEqual({ meanMs: 1200, samples: 1 });
  });

  it('averages the first samples plainly, then weighs the newest by alpha', () => {
    let e = updateEstimate(undefined, 1000);
    e = updateEstimate(e, 2000); // weight 1/2
    expect(e).toEqual({ meanMs: 1500, samples: 2 });
    e = updateEstimate(e, 3000); // weight max(0.3, 1/3)
    expect(e.meanMs).toBeCloseTo(2000);
    e = updateEstimate(e, 3000); // weight max(0.3, 1/4) = 0.3
    expect(e.meanMs).toBeCloseTo(2000 + DEFAULT_EWMA_ALPHA * 1000);
    expect(e.samples).toBe(4);
  });

  it('follows a node that became faster', () => {
    let e = { meanMs: 10_000, samples: 50 };
    for (let i = 0; i < 10; i++) e = updateEstimate(e, 1000);
    expect(e.meanMs).toBeLessThan(1300);
  });

  it('stays between the smallest and largest observation', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1e7 }), { minLength: 1, maxLength: 50 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (xs, alpha) => {
        const e = xs.reduce<ReturnType<typeof updateEstimate> | undefined>((prev, x) => updateEstimate(prev, x, alpha), undefined);
        expect(e?.samples).toBe(xs.length);
        expect(e?.meanMs).toBeGreaterThanOrEqual(Math.min(...xs) - 1e-6);
        expect(e?.meanMs).toBeLessThanOrEqual(Math.max(...xs) + 1e-6);
      }),
    );
  });

  it('refuses a negative or non-finite duration and a bad alpha', () => {
    expect(() => updateEstimate(undefined, -1)).toThrow(ValidationError);
    expect(() => updateEstimate(undefined, Number.NaN)).toThrow(ValidationError);
    expect(() => updateEstimate(undefined, 5, 0)).toThrow(/alpha/);
  });
});

describe('estimateKeyOf', () => {
  const base = { kind: 'spark' as const, estimateKey: null };

  it('uses the explicit key when there is one', () => {
    expect(estimateKeyOf({ ...base, estimateKey: 'build', command: ['make'] })).toBe('build');
  });

  it('uses the program base name and its first argument', () => {
    expect(estimateKeyOf({ ...base, command: ['/usr/bin/make', 'test', '-j4'] })).toBe('spark:make test');
    expect(estimateKeyOf({ ...base, command: ['pytest', '-k', 'slow'] })).toBe('spark:pytest');
  });

  it('looks inside sh -c lines', () => {
    expect(estimateKeyOf({ ...base, command: ['sh', '-c', '  npm run build -- --prod'] })).toBe('spark:npm run');
    expect(estimateKeyOf({ ...base, kind: 'action', command: ['bash', '-c', 'deploy.sh'] })).toBe('action:deploy.sh');
  });
});
