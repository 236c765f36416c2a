/**
 * Shared settings of the hostile-input fuzz suites (test/security): one fixed seed so a CI
 * failure replays exactly (fast-check prints the seed and path of a failing run), bounded run
 * counts so each file stays well under a minute on two busy cores, and `BITACORA_FUZZ_RUNS`
 * to raise the counts locally (`BITACORA_FUZZ_RUNS=5000 npx vitest run test/security`), and
 * `BITACORA_FUZZ_SEED` to explore other seeds.
 */
import type { Parameters as FcParameters } from 'fast-check';

/** Default seed of every fuzz property. */
export const FUZZ_SEED = Number(process.env['BITACORA_FUZZ_SEED'] ?? 0x5eed_b17);

/** Runs for a property: `base` in CI, `BITACORA_FUZZ_RUNS` (scaled down for costly ones) when set. */
export function fuzzRuns(base: number, scale = 1): number {
  const raised = Number(process.env['BITACORA_FUZZ_RUNS']);
  return Number.isFinite(raised) && raised > 0 ? Math.max(1, Math.round(raised * scale)) : base;
}

/** fast-check parameters of a pure property: fixed seed, bounded runs, shrinking on failure. */
export function fuzzParams<T>(base: number, scale = 1): FcParameters<T> {
  return { seed: FUZZ_SEED, numRuns: fuzzRuns(base, scale) };
}

/**
 * Parameters of a property against a live server: no shrinking (each run is network traffic
 * and the failing input is printed as is), and a cap on how long one property may run.
 */
export function liveParams<T>(base: number, scale = 1): FcParameters<T> {
  const raised = Number(process.env['BITACORA_FUZZ_RUNS']) > 0;
  return { ...fuzzParams<T>(base, scale), endOnFailure: true, ...(raised ? {} : { interruptAfterTimeLimit: 40_000, markInterruptAsFailure: false }) };
}

/** vitest timeout of one property test: the config's minute in CI, unbounded-ish when runs are raised. */
export const FUZZ_TIMEOUT_MS = Number(process.env['BITACORA_FUZZ_RUNS']) > 0 ? 3_600_000 : 60_000;
