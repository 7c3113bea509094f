import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, dialects, type Dialect, type TestDatabase } from './helpers/databases.js';

/**
 * An embedded engine runs inside someone else's service, so what it loads is its footprint
 * (issue 20, Memory): `createJobs` loads no HTTP code and only the driver of the dialect it
 * opens; `createApp` loads the HTTP server when called. A child process imports
 * `@jobbase/server` as a user would and lists the packages it loaded.
 */
const fixture = fileURLToPath(new URL('./fixtures/loaded-packages.mjs', import.meta.url));
const run = promisify(execFile);

/** The HTTP server's packages: none of them belongs in an embedded engine. */
const HTTP_PACKAGES = ['express', 'helmet', '@ts-rest/express', 'pino-http', 'jose', 'body-parser', 'swagger-ui-dist'];

const DRIVERS: Record<Dialect, string[]> = {
  sqlite: ['better-sqlite3', '@mikro-orm/better-sqlite'],
  postgres: ['pg', '@mikro-orm/postgresql'],
};

const other = (dialect: Dialect): Dialect => (dialect === 'sqlite' ? 'postgres' : 'sqlite');

async function loadedPackages(database: string): Promise<{ afterCreateJobs: string[]; afterCreateApp: string[] }> {
  const { stdout } = await run(process.execPath, [fixture, database], {
    env: { ...process.env, JOBBASE_LOG_LEVEL: 'silent' },
    timeout: 60_000,
  });
  return JSON.parse(stdout);
}

describe.each(dialects())('what a process loads on %s', (dialect) => {
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });

  it('createJobs loads its own driver and no HTTP code nor the other dialect; createApp then loads the HTTP server', async () => {
    db = await createTestDatabase(dialect);
    const { afterCreateJobs, afterCreateApp } = await loadedPackages(db.url);

    // The recorder sees what was loaded: the dialect's own driver and MikroORM are there.
    expect(afterCreateJobs).toEqual(expect.arrayContaining([...DRIVERS[dialect], '@mikro-orm/core']));
    expect(afterCreateJobs.filter((name) => HTTP_PACKAGES.includes(name))).toEqual([]);
    expect(afterCreateJobs.filter((name) => DRIVERS[other(dialect)].includes(name))).toEqual([]);

    expect(afterCreateApp).toEqual(expect.arrayContaining(['express', 'helmet', '@ts-rest/express', 'jose']));
    expect(afterCreateApp.filter((name) => DRIVERS[other(dialect)].includes(name))).toEqual([]);
  });
});
