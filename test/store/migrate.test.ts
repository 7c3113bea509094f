import { openStore, rawQuery, type Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, dialects, unusedTestDatabase } from '../helpers/databases.js';
import { insertJobs, jobCount, useStore } from './fixture.js';

/**
 * Takes a database back to before the job counts' migration, as a release before it left it:
 * the migration's objects dropped and its record deleted. Returns the migration's name.
 */
async function undoJobCounts(store: Store): Promise<string> {
  const sql = (text: string) => rawQuery(store, text);
  if (store.dialect === 'postgres') {
    for (const t of ['insert', 'update', 'delete', 'truncate']) await sql(`drop trigger jobs_count_${t} on jobs`);
    await sql('drop function jobbase_count_changes()');
    await sql('drop function jobbase_compact_counts()');
    await sql('drop table job_counts');
    await sql(`delete from jb_migrations where name = '0004_job_counts'`);
    return '0004_job_counts';
  }
  for (const t of ['insert', 'update', 'delete']) await sql(`drop trigger jobs_count_${t}`);
  await sql('drop table job_counts');
  await sql(`delete from jb_migrations where name = '0002_job_counts'`);
  return '0002_job_counts';
}

async function migrationNames(store: Store): Promise<string[]> {
  const rows = await rawQuery(store, 'select name from jb_migrations order by name');
  return rows.map((r) => r.name as string);
}

describe.each(dialects())('store: migrate on %s', (dialect) => {
  const fx = useStore(dialect);

  it('a new database opens with every table the store uses, empty', async () => {
    expect(await fx.store.jobCountByStatus()).toEqual({ pending: 0, processing: 0, completed: 0, failed: 0 });
    expect(await fx.store.jobList({ limit: 10, offset: 0 })).toEqual({ items: [], total: 0 });
    expect(await fx.store.superuserCount()).toBe(0);
    expect(await fx.store.settingGet('any')).toBeNull();
    expect((await migrationNames(fx.store)).length).toBeGreaterThan(0);
  });

  it('migrate again is a no-op: the same migrations recorded, the data kept', async () => {
    const before = await migrationNames(fx.store);
    const jobs = await insertJobs(fx.store, 3);
    await fx.store.settingInsertIfAbsent('k', 'v');
    await fx.store.migrate();
    await fx.store.migrate();
    expect(await migrationNames(fx.store)).toEqual(before);
    expect(await jobCount(fx.store)).toBe(3);
    expect(await fx.store.jobGet(jobs[0]!.id)).toEqual(jobs[0]);
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 3 });
    expect(await fx.store.settingGet('k')).toBe('v');
  });

  it('opening a database that does not exist creates it, and says so with the migrations it applied', async () => {
    const db = await unusedTestDatabase(dialect);
    try {
      const store = await openStore(db.url);
      let applied: string[];
      try {
        applied = store.opening.migrationsApplied;
        expect(store.opening.databaseCreated).toBe(true);
        expect(applied).toEqual(await migrationNames(store));
        expect(applied.length).toBeGreaterThan(0);
        expect(await store.migrate()).toEqual([]);
      } finally {
        await store.close();
      }
      const again = await openStore(db.url);
      try {
        expect(again.opening).toEqual({ databaseCreated: false, migrationsApplied: [] });
      } finally {
        await again.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('a database of an earlier release is upgraded in place: the missing migration applied, its counts backfilled', async () => {
    const db = await createTestDatabase(dialect);
    try {
      const old = await openStore(db.url);
      const all = await migrationNames(old);
      const missing = await undoJobCounts(old);
      // Jobs written by that release, without the counting triggers.
      const jobs = await insertJobs(old, 3);
      await old.close();

      const upgraded = await openStore(db.url);
      try {
        expect(upgraded.opening.migrationsApplied).toEqual([missing]);
        expect(await migrationNames(upgraded)).toEqual(all);
        expect(await upgraded.jobCountByStatus()).toMatchObject({ pending: 3 });
        expect(await upgraded.jobGet(jobs[0]!.id)).toEqual(jobs[0]);
        await insertJobs(upgraded, 1);
        expect(await upgraded.jobCountByStatus()).toMatchObject({ pending: 4 });
      } finally {
        await upgraded.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('two stores opening one new database at once both succeed', async () => {
    const db = await createTestDatabase(dialect);
    const opened = await Promise.allSettled([openStore(db.url), openStore(db.url)]);
    const stores = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    try {
      expect(opened.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok']);
      const [a, b] = stores as [Store, Store];
      expect(await migrationNames(a)).toEqual(await migrationNames(fx.store));
      const [job] = await insertJobs(a, 1);
      expect(await b.jobGet(job!.id)).toEqual(job);
      expect(await b.jobCountByStatus()).toMatchObject({ pending: 1 });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await db.drop();
    }
  });
});
