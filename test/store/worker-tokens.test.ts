import { openStore, rawQuery, type Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, dialects } from '../helpers/databases.js';
import { insertJobs, useStore } from './fixture.js';

/** Takes a database back to the release before worker tokens (issue 19): no table, no record of its migration. */
async function undoWorkerTokens(store: Store): Promise<string> {
  await rawQuery(store, 'drop table worker_tokens');
  const name = store.dialect === 'postgres' ? '0012_worker_tokens' : '0009_worker_tokens';
  await rawQuery(store, `delete from jb_migrations where name = '${name}'`);
  return name;
}

const record = (n: number, topics: string[] | null = ['a']) => ({
  id: `0194455b-5100-7c3a-9f2e-4b8d1a6e0c5${n}`,
  name: `w${n}`,
  role: 'worker' as const,
  topics,
  tokenHash: `hash-${n}`,
  created: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
});

describe.each(dialects())('store: worker tokens on %s', (dialect) => {
  const fx = useStore(dialect);

  it('inserts, finds by hash, lists oldest first and revokes by id or name', async () => {
    await rawQuery(fx.store, 'delete from worker_tokens');
    await fx.store.workerTokenInsert(record(2, null));
    await fx.store.workerTokenInsert(record(1, ['a', 'b']));
    expect(await fx.store.workerTokenByHash('hash-1')).toEqual(record(1, ['a', 'b']));
    expect(await fx.store.workerTokenByHash('hash-2')).toEqual(record(2, null));
    expect(await fx.store.workerTokenByHash('nope')).toBeNull();
    expect((await fx.store.workerTokenList()).map((t) => t.name)).toEqual(['w1', 'w2']);
    expect(await fx.store.workerTokenRevoke('w1')).toBe(1);
    expect(await fx.store.workerTokenRevoke(record(2).id)).toBe(1);
    expect(await fx.store.workerTokenRevoke('w1')).toBe(0);
    expect(await fx.store.workerTokenList()).toEqual([]);
    await expect(fx.store.workerTokenInsert({ ...record(3), tokenHash: 'same' }).then(() => fx.store.workerTokenInsert({ ...record(4), tokenHash: 'same' }))).rejects.toThrow();
    await rawQuery(fx.store, 'delete from worker_tokens');
  });

  it('revokes by id alone: a name equal to another token’s id takes nothing with it', async () => {
    await rawQuery(fx.store, 'delete from worker_tokens');
    await fx.store.workerTokenInsert(record(1));
    await fx.store.workerTokenInsert({ ...record(2), name: record(1).id });
    expect(await fx.store.workerTokenRevokeById('w1')).toBe(false);
    expect(await fx.store.workerTokenRevokeById(record(1).id)).toBe(true);
    expect((await fx.store.workerTokenList()).map((t) => t.id)).toEqual([record(2).id]);
    expect(await fx.store.workerTokenRevokeById(record(1).id)).toBe(false);
    await rawQuery(fx.store, 'delete from worker_tokens');
  });

  it('a database of the release before worker tokens is upgraded in place: its jobs keep, and tokens work', async () => {
    const db = await createTestDatabase(dialect);
    try {
      const old = await openStore(db.url);
      const names = async (s: Store) => (await rawQuery(s, 'select name from jb_migrations order by name')).map((r) => r.name as string);
      const all = await names(old);
      const missing = await undoWorkerTokens(old);
      const jobs = await insertJobs(old, 3, () => ({ topic: 'old', runAt: new Date(Date.now() - 1_000) }));
      await old.close();

      const upgraded = await openStore(db.url);
      try {
        expect(upgraded.opening.migrationsApplied).toEqual([missing]);
        expect(await names(upgraded)).toEqual(all);
        expect(await upgraded.workerTokenList()).toEqual([]);
        await upgraded.workerTokenInsert(record(1));
        expect(await upgraded.workerTokenByHash('hash-1')).toMatchObject({ name: 'w1', topics: ['a'] });
        const claimed = await upgraded.jobClaim({ topics: ['old'], limit: 10, lockDuration: 60_000 });
        expect(claimed.map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
      } finally {
        await upgraded.close();
      }
    } finally {
      await db.drop();
    }
  });
});
