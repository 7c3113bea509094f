import { deleteSuperuser, listSuperusers, normalizeEmail, upsertSuperuser } from '../auth/superusers.js';
import { withDatabase } from './database.js';
import { readPassword } from './password.js';
import { UsageError } from './usage-error.js';

/** `superuser upsert EMAIL [PASSWORD]`: without PASSWORD, it is asked for or read from stdin. */
export async function upsertCommand(email: string, password: string | undefined, options: { db: string }): Promise<void> {
  const secret = password ?? (await readPassword());
  const result = await withDatabase(options.db, (jobs) => upsertSuperuser(jobs.store, email, secret));
  console.log(`Superuser ${email} ${result}.`);
}

/** `superuser list`: each email with when it was created (UTC, to the second). */
export async function listCommand(options: { db: string }): Promise<void> {
  const superusers = await withDatabase(options.db, (jobs) => listSuperusers(jobs.store));
  if (superusers.length === 0) {
    console.log('No superusers.');
    return;
  }
  const width = Math.max('EMAIL'.length, ...superusers.map((s) => s.email.length));
  console.log(`${'EMAIL'.padEnd(width)}  CREATED`);
  for (const { email, created } of superusers) {
    console.log(`${email.padEnd(width)}  ${created.toISOString().replace(/\.\d+Z$/, 'Z')}`);
  }
}

/** `superuser delete EMAIL`: its tokens stop working with it, since each names a superuser that must exist. */
export async function deleteCommand(email: string, options: { db: string }): Promise<void> {
  const deleted = await withDatabase(options.db, (jobs) => deleteSuperuser(jobs.store, email));
  if (!deleted) throw new UsageError(`No superuser has the email ${normalizeEmail(email)}.`);
  console.log(`Superuser ${normalizeEmail(email)} deleted.`);
}
