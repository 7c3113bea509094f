import { JobsError } from '../errors.js';
import { defaultLogger } from '../logger.js';
import type { StoreOpenOptions } from './orm-config.js';
import { SqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

export type DatabaseLocation = { dialect: 'sqlite'; filename: string } | { dialect: 'postgres'; url: string };

/**
 * `sqlite:./path/data.db`, `sqlite:///abs/path.db`, `sqlite::memory:` or a bare file path pick
 * SQLite; `postgres://…` / `postgresql://…` pick PostgreSQL.
 */
export function parseDatabaseUrl(database: string): DatabaseLocation {
  if (/^postgres(ql)?:\/\//i.test(database)) return { dialect: 'postgres', url: database };
  const match = /^sqlite:(?:\/\/)?(.*)$/is.exec(database);
  const filename = match ? match[1]! : database;
  if (!filename || /^[a-z][a-z0-9+.-]*:\/\//i.test(filename)) {
    throw new JobsError('validation', `Unsupported database "${database}": use sqlite:PATH or postgres://…`);
  }
  return { dialect: 'sqlite', filename };
}

/** Opens the store the URL names and brings its schema up to date; `store.opening` says what that did. */
export async function openStore(database: string, options: Partial<StoreOpenOptions> = {}): Promise<Store> {
  const opened: StoreOpenOptions = { ...options, logger: options.logger ?? defaultLogger() };
  const location = parseDatabaseUrl(database);
  const store =
    location.dialect === 'postgres'
      ? await (await import('./postgres/store.js')).PostgresStore.open(location.url, opened)
      : await SqliteStore.open(location.filename, opened);
  try {
    store.opening.migrationsApplied = await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
