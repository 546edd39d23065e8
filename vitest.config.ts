import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    globalSetup: ['test/setup/private-state.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Real git, DuckDB and child processes: two cores, so keep the pool small.
    pool: 'forks',
    maxWorkers: 2,
  },
});
