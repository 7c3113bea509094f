// E. The machine's own limit: single-row INSERT transactions per second, one at a time, with
// nothing of any queue in the way: node-pg (named prepared statement) and better-sqlite3. On
// PostgreSQL also with 10 clients at once, what a server with 10 connections could reach
// (SQLite has one writer: more clients only wait for it).
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { now } from '../lib/process-probes.mjs';
import { withPostgres } from '../lib/raw-sql.mjs';

const MAX_ROWS = 2_000_000;
/** Clients of the concurrent PostgreSQL limit: section D's connections. */
const CLIENTS = 10;
const CHECK_EVERY = 50;
/** The shape of a job row's essentials, in each dialect's own types. */
const PG_TABLE = 'create table bench_insert (id uuid primary key, topic text not null, payload jsonb not null, created timestamptz not null)';
const SQLITE_TABLE = 'create table bench_insert (id text primary key, topic text not null, payload text not null, created text not null)';

export async function run({ database, seconds, synchronous }) {
  return database.dialect === 'postgres' ? postgresLoops(database.url, seconds) : sqliteLoop(database.sqliteFile, seconds, synchronous);
}

const pgInsert = (n) => ({
  name: 'bench_insert',
  text: 'insert into bench_insert (id, topic, payload, created) values ($1, $2, $3, $4)',
  values: [randomUUID(), 'bench', JSON.stringify({ n }), new Date()],
});

/** One client inserting until `until`, one row per round trip: the rows it inserted. */
async function insertUntil(client, until) {
  let rows = 0;
  while (rows < MAX_ROWS && (rows % CHECK_EVERY !== 0 || now() < until)) {
    await client.query(pgInsert(rows));
    rows++;
  }
  return rows;
}

async function postgresLoops(url, seconds) {
  return withPostgres(url, async (client) => {
    await client.query(PG_TABLE);
    for (let i = 0; i < 50; i++) await client.query(pgInsert(i));
    let started = now();
    const rows = await insertUntil(client, started + seconds * 1000);
    const alone = rows / ((now() - started) / 1000);

    const { default: pg } = await import('pg');
    const clients = [client, ...(await Promise.all(Array.from({ length: CLIENTS - 1 }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    })))];
    try {
      started = now();
      const counts = await Promise.all(clients.map((c) => insertUntil(c, started + seconds * 1000)));
      const together = counts.reduce((a, b) => a + b, 0) / ((now() - started) / 1000);
      return {
        insertsPerSecond: alone,
        insertsPerSecond10: together,
        rows,
        settings: { client: `node-pg, autocommit, prepared; one connection, then ${CLIENTS} at once` },
      };
    } finally {
      await Promise.all(clients.slice(1).map((c) => c.end()));
    }
  });
}

function sqliteLoop(file, seconds, synchronous) {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
    db.exec(SQLITE_TABLE);
    const insert = db.prepare('insert into bench_insert (id, topic, payload, created) values (?, ?, ?, ?)');
    const row = (n) => [randomUUID(), 'bench', JSON.stringify({ n }), new Date().toISOString()];
    for (let i = 0; i < 50; i++) insert.run(...row(i));
    const started = now();
    const until = started + seconds * 1000;
    let rows = 0;
    while (rows < MAX_ROWS && (rows % CHECK_EVERY !== 0 || now() < until)) {
      insert.run(...row(rows));
      rows++;
    }
    const elapsed = (now() - started) / 1000;
    return {
      insertsPerSecond: rows / elapsed,
      rows,
      settings: { client: 'better-sqlite3, autocommit', journal: 'WAL', synchronous },
    };
  } finally {
    db.close();
  }
}
