/**
 * The store conformance suite's fixture (River's driver test shape): every file calls the store
 * methods directly, on each dialect, and looks underneath with `rawQuery` where the methods
 * alone cannot tell. One database per file (creating and dropping a PostgreSQL database costs
 * most of a second), emptied before each test, so each test still starts from nothing.
 * A new dialect, or a new column, is done when this suite passes on it.
 */
import { openStore, rawQuery, type JobInsertParams, type StatusCounts, type Store } from '@jobbase/server/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { createTestDatabase, type Dialect, type TestDatabase } from '../helpers/databases.js';

export type JobStatus = keyof StatusCounts;

export class StoreFixture {
  db!: TestDatabase;
  /** The store each test uses, opened (and migrated) once per file. */
  store!: Store;
  private readonly others: Store[] = [];

  constructor(readonly dialect: Dialect) {}

  async setup(): Promise<void> {
    this.db = await createTestDatabase(this.dialect);
    this.store = await openStore(this.db.url);
  }

  /**
   * Empties the tables. job_counts is left to the store's own triggers: deleting the jobs
   * brings every kept count back to zero, as it must.
   */
  async reset(): Promise<void> {
    for (const table of ['schedules', 'jobs', 'superusers', 'settings']) await rawQuery(this.store, `delete from ${table}`);
  }

  /** Another store on this test's database, as a second process would open it; closed after the test. */
  async openAnother(): Promise<Store> {
    const store = await openStore(this.db.url);
    this.others.push(store);
    return store;
  }

  async closeOthers(): Promise<void> {
    await Promise.all(this.others.splice(0).map((s) => s.close()));
  }

  async teardown(): Promise<void> {
    await this.closeOthers();
    await this.store?.close();
    await this.db?.drop();
  }
}

/** Registers the hooks: a database and store for the file, emptied before each test. */
export function useStore(dialect: Dialect): StoreFixture {
  const fx = new StoreFixture(dialect);
  beforeAll(() => fx.setup());
  beforeEach(() => fx.reset());
  afterEach(() => fx.closeOthers());
  afterAll(() => fx.teardown());
  return fx;
}

/** Insert params for one job: a new uuid v7, due now, unless overridden. */
export function jobParams(overrides: Partial<JobInsertParams> & { payload?: unknown } = {}): JobInsertParams {
  const { payload = { n: 1 }, ...rest } = overrides;
  return {
    id: uuidv7(),
    topic: 'default',
    payloadJson: JSON.stringify(payload),
    runAt: new Date(),
    maxRetries: 3,
    priority: 0,
    ...rest,
  };
}

/** `n` jobs inserted together; `each` varies them by index. */
export function insertJobs(
  store: Store,
  n: number,
  each: (i: number) => Partial<JobInsertParams> & { payload?: unknown } = () => ({}),
) {
  return store.jobInsertMany(Array.from({ length: n }, (_, i) => jobParams(each(i))));
}

/** A uuid no job has. */
export const unknownId = (): string => uuidv7();

export const minutesAgo = (m: number): Date => new Date(Date.now() - m * 60_000);
export const minutesFromNow = (m: number): Date => new Date(Date.now() + m * 60_000);

/** A time as a statement parameter: ISO text, which SQLite stores as is and PostgreSQL casts. */
export const sqlTime = (date: Date): string => date.toISOString();

/** A time read by `rawQuery`: ISO text on SQLite, a Date on PostgreSQL. */
export const readTime = (value: unknown): Date | null => (value === null ? null : new Date(value as string | Date));

/** A job's row as stored, lock columns included, normalized across dialects. */
export async function jobRow(store: Store, id: string) {
  const columns = 'id, topic, status, run_at, retries, max_retries, last_error, lock_token, locked_until, created, updated';
  const rows = await rawQuery(store, `select ${columns} from jobs where id = ?`, [id]);
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id as string,
    topic: r.topic as string,
    status: r.status as JobStatus,
    runAt: readTime(r.run_at),
    retries: Number(r.retries),
    maxRetries: Number(r.max_retries),
    lastError: r.last_error as string | null,
    lockToken: r.lock_token as string | null,
    lockedUntil: readTime(r.locked_until),
    created: readTime(r.created),
    updated: readTime(r.updated),
  };
}

/** Moves a processing job's lock expiry, e.g. into the past as if its worker had died. */
export async function setLockedUntil(store: Store, id: string, at: Date): Promise<void> {
  await rawQuery(store, 'update jobs set locked_until = ? where id = ?', [sqlTime(at), id]);
}

/** Rewrites a job's timestamps (updates that do not touch topic or status leave the counts alone). */
export async function setTimes(store: Store, id: string, times: { created?: Date; updated?: Date }): Promise<void> {
  if (times.created) await rawQuery(store, 'update jobs set created = ? where id = ?', [sqlTime(times.created), id]);
  if (times.updated) await rawQuery(store, 'update jobs set updated = ? where id = ?', [sqlTime(times.updated), id]);
}

export async function jobCount(store: Store): Promise<number> {
  const rows = await rawQuery(store, 'select count(*) as n from jobs');
  return Number(rows[0]!.n);
}

/** What the kept counts should say: `count(*)` of the table itself, by status. */
export async function countedByStatus(store: Store): Promise<StatusCounts> {
  const counts: StatusCounts = { pending: 0, processing: 0, completed: 0, failed: 0 };
  const rows = await rawQuery(store, 'select status, count(*) as n from jobs group by status');
  for (const row of rows) counts[row.status as JobStatus] = Number(row.n);
  return counts;
}

/** Claims every due job of `topic` (one claim; up to 10,000). */
export function claimAll(store: Store, topic = 'default', lockDuration = 60_000) {
  return store.jobClaim({ topics: [topic], limit: 10_000, lockDuration });
}

/** Orders ids as the list does within one `created` instant (uuid text order is byte order). */
export const byIdDesc = (a: string, b: string): number => (a < b ? 1 : a > b ? -1 : 0);
