import pg from 'pg';

/**
 * Whether `url` reaches PostgreSQL through a pooler such as PgBouncer: a server hands each
 * connection its own process id at start (BackendKeyData), while a pooler hands out a made-up
 * one, which then differs from the backend that answers `pg_backend_pid()`. False when the
 * database cannot be reached (opening the pool reports that).
 */
export async function throughPooler(url: string): Promise<boolean> {
  const probe = new pg.Client({ connectionString: url, application_name: 'jobbase-open' });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return await isPooled(probe);
  } catch {
    return false;
  } finally {
    await probe.end().catch(() => undefined);
  }
}

/** See `throughPooler`; `client` is connected. */
export async function isPooled(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  return rows[0]?.pid !== (client as pg.Client & { processID: number }).processID;
}
