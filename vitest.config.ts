import { configDefaults, defineConfig } from 'vitest/config';

/** Files that need the machine to themselves (a PostgreSQL restart, latency figures). */
const SERIAL = 'test/**/*.serial.test.ts';

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time on the two-core machines this runs on (CI included): most of a test's
    // time is waiting on a database, a timer or a child process, so the suite takes 10 minutes
    // instead of 26. Tests wait for events or poll with a deadline, never for a fixed time.
    maxWorkers: 2,
    env: { JOBBASE_LOG_LEVEL: 'silent' },
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, SERIAL] } },
      // One file at a time, after every other file has finished (vitest runs a project with
      // file parallelism off in its own group, last).
      { extends: true, test: { name: 'serial', include: [SERIAL], fileParallelism: false } },
    ],
  },
});
