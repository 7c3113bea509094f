/**
 * `@jobbase/server/testing`: the store as the test suites reach it. The conformance suite
 * (test/store/) calls every driver method directly; tests that must look at or change the
 * database beneath the engine (counts against `count(*)`, an integrity check, a table emptied
 * behind the engine's back) go through `rawQuery` here rather than an ORM. Not for applications.
 */
import { SqlStore, type Row } from './sql-store.js';
import type { Store } from './types.js';
import { postgresMigrations } from './postgres/migrations.js';
import { sqliteMigrations } from './sqlite/migrations.js';

export { openStore, parseDatabaseUrl } from './open.js';
export type * from './types.js';
export type { Row } from './sql-store.js';
/** How both dialects read a stored time (PostgreSQL's timestamptz text, SQLite's ISO text). */
export { toDate } from './sql-store.js';
/** The names of each dialect's migrations, in the order they apply. */
export const migrationNames = {
  sqlite: sqliteMigrations.map((m) => m.name),
  postgres: postgresMigrations.map((m) => m.name),
};

/** Runs one statement (`?` placeholders) on the store's own connection pool; its rows. */
export function rawQuery<T = Row>(store: Store, sql: string, params: unknown[] = []): Promise<T[]> {
  if (!(store instanceof SqlStore)) throw new TypeError('rawQuery needs a store opened by openStore.');
  return store.rawQuery(sql, params) as Promise<T[]>;
}
