import { rawQuery } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { insertJobs, jobParams, useStore } from './fixture.js';

/** Edges of the job queries the main conformance files leave out, on each dialect. */
describe.each(dialects())('store: job query edges on %s', (dialect) => {
  const fx = useStore(dialect);

  /**
   * A database a later release has written to (opened again after a rollback: the store only
   * checks that its own migrations are recorded) may count jobs in a status this release does
   * not know. The counts answer with this release's statuses only, as the API's schema expects.
   */
  it('jobCountByStatus leaves out a status it does not know', async () => {
    await insertJobs(fx.store, 2);
    await rawQuery(fx.store, 'insert into job_counts (topic, status, n) values (?, ?, ?)', ['default', 'from-v9', 5]);
    try {
      expect(await fx.store.jobCountByStatus()).toEqual({ pending: 2, processing: 0, completed: 0, failed: 0, cancelled: 0 });
    } finally {
      await rawQuery(fx.store, 'delete from job_counts where status = ?', ['from-v9']);
    }
  });

  /** As when the jobs are deleted between the count and the page: the count is ahead of the table. */
  it('a page the count promises but the table no longer holds is empty, with the total counted', async () => {
    await rawQuery(fx.store, 'insert into job_counts (topic, status, n) values (?, ?, ?)', ['gone', 'completed', 100]);
    try {
      expect(await fx.store.jobList({ limit: 10, offset: 0 })).toEqual({ items: [], total: 100 });
      expect(await fx.store.jobList({ limit: 10, offset: 0, payloadBudget: 1 })).toEqual({ items: [], total: 100 });
    } finally {
      await rawQuery(fx.store, 'delete from job_counts where topic = ?', ['gone']);
    }
  });

  it('a page without payloads is not held to a payload budget', async () => {
    const [job] = await insertJobs(fx.store, 1, () => ({ payload: 'x'.repeat(1_000) }));
    const page = await fx.store.jobList({ limit: 10, offset: 0, payloads: false, payloadBudget: 10 });
    expect(page.overBudget).toBeUndefined();
    expect(page.items.map((j) => [j.id, j.payload])).toEqual([[job!.id, undefined]]);
    expect(await fx.store.jobList({ limit: 10, offset: 0, payloadBudget: 10 })).toEqual({ items: [], total: 1, overBudget: true });
  });

  it('jobInsertMany of exactly two full chunks (1,000 jobs) stores them all', async () => {
    const params = Array.from({ length: 1_000 }, (_, i) => jobParams({ payload: i }));
    const records = await fx.store.jobInsertMany(params);
    expect(records.map((r) => r.id)).toEqual(params.map((p) => p.id));
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 1_000 });
  });
});
