// One fresh database per measurement: a PostgreSQL database created and dropped on the local
// server (127.0.0.1:5432, user postgres, trust auth), or a SQLite file in its own temp folder.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const SERVER = 'postgres://postgres@127.0.0.1:5432';
const PREFIX = 'jb_bench_';
let sequence = 0;

async function withAdminClient(work) {
  const client = new pg.Client({ connectionString: `${SERVER}/postgres` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** `SELECT version()` of the local server, or null when it is not reachable. */
export async function postgresVersion() {
  try {
    return await withAdminClient(async (c) => (await c.query('show server_version')).rows[0].server_version);
  } catch {
    return null;
  }
}

/** Drops databases a killed earlier run left behind: this harness's prefix, owner process gone. */
export async function dropLeftoverDatabases() {
  await withAdminClient(async (c) => {
    const { rows } = await c.query('select datname from pg_database where datname like $1', [`${PREFIX}%`]);
    for (const { datname } of rows) {
      const owner = Number(/^jb_bench_(\d+)_\d+$/.exec(datname)?.[1]);
      if (Number.isInteger(owner) && isAlive(owner)) continue;
      await c.query(`drop database if exists "${datname}" with (force)`);
    }
  });
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * A database for one measurement: `{ dialect, url, sqliteFile?, dispose() }`. `url` is what the
 * queue under test is given (`postgres://…` or `sqlite:/abs/path`).
 */
export async function freshDatabase(dialect) {
  sequence += 1;
  if (dialect === 'postgres') {
    // The name is built from our pid and a counter only: safe to put in the DDL.
    const name = `${PREFIX}${process.pid}_${sequence}`;
    await withAdminClient((c) => c.query(`create database "${name}"`));
    return {
      dialect,
      url: `${SERVER}/${name}`,
      dispose: () => withAdminClient((c) => c.query(`drop database if exists "${name}" with (force)`)),
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'jobbase-bench-'));
  const file = join(dir, 'data.db');
  return { dialect, url: `sqlite:${file}`, sqliteFile: file, dispose: () => rm(dir, { recursive: true, force: true }) };
}
