import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The vitest config of the mutation run (`npm run mutate`, see stryker.config.mjs and
 * docs/testing.md); not used by `npm test`.
 *
 * The tests import `@jobbase/server`, whose package entry is the built `server/dist/index.js`:
 * a mutant in `server/src` would never run. Here the workspace packages resolve to their
 * TypeScript sources instead, so vitest transpiles the (mutated) files Stryker puts in its
 * sandbox. Paths are taken from this file's own folder, which is the sandbox during a run.
 *
 * Only files that drive the engine and the stores in this process: tests that spawn
 * `server/dist/cli.js` or `test/fixtures/*.mjs` run unmutated code and could kill nothing.
 */
const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The tests of each scope (stryker.config.mjs sets JOBBASE_MUTATE_SCOPE). */
export const MUTATION_TESTS =
  process.env.JOBBASE_MUTATE_SCOPE === 'engine'
    ? ['test/engine.test.ts', 'test/engine-options.test.ts', 'test/engine-events.test.ts', 'test/engine-maintenance.test.ts', 'test/engine-validation.test.ts', 'test/engine-failures.test.ts', 'test/retry-policy.test.ts', 'test/typed-topics.test.ts']
    : // The store conformance suite: every driver method, called directly.
      ['test/store/**/*.test.ts', 'test/list-pages.test.ts'];

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@jobbase\/server$/, replacement: src('./server/src/index.ts') },
      { find: /^@jobbase\/server\/testing$/, replacement: src('./server/src/store/testing.ts') },
      { find: /^@jobbase\/contract$/, replacement: src('./contract/src/index.ts') },
      { find: /^@jobbase\/openapi$/, replacement: src('./openapi/src/index.ts') },
      { find: /^@jobbase\/client$/, replacement: src('./client/src/index.ts') },
    ],
  },
  test: {
    name: 'mutate',
    include: MUTATION_TESTS,
    exclude: [...configDefaults.exclude, 'test/**/*.serial.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Ten times the slowest test's time: a mutant that makes a test or a teardown hang fails it
    // sooner than the suite's 60 s would.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Stryker's vitest runner forces pool 'threads' with one worker per Stryker process.
    pool: 'threads',
    env: { JOBBASE_LOG_LEVEL: 'silent' },
  },
});
