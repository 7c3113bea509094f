import { Migrator } from '@mikro-orm/migrations';
import type { MigrationObject } from '@mikro-orm/core';
import type { Logger } from '../logger.js';
import { entities } from './entities.js';

export interface StoreOpenOptions {
  logger: Logger;
  /** SQLite only: `NORMAL` (PocketBase's default: an application crash loses nothing) or `FULL`. */
  synchronous?: 'NORMAL' | 'FULL';
  /** SQLite only: how long a statement waits for another process's write lock, in ms. */
  busyTimeout?: number;
  /** PostgreSQL only: connections in this process's pool. */
  poolSize?: number;
  /** PostgreSQL only: where to LISTEN for new jobs (default: the database URL); false: poll only. */
  listenUrl?: string | false;
}

/** What both dialects' MikroORM set-ups share: entities, migrations, and knex logging to ours. */
// Stryker disable all: MikroORM settings no query of the store's depends on (its SQL is its own,
// never the EntityManager's); the migrations' table and list are pinned by test/store/migrate.test.ts.
export function baseOrmConfig(migrationsList: MigrationObject[], logger: Logger) {
  const log = (level: 'warn' | 'error' | 'debug') => (message: unknown) => logger[level]({ source: 'knex' }, String(message));
  return {
    entities,
    extensions: [Migrator],
    migrations: { migrationsList, tableName: 'jb_migrations', snapshot: false, silent: true },
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: true,
    driverOptions: { log: { warn: log('warn'), error: log('error'), debug: log('debug'), deprecate: log('debug') } },
  };
}
// Stryker restore all
