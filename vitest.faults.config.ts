import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the whole fault-injection suite against real processes on loopback,
// including the seeded soak (test/faults/soak.test.ts; BITACORA_SOAK_MS, BITACORA_SOAK_SEED).
// Files run one at a time: faults are about timing under load, and the soak wants the machine.
// The fixed-seed subset (every test/faults file but the soak) also runs in `npm test`.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    maxWorkers: 1,
    pool: 'forks',
  },
});
