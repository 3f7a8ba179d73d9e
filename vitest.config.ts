import './local/bin/node-version.mjs';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores on CI: keep at most two test files (each with its own database) in flight.
    maxWorkers: 2,
    reporters: ['default'],
    env: { TENANTRY_LOG_LEVEL: 'silent' },
  },
});
