import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { postgresAdminUrl, postgresUrlFor } from './postgres-url.js';

export type Dialect = 'sqlite' | 'postgres';

/** The dialects this run covers: SQLite always, PostgreSQL when the global setup found it. */
export function dialects(): Dialect[] {
  return inject('postgres') ? ['sqlite', 'postgres'] : ['sqlite'];
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database: a file in a temp dir, or a PostgreSQL database of its own. */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'jobbase-test-'));
    return { url: `sqlite:${join(dir, 'data.db')}`, drop: () => rm(dir, { recursive: true, force: true }) };
  }
  const name = `jobbase_test_${randomBytes(6).toString('hex')}`;
  await admin(`create database ${name}`);
  return {
    url: postgresUrlFor(name),
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresAdminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
