import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresAdminUrl } from './postgres-url.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** Ends every connection to `database` but this admin one; returns how many it ended. */
export async function terminateBackends(database: string): Promise<number> {
  const client = new pg.Client({ connectionString: postgresAdminUrl() });
  await client.connect();
  try {
    const { rows } = await client.query(
      'select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    );
    return rows.length;
  } finally {
    await client.end();
  }
}

/** Whether the test server answers a query now (3 s at most). */
export async function postgresUp(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresAdminUrl(), connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The local cluster can be stopped and started only when the tests run on this machine's own
 * PostgreSQL (CI's, and a developer's default), as root; elsewhere the restart test is skipped.
 */
export function localCluster(): { version: string } | null {
  const url = new URL(postgresAdminUrl());
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) || (url.port || '5432') !== '5432') return null;
  if (process.getuid?.() !== 0) return null;
  try {
    const versions = readdirSync('/etc/postgresql');
    return versions.length === 1 ? { version: versions[0]! } : null;
  } catch {
    return null;
  }
}

export async function pgctl(action: 'start' | 'stop' | 'restart'): Promise<void> {
  const cluster = localCluster();
  if (!cluster) throw new Error('no local cluster to control');
  // stop and restart use the fast mode: open transactions roll back, clients are cut at once.
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', cluster.version, 'main', action], { timeout: 60_000 });
}

/** Starts the cluster if it does not answer, and waits until it does: every restart test ends with this. */
export async function ensurePostgresUp(): Promise<void> {
  if (await postgresUp()) return;
  await pgctl('start').catch(() => undefined);
  await waitFor('PostgreSQL to answer again', postgresUp, { timeout: 60_000, interval: 200 });
}
