import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, rawQuery, type Store } from '@jobbase/server/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobParams } from './fixture.js';

/**
 * SQLite only: what the store does with its one connection — how it binds values, which driver
 * errors become `unavailable` and which it waits out, and what it answers without the write lock.
 */
describe('the SQLite store’s connection', () => {
  let dir: string;
  const opened: Store[] = [];
  const open = async (name: string, options: { busyTimeout?: number } = {}) => {
    const store = await openStore(`sqlite:${join(dir, name)}`, options);
    opened.push(store);
    return store;
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jobbase-store-connection-'));
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('binds whole numbers as INTEGER and other values as they are', async () => {
    const store = await open('data.db');
    const [row] = await rawQuery(store, "select typeof(?) as whole, typeof(?) as negative, typeof(?) as fraction, typeof(?) as text, 'n' || ? as joined", [
      3,
      -7,
      1.5,
      '3',
      42,
    ]);
    // Bound as REAL, 42 would read back as 'n42.0'.
    expect(row).toEqual({ whole: 'integer', negative: 'integer', fraction: 'real', text: 'text', joined: 'n42' });
  });

  it('a database that refuses writes answers unavailable at once, with SQLite’s reason; reads still go through', async () => {
    // The busy timeout is long: only SQLITE_BUSY is waited out, a refusal of another kind is final.
    const store = await open('data.db', { busyTimeout: 20_000 });
    const kept = await store.jobInsert(jobParams({ topic: 'kept' }));
    // As on a read-only mount: every write refused with SQLITE_READONLY.
    await rawQuery(store, 'pragma query_only = on');
    const started = Date.now();
    await expect(store.jobInsert(jobParams())).rejects.toMatchObject({
      code: 'unavailable',
      message: 'The database is unavailable: attempt to write a readonly database',
      cause: expect.objectContaining({ code: 'SQLITE_READONLY' }),
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await store.jobGet(kept.id)).toEqual(kept);
    await rawQuery(store, 'pragma query_only = off');
    await expect(store.jobInsert(jobParams({ topic: 'after' }))).resolves.toMatchObject({ topic: 'after' });
  });

  it('a full disk answers unavailable at once, and the store goes on once there is room', async () => {
    const store = await open('data.db', { busyTimeout: 20_000 });
    const [pages] = await rawQuery<{ page_count: number }>(store, 'pragma page_count');
    // As on a full disk: the file may not grow past the pages it has.
    await rawQuery(store, `pragma max_page_count = ${Number(pages!.page_count)}`);
    const started = Date.now();
    await expect(store.jobInsert(jobParams({ payload: 'x'.repeat(100_000) }))).rejects.toMatchObject({
      code: 'unavailable',
      message: 'The database is unavailable: database or disk is full',
      cause: expect.objectContaining({ code: 'SQLITE_FULL' }),
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    await rawQuery(store, 'pragma max_page_count = 1073741823');
    await expect(store.jobInsert(jobParams({ payload: 'x'.repeat(100_000) }))).resolves.toMatchObject({ status: 'pending' });
  });

  it('a file that is not a database is refused at once with SQLite’s error, not retried for the busy timeout', async () => {
    const file = join(dir, 'notes.db');
    writeFileSync(file, 'Not a database, only some text that happens to end in .db\n'.repeat(100));
    const started = Date.now();
    await expect(openStore(`sqlite:${file}`, { busyTimeout: 20_000 })).rejects.toMatchObject({
      code: 'SQLITE_NOTADB',
      message: 'file is not a database',
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a closed store answers unavailable', async () => {
    const store = await openStore(`sqlite:${join(dir, 'data.db')}`);
    await store.jobInsert(jobParams());
    await store.close();
    await expect(store.jobGet(jobParams().id)).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/^The database is unavailable: /),
    });
  });

  it('a new file closes cleanly straight after opening, before any query', async () => {
    const store = await openStore(`sqlite:${join(dir, 'new.db')}`);
    expect(store.opening.databaseCreated).toBe(true);
    await expect(store.close()).resolves.toBeUndefined();
  });

  it('sqlite::memory: creates no file: none named after it, and the opening says no database was created', async () => {
    // A file of that name in the working directory could only be the leftover of a store that
    // took `:memory:` for a path.
    const stray = join(process.cwd(), ':memory:');
    rmSync(stray, { force: true });
    try {
      const store = await openStore('sqlite::memory:');
      opened.push(store);
      expect(store.opening.databaseCreated).toBe(false);
      expect(store.opening.migrationsApplied.length).toBeGreaterThan(0);
      expect(existsSync(stray)).toBe(false);
    } finally {
      rmSync(stray, { force: true });
    }
  });

  it('a statement that returns no rows answers no rows', async () => {
    const store = await open('data.db');
    await store.jobInsert(jobParams());
    expect(await rawQuery(store, 'update jobs set topic = ?', ['renamed'])).toEqual([]);
    expect(await rawQuery(store, 'select topic from jobs')).toEqual([{ topic: 'renamed' }]);
  });

  it('a file name the file system refuses is refused with the system’s error', async () => {
    await expect(openStore(`sqlite:${join(dir, `${'x'.repeat(300)}.db`)}`)).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
  });

  it('what needs no write is answered while another connection holds the write lock: empty batches, no topics, a limit of 0', async () => {
    const holder = await open('data.db');
    const waiter = await open('data.db', { busyTimeout: 500 });
    await rawQuery(holder, 'begin immediate');
    try {
      expect(await waiter.jobInsertMany([])).toEqual([]);
      expect(await waiter.jobClaim({ topics: [], limit: 10, lockDuration: 60_000 })).toEqual([]);
      expect(await waiter.jobClaim({ topics: ['default'], limit: 0, lockDuration: 60_000 })).toEqual([]);
      expect(await waiter.jobCompleteMany([])).toEqual([]);
      // A claim that could take a job does need the lock: it waits, then gives up.
      await expect(waiter.jobClaim({ topics: ['default'], limit: 1, lockDuration: 60_000 })).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await rawQuery(holder, 'commit');
    }
  });

  /**
   * A file in rollback-journal mode (another tool's, or switched back) that another connection
   * is reading: switching it to WAL needs it to itself, so the new connection waits for the
   * reader, up to the busy timeout.
   */
  it('switching a file to WAL waits for a reader to finish, then opens; past the busy timeout it fails SQLITE_BUSY', async () => {
    const url = `sqlite:${join(dir, 'data.db')}`;
    const reader = await openStore(url);
    opened.push(reader);
    await rawQuery(reader, 'pragma journal_mode = delete');
    const readLock = async () => {
      await rawQuery(reader, 'begin');
      await rawQuery(reader, 'select count(*) from jobs');
    };

    await readLock();
    const started = Date.now();
    await expect(openStore(url, { busyTimeout: 300 })).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    const opening = openStore(url, { busyTimeout: 10_000 });
    // The reader finishes once the opening has had to wait (a few of its 20 ms blocking waits).
    setTimeout(() => void rawQuery(reader, 'commit'), 200);
    const store = await opening;
    opened.push(store);
    expect(await rawQuery(store, 'pragma journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    await expect(store.jobInsert(jobParams({ topic: 'after-switch' }))).resolves.toMatchObject({ topic: 'after-switch' });
  });

  /**
   * A migration that fails on every attempt (here a table of another application in the way) is
   * tried again for at least MIN_MIGRATE_WAIT (5 s), whatever the busy timeout — racing first
   * starts need that long — and then fails with its error.
   */
  it('a migration that keeps failing is retried for 5 s, then opening fails with its error', async () => {
    const url = `sqlite:${join(dir, 'data.db')}`;
    const first = await openStore(url);
    for (const table of ['job_counts', 'jobs', 'jb_migrations']) await rawQuery(first, `drop table ${table}`);
    await rawQuery(first, 'create table jobs (x)');
    await first.close();
    const started = Date.now();
    await expect(openStore(url, { busyTimeout: 0 })).rejects.toMatchObject({
      message: expect.stringContaining('table jobs already exists'),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(5_000);
  });
});
