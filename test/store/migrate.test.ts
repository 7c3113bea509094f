import { openStore, rawQuery, type Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, dialects, unusedTestDatabase } from '../helpers/databases.js';
import { insertJobs, jobCount, useStore } from './fixture.js';

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
