// Direct driver connections for the harness's own SQL (backlogs, VACUUM), apart from the queue
// under test so its pools and statements stay as the queue set them up. Each driver is imported
// when first used: a measurement process then holds the drivers its queue loads, not both
// (section F and the drain's peak RSS count them).

export async function withPostgres(url, work) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function withSqlite(file, work) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 10000');
    return await work(db);
  } finally {
    db.close();
  }
}

/** A recursive CTE counting 1..? (SQLite has no generate_series without an extension). */
export const SQLITE_SERIES = 'with recursive series(n) as (select 1 union all select n + 1 from series where n < ?)';
