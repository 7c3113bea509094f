import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createApp, createJobs, type Jobs } from '@jobbase/server';
import { createTestDatabase, dialects } from './helpers/databases.js';
import { postgresUrlFor } from './helpers/postgres-url.js';
import { terminateBackends } from './helpers/postgres-admin.js';
import pg from 'pg';
import { postgresAdminUrl } from './helpers/postgres-url.js';

const ROUNDS = 50;
const ENGINES = 3;

/**
 * Processes that start together on a database nobody has used yet race to create it, its
 * tables, its migration records and the token secret. Every one of them must start, every
 * time: a flaky first start is a deploy that fails one time in ten.
 */
describe.each(dialects())('first starts on %s', (dialect) => {
  it(`${ENGINES} engines and an app opening one new database at once, ${ROUNDS} times: none fails`, { timeout: 300_000 }, async () => {
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const db = dialect === 'sqlite' ? await createTestDatabase('sqlite') : missingPostgresDatabase();
      const opened = await Promise.allSettled([
        ...Array.from({ length: ENGINES }, () => createJobs({ database: db.url })),
        createApp({ database: db.url }),
      ]);
      const engines: { close(): Promise<void> }[] = [];
      for (const result of opened) {
        if (result.status === 'fulfilled') engines.push(result.value);
        else failures.push(`round ${round}: ${(result.reason as Error).stack}`);
      }
      try {
        if (engines.length === opened.length) {
          const first = engines[0] as Jobs;
          const job = await first.enqueue('shared');
          for (const jobs of engines.slice(1, ENGINES) as Jobs[]) expect((await jobs.get(job.id)).topic).toBe('shared');
        }
      } finally {
        await Promise.all(engines.map((e) => e.close()));
        await db.drop();
      }
    }
    expect(failures).toEqual([]);
  });
});

/** A name for a database that does not exist yet: the engines themselves create it. */
function missingPostgresDatabase() {
  const name = `jobbase_test_${randomBytes(6).toString('hex')}`;
  return {
    url: postgresUrlFor(name),
    async drop() {
      await terminateBackends(name);
      const client = new pg.Client({ connectionString: postgresAdminUrl() });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
