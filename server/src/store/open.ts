import { JobsError } from '../errors.js';
import { defaultLogger } from '../logger.js';
import type { StoreOpenOptions } from './orm-config.js';
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
    throw new JobsError('validation', `Unsupported database "${redactDatabaseUrl(database)}": use sqlite:PATH or postgres://…`);
  }
  return { dialect: 'sqlite', filename };
}

/** `password=` and `sslpassword=` as a URL's query (or libpq's `key=value` text) may hold them. */
const PASSWORD_PARAMETER = /((?:^|[?&\s])(?:ssl)?password=)[^&#\s]*/gi;

/**
 * A database URL as it may be printed or logged: its password, in the user part or in a
 * query parameter, shown as `***` (`postgres://jobbase:***@db:5432/jobs`). The user part is
 * taken to end at the last `@`, so a password holding an unescaped `/`, `?`, `#` or `@` is hidden
 * whole: where a URL is ambiguous, more is hidden rather than less.
 */
export function redactDatabaseUrl(database: string): string {
  const redacted = database.replace(PASSWORD_PARAMETER, '$1***');
  const authority = redacted.indexOf('://') + 3;
  if (authority === 2) return redacted;
  const at = redacted.lastIndexOf('@');
  const colon = redacted.indexOf(':', authority);
  if (at < authority || colon === -1 || colon > at) return redacted;
  return `${redacted.slice(0, colon)}:***${redacted.slice(at)}`;
}

/** Opens the store the URL names and brings its schema up to date; `store.opening` says what that did. */
export async function openStore(database: string, options: Partial<StoreOpenOptions> = {}): Promise<Store> {
  const opened: StoreOpenOptions = { ...options, logger: options.logger ?? defaultLogger() };
  const location = parseDatabaseUrl(database);
  // Each dialect's store is imported when opened: a process loads one driver and its MikroORM.
  const store =
    location.dialect === 'postgres'
      ? await (await import('./postgres/store.js')).PostgresStore.open(location.url, opened)
      : await (await import('./sqlite/store.js')).SqliteStore.open(location.filename, opened);
  try {
    store.opening.migrationsApplied = await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/** The database a `postgres://` URL names (its path; `postgres` when it has none, as libpq reads it). */
export function postgresDatabaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres';
}
