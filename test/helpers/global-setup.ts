import pg from 'pg';
import { postgresAdminUrl } from './postgres-url.js';
import { underCi } from './prerequisites.js';

/**
 * Decides once whether the PostgreSQL half of the suite runs. Without a reachable server, or
 * with JOBBASE_TEST_POSTGRES=0, it is skipped with one line saying so, except under CI, where
 * either is a failure with the reason: no environment switch turns a dialect off there.
 */
export default async function setup({ provide }: { provide: (key: 'postgres', value: boolean) => void }) {
  if (process.env.JOBBASE_TEST_POSTGRES === '0') {
    if (underCi()) {
      throw new Error('CI is set but JOBBASE_TEST_POSTGRES=0 would skip every PostgreSQL test; under CI both dialects run. Unset it.');
    }
    console.log('PostgreSQL tests disabled by JOBBASE_TEST_POSTGRES=0.');
    provide('postgres', false);
    return;
  }
  const client = new pg.Client({ connectionString: postgresAdminUrl(), connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    provide('postgres', true);
  } catch (err) {
    if (underCi()) {
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
