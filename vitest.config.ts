import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code (src/**); multi-process tests live in test/.
// Process-spawning tests are heavy on a 2-core machine, so files run with bounded parallelism.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/faults/soak*.test.ts', 'node_modules/**', 'dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    pool: 'forks',
  },
});
