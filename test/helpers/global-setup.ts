import pg from 'pg';
import { postgresAdminUrl } from './postgres-url.js';

/**
 * Decides once whether the PostgreSQL half of the suite runs. Without a reachable server it is
 * skipped with one line saying how to enable it, except under CI, where that is a failure.
 */
export default async function setup({ provide }: { provide: (key: 'postgres', value: boolean) => void }) {
  if (process.env.JOBBASE_TEST_POSTGRES === '0') {
    console.log('PostgreSQL tests disabled by JOBBASE_TEST_POSTGRES=0.');
    provide('postgres', false);
    return;
  }
  const client = new pg.Client({ connectionString: postgresAdminUrl(), connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
    provide('postgres', true);
  } catch (err) {
    if (process.env.CI) {
      throw new Error(`CI is set but PostgreSQL at ${postgresAdminUrl()} cannot be reached: ${(err as Error).message}`);
    }
    console.log(
      `PostgreSQL tests skipped: no server at ${postgresAdminUrl()}. Start one or set JOBBASE_TEST_PG_URL to enable them.`,
    );
    provide('postgres', false);
  } finally {
    await client.end().catch(() => undefined);
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: boolean;
  }
}
