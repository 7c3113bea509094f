import { writeFileSync } from 'node:fs';
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

  it('sqlite::memory: creates no file: the opening says no database was created', async () => {
    const store = await openStore('sqlite::memory:');
    opened.push(store);
    expect(store.opening.databaseCreated).toBe(false);
    expect(store.opening.migrationsApplied.length).toBeGreaterThan(0);
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
});
