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

/** Whether a server (or a pooler) at `url` answers a query now, within `timeoutMs` to connect. */
export async function answersQueries(url: string, timeoutMs: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
