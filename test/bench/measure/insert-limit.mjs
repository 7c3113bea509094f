// E. The machine's own limit: single-row INSERT transactions per second, one at a time, with
// nothing of any queue in the way: node-pg (named prepared statement) and better-sqlite3.
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { now } from '../lib/process-probes.mjs';
import { withPostgres } from '../lib/raw-sql.mjs';

const MAX_ROWS = 2_000_000;
const CHECK_EVERY = 50;
/** The shape of a job row's essentials, in each dialect's own types. */
const PG_TABLE = 'create table bench_insert (id uuid primary key, topic text not null, payload jsonb not null, created timestamptz not null)';
const SQLITE_TABLE = 'create table bench_insert (id text primary key, topic text not null, payload text not null, created text not null)';

export async function run({ database, seconds, synchronous }) {
  return database.dialect === 'postgres' ? postgresLoop(database.url, seconds) : sqliteLoop(database.sqliteFile, seconds, synchronous);
}

async function postgresLoop(url, seconds) {
  return withPostgres(url, async (client) => {
    await client.query(PG_TABLE);
    const insert = (n) => ({
      name: 'bench_insert',
      text: 'insert into bench_insert (id, topic, payload, created) values ($1, $2, $3, $4)',
      values: [randomUUID(), 'bench', JSON.stringify({ n }), new Date()],
    });
    for (let i = 0; i < 50; i++) await client.query(insert(i));
    const started = now();
    const until = started + seconds * 1000;
    let rows = 0;
    while (rows < MAX_ROWS && (rows % CHECK_EVERY !== 0 || now() < until)) {
      await client.query(insert(rows));
      rows++;
    }
    const elapsed = (now() - started) / 1000;
    return { insertsPerSecond: rows / elapsed, rows, settings: { client: 'node-pg, one connection, autocommit, prepared' } };
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
