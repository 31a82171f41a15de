import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most of the time is spent waiting (npm start, stand-ins, backoffs), not computing: more
    // files at once than cores (vitest's default in a run is one fewer worker than cores).
    maxWorkers: 3,
    // The shared npm start stacks of the e2e files (test/support/stack-broker.ts).
    globalSetup: ['test/support/stack-broker.ts'],
  },
});
