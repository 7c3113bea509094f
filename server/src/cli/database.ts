import { createJobs, type Jobs } from '../engine/jobs.js';
import { parseDatabaseUrl, postgresDatabaseName } from '../store/open.js';
import type { StoreOpening } from '../store/types.js';

/** Opens the database (which creates and migrates it as needed) without starting any worker, runs `work`, closes it. */
export async function withDatabase<T>(database: string, work: (jobs: Jobs) => Promise<T>): Promise<T> {
  const jobs = await createJobs({ database });
  try {
    return await work(jobs);
  } finally {
    await jobs.close();
  }
}

/**
 * What opening the database did, in words: a database created where none was (a typo in a URL
 * would otherwise go unnoticed) and the migrations applied, or that there was nothing to do.
 */
export function describeOpening(database: string, opening: StoreOpening): string[] {
  const lines: string[] = [];
  if (opening.databaseCreated) lines.push(`Created the ${databaseName(database)}.`);
  const applied = opening.migrationsApplied;
  if (applied.length === 0) lines.push('Database schema is already up to date.');
  else lines.push(`Applied ${applied.length} migration${applied.length === 1 ? '' : 's'}: ${applied.join(', ')}.`);
  return lines;
}

/** `PostgreSQL database jobbase` or `SQLite database ./jb_data/data.db`: never the URL, which may hold a password. */
function databaseName(database: string): string {
  const location = parseDatabaseUrl(database);
  if (location.dialect === 'sqlite') return `SQLite database ${location.filename}`;
  return `PostgreSQL database ${postgresDatabaseName(location.url)}`;
}
