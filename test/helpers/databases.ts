import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { postgresAdminUrl, postgresUrlFor } from './postgres-url.js';
import { underCi } from './prerequisites.js';

export type Dialect = 'sqlite' | 'postgres';

/** The dialects this run covers: SQLite always, PostgreSQL when the global setup found it. */
export function dialects(): Dialect[] {
  return dialectsFor(inject('postgres'));
}

/** Under CI, both or a failure (the global setup fails first; this is the backstop). */
export function dialectsFor(postgres: boolean): Dialect[] {
  if (postgres) return ['sqlite', 'postgres'];
  if (underCi()) throw new Error('CI is set but the PostgreSQL tests are off; under CI both dialects run.');
  return ['sqlite'];
}

/** Whether the PostgreSQL-only tests run (the global setup printed why when they do not). */
export function postgresAvailable(): boolean {
  return dialects().includes('postgres');
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A new, empty database: a file in a temp dir, or a PostgreSQL database of its own on the test
 * server (or on the server `postgresAdmin` names).
 */
export async function createTestDatabase(dialect: Dialect, postgresAdmin = postgresAdminUrl()): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'jobbase-test-'));
    return { url: `sqlite:${join(dir, 'data.db')}`, drop: () => rm(dir, { recursive: true, force: true }) };
  }
  const name = `jobbase_test_${randomBytes(6).toString('hex')}`;
  await admin(postgresAdmin, `create database ${name}`);
  return {
    url: postgresUrlFor(name, postgresAdmin),
    drop: () => admin(postgresAdmin, `drop database if exists ${name} with (force)`),
  };
}

/**
 * Where a new database would be, not created yet: a file name in a new temp dir, or the URL of
 * a PostgreSQL database nobody has created (dropped afterwards if something created it).
 */
export async function unusedTestDatabase(dialect: Dialect, postgresAdmin = postgresAdminUrl()): Promise<TestDatabase> {
  if (dialect === 'sqlite') return createTestDatabase('sqlite');
  const name = `jobbase_test_${randomBytes(6).toString('hex')}`;
  return {
    url: postgresUrlFor(name, postgresAdmin),
    drop: () => admin(postgresAdmin, `drop database if exists ${name} with (force)`),
  };
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
