// Mutation testing of the engine and the stores: `npm run mutate` (not in CI).
// How to run it, what it costs and what the last run left alive: docs/testing.md.

// SQLite by default: the tests then run once per mutant instead of twice, and the PostgreSQL
// store's own files are left out. `JOBBASE_MUTATE_POSTGRES=1 npm run mutate` runs the tests on
// both dialects (PostgreSQL must be reachable, as for `npm test`) and mutates those files too.
const postgres = process.env.JOBBASE_MUTATE_POSTGRES === '1';
// Read by test/helpers/global-setup.ts in the test runner processes, which inherit it.
if (!postgres) process.env.JOBBASE_TEST_POSTGRES = '0';
// Two scopes, each with the tests written for it, so a mutant runs only tests that are about
// its layer: `store` (server/src/store, against the store conformance suite, test/store/) and
// `engine` (server/src/engine, against the engine tests). `npm run mutate` runs both in turn.
const scope = process.env.JOBBASE_MUTATE_SCOPE === 'engine' ? 'engine' : 'store';
process.env.JOBBASE_MUTATE_SCOPE = scope; // read by vitest.mutate.config.ts in the runner processes
const mode = `${scope}-${postgres ? 'postgres' : 'sqlite'}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  // Its own vitest config: the workspace packages resolve to their sources (so the tests see the
  // mutants) and only the tests that drive the engine and the stores in-process run.
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  mutate:
    scope === 'engine'
      ? ['server/src/engine/**/*.ts']
      : [
          'server/src/store/**/*.ts',
          // Only interfaces: nothing to mutate.
          '!server/src/store/types.ts',
          // The test-only entry point.
          '!server/src/store/testing.ts',
          // Frozen records of schemas already applied to databases: a mutated SQL string there is
          // noise, and every migration's effect is tested through the queries that rely on it.
          '!server/src/store/*/migrations.ts',
          // Code no SQLite test can reach.
          ...(postgres ? [] : ['!server/src/store/postgres/**']),
        ],
  // Each mutant runs only the tests that executed its code in the dry run.
  coverageAnalysis: 'perTest',
  // Two cores, shared with other test runs.
  concurrency: 2,
  // The tests poll with deadlines and wait on timers: a mutant's run may take its tests' dry-run
  // time twice over, plus 3 s, before it counts as a timeout (a hang, so killed).
  timeoutFactor: 2,
  timeoutMS: 3_000,
  // A mutant in module-level code (a constant, a class field initialiser) is covered by every
  // test, so each one would run the whole set: hours on two cores. They are left out and
  // reported as ignored.
  ignoreStatic: true,
  dryRunTimeoutMinutes: 15,
  // Reruns test only the mutants whose code or tests changed since the last run of the same mode.
  incremental: true,
  incrementalFile: `reports/stryker-incremental-${mode}.json`,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${mode}.html` },
  jsonReporter: { fileName: `reports/mutation/${mode}.json` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  // Not needed in the sandbox Stryker copies the project into.
  ignorePatterns: ['dist', '/docs', '/test/bench', '/test-artifacts', '/jb_data', '/.tmp', '/reports', '/.stryker-tmp'],
  tempDirName: `.stryker-tmp/${scope}`,
  cleanTempDir: 'always',
};
