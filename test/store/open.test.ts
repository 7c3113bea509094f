import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, parseDatabaseUrl, rawQuery } from '@jobbase/server/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobParams } from './fixture.js';

describe('parseDatabaseUrl', () => {
  it('picks the dialect from the URL', () => {
    expect(parseDatabaseUrl('postgres://u@h:5432/db')).toEqual({ dialect: 'postgres', url: 'postgres://u@h:5432/db' });
    expect(parseDatabaseUrl('PostgreSQL://u@h/db')).toEqual({ dialect: 'postgres', url: 'PostgreSQL://u@h/db' });
    expect(parseDatabaseUrl('sqlite:./jb_data/data.db')).toEqual({ dialect: 'sqlite', filename: './jb_data/data.db' });
    expect(parseDatabaseUrl('sqlite:///abs/data.db')).toEqual({ dialect: 'sqlite', filename: '/abs/data.db' });
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ dialect: 'sqlite', filename: ':memory:' });
    expect(parseDatabaseUrl('./plain/path.db')).toEqual({ dialect: 'sqlite', filename: './plain/path.db' });
    // Not a PostgreSQL URL just because the word appears in it, nor a sqlite: URL for `sqlite:` inside a path.
    expect(parseDatabaseUrl('./postgres://x.db')).toEqual({ dialect: 'sqlite', filename: './postgres://x.db' });
    expect(parseDatabaseUrl('data/sqlite:x.db')).toEqual({ dialect: 'sqlite', filename: 'data/sqlite:x.db' });
    // The whole rest of the URL is the path, whatever it holds.
    expect(parseDatabaseUrl('sqlite:./odd\nname.db')).toEqual({ dialect: 'sqlite', filename: './odd\nname.db' });
  });

  it('refuses what names no database it can open', () => {
    for (const bad of ['', 'sqlite:', 'mysql://u@h/db', 'sqlite:http://x/db']) {
      expect(() => parseDatabaseUrl(bad), bad).toThrow(expect.objectContaining({ code: 'validation', message: expect.stringContaining('Unsupported database') }));
    }
  });
});

describe('openStore on a PostgreSQL URL', () => {
  it('opens the PostgreSQL store, whose connection is refused when nothing listens there', async () => {
    // Port 1 of the loopback: refused at once, whether or not a PostgreSQL runs on this machine.
    await expect(openStore('postgres://postgres@127.0.0.1:1/nowhere')).rejects.toMatchObject({
      code: 'ECONNREFUSED',
      message: expect.stringContaining('127.0.0.1:1'),
    });
  });
});

/** SQLite only: how the store opens a file and waits for other processes' write locks. */
describe('the SQLite store opening and sharing a file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jobbase-store-open-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('refuses bad synchronous and busyTimeout options before opening anything', async () => {
    const url = `sqlite:${join(dir, 'data.db')}`;
    const refused: Array<[object, string]> = [
      [{ synchronous: 'OFF' }, 'Option synchronous must be NORMAL or FULL, got OFF.'],
      [{ busyTimeout: -1 }, 'Option busyTimeout must be an integer ≥ 0, got -1.'],
      [{ busyTimeout: 1.5 }, 'Option busyTimeout must be an integer ≥ 0, got 1.5.'],
    ];
    for (const [options, message] of refused) {
      await expect(openStore(url, options as never), JSON.stringify(options)).rejects.toMatchObject({ code: 'validation', message });
    }
    const store = await openStore(url, { busyTimeout: 0, synchronous: 'FULL' });
    expect(await rawQuery(store, 'pragma synchronous')).toEqual([{ synchronous: 2 }]);
    expect(await rawQuery(store, 'pragma journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    await store.close();
  });

  it('a new file in new folders is its owner’s alone: folders 0700, the file and its -wal and -shm 0600', async () => {
    const file = join(dir, 'made', 'below', 'data.db');
    const store = await openStore(`sqlite:${file}`);
    await store.jobInsert(jobParams({ topic: 'private' }));
    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
    try {
      expect([join(dir, 'made'), join(dir, 'made', 'below')].map(mode)).toEqual(['700', '700']);
      expect([file, `${file}-wal`, `${file}-shm`].map(mode)).toEqual(['600', '600', '600']);
      expect(mode(dir)).toBe('700'); // mkdtemp's own, above what the store made: untouched either way
    } finally {
      await store.close();
    }
  });

  it('close() closes the connection: the store answers no more queries', async () => {
    const store = await openStore(`sqlite:${join(dir, 'data.db')}`);
    await store.jobInsert(jobParams({ topic: 'before' }));
    await store.close();
    await expect(store.jobList({ limit: 10, offset: 0 })).rejects.toThrow();
  });

  it('sqlite::memory: is one database for the migrator and the queries', async () => {
    const store = await openStore('sqlite::memory:');
    await store.jobInsert(jobParams({ topic: 'memory' }));
    expect((await store.jobList({ limit: 10, offset: 0 })).total).toBe(1);
    await store.close();
  });

  it("waits for another process's write lock without blocking the event loop, then answers 'unavailable' past the busy timeout", async () => {
    const url = `sqlite:${join(dir, 'data.db')}`;
    const holder = await openStore(url);
    const waiter = await openStore(url, { busyTimeout: 400 });
    await rawQuery(holder, 'begin immediate');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = Date.now();
    await expect(waiter.jobInsert(jobParams({ topic: 'late' }))).rejects.toMatchObject({
      code: 'unavailable',
      message: 'The database is unavailable: database is locked',
      fields: {},
      cause: expect.objectContaining({ code: 'SQLITE_BUSY' }),
    });
    clearInterval(timer);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    // The timers kept running while it waited: the wait is not one blocking busy handler.
    expect(ticks).toBeGreaterThan(5);

    // Released before the timeout, the same write goes through.
    const patient = await openStore(url, { busyTimeout: 30_000 });
    const insert = patient.jobInsert(jobParams({ topic: 'patient' }));
    setTimeout(() => void rawQuery(holder, 'commit'), 200);
    expect(await insert).toMatchObject({ topic: 'patient', status: 'pending' });
    await Promise.all([holder.close(), waiter.close(), patient.close()]);
  });
});
