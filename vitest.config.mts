import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // A guard against hangs, not a speed target: CLI and training tests take tens of seconds on a busy 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native modules (sharp, onnxruntime, better-sqlite3) are safest in forked processes.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default', './tests/helpers/summary-reporter.ts'],
  },
});
