import { JobsError } from '../errors.js';
import { SqliteJobStore, type SqliteOptions } from './sqlite/store.js';
import type { SqlJobStore } from './sql-job-store.js';

export type DatabaseLocation = { dialect: 'sqlite'; filename: string } | { dialect: 'postgres'; url: string };

/**
 * `sqlite:./path/data.db`, `sqlite:///abs/path.db`, `sqlite::memory:` or a bare file path pick
 * SQLite; `postgres://…` / `postgresql://…` pick PostgreSQL.
 */
export function parseDatabaseUrl(database: string): DatabaseLocation {
  if (/^postgres(ql)?:\/\//i.test(database)) return { dialect: 'postgres', url: database };
  const match = /^sqlite:(?:\/\/)?(.*)$/i.exec(database);
  const filename = match ? match[1]! : database;
  if (!filename || /^[a-z][a-z0-9+.-]*:\/\//i.test(filename)) {
    throw new JobsError('validation', `Unsupported database "${database}": use sqlite:PATH or postgres://…`);
  }
  return { dialect: 'sqlite', filename };
}

export interface StoreOptions {
  sqlite?: SqliteOptions;
}

/** Opens the store the URL names and brings its schema up to date. */
export async function openStore(database: string, options: StoreOptions = {}): Promise<SqlJobStore> {
  const location = parseDatabaseUrl(database);
  if (location.dialect === 'postgres') {
    const { PostgresJobStore } = await import('./postgres/store.js');
    const store = await PostgresJobStore.open(location.url);
    await store.migrate();
    return store;
  }
  const store = await SqliteJobStore.open(location.filename, options.sqlite);
  await store.migrate();
  return store;
}
