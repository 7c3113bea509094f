import pg from 'pg';
import { postgresAdminUrl } from './postgres-url.js';

/** Ends every connection to `database` but this admin one; returns how many it ended. */
export async function terminateBackends(database: string): Promise<number> {
  const client = new pg.Client({ connectionString: postgresAdminUrl() });
  await client.connect();
  try {
    const { rows } = await client.query(
      'select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    );
    return rows.length;
  } finally {
    await client.end();
  }
}
