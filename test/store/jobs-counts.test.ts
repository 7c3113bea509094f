import { rawQuery, type Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import {
  claimAll,
  countedByStatus,
  insertJobs,
  jobParams,
  minutesAgo,
  minutesFromNow,
  setLockedUntil,
  setTimes,
  useStore,
  type JobStatus,
} from './fixture.js';

const TOPICS = ['a', 'b', 'c'];
const STATUSES: JobStatus[] = ['pending', 'processing', 'completed', 'failed'];

/** The PostgreSQL store's fold of job_counts' delta rows; not part of the Store interface. */
const compactable = (store: Store) => store as unknown as { compactCounts(): Promise<void> };

describe.each(dialects())('store: kept counts on %s', (dialect) => {
  const fx = useStore(dialect);

  /** jobCountByStatus and every list total equal what `count(*)` finds in the table. */
  async function expectCountsMatchTable(store: Store = fx.store): Promise<void> {
    expect(await store.jobCountByStatus()).toEqual(await countedByStatus(store));
    const rows = await rawQuery(store, 'select topic, status, count(*) as n from jobs group by topic, status');
    const counted = (topic?: string, status?: string) =>
      rows
        .filter((r) => (topic === undefined || r.topic === topic) && (status === undefined || r.status === status))
        .reduce((n, r) => n + Number(r.n), 0);
    for (const topic of [undefined, ...TOPICS]) {
      for (const status of [undefined, ...STATUSES]) {
        const { total } = await store.jobList({ topic, status, limit: 1, offset: 0 });
        expect(total, `topic ${topic} status ${status}`).toBe(counted(topic, status));
      }
    }
  }

  it('equal count(*) after every kind of change, step by step', async () => {
    await expectCountsMatchTable();
    // Inserts, one by one and in a batch; a batch that fails counts nothing.
    const single = await fx.store.jobInsert(jobParams({ topic: 'a' }));
    await insertJobs(fx.store, 30, (i) => ({ topic: TOPICS[i % 3]!, runAt: minutesAgo(30 - i), maxRetries: i % 2 }));
    await expect(fx.store.jobInsertMany([jobParams({ topic: 'c' }), jobParams({ id: single.id })])).rejects.toThrow();
    await insertJobs(fx.store, 3, () => ({ topic: 'c', runAt: minutesFromNow(60) }));
    await expectCountsMatchTable();

    // Claims across topics, then each way of finishing, some with stale tokens.
    const held = await fx.store.jobClaim({ topics: TOPICS, limit: 24, lockDuration: 60_000 });
    expect(held).toHaveLength(24);
    await expectCountsMatchTable();
    const staleItem = { id: held[6]!.id, lockToken: held[0]!.lockToken };
    const completed = await fx.store.jobCompleteMany([...held.slice(0, 6), staleItem]);
    expect(completed).toHaveLength(6);
    for (const job of held.slice(6, 10)) await fx.store.jobRetry({ ...job, runAt: minutesAgo(1), error: 'again' });
    for (const job of held.slice(10, 14)) await fx.store.jobFail({ ...job, error: 'failed' });
    for (const job of held.slice(14, 17)) await fx.store.jobRelease(job);
    expect(await fx.store.jobFail({ ...held[0]!, error: 'stale' })).toBe(false);
    await expectCountsMatchTable();

    // Rescues: locks run out, the engine decides, the store applies (one stale).
    for (const job of held.slice(17, 22)) await setLockedUntil(fx.store, job.id, minutesAgo(1));
    const expired = await fx.store.jobGetExpired({ before: new Date(), limit: 100 });
    expect(expired).toHaveLength(5);
    const rescued = await fx.store.jobRescueMany([
      ...expired.map((job, i) =>
        i % 2
          ? { ...job, error: 'lost', status: 'failed' as const }
          : { ...job, error: 'lost', status: 'pending' as const, runAt: minutesAgo(1) },
      ),
      { ...held[0]!, error: 'stale', status: 'failed' as const },
    ]);
    expect(rescued).toHaveLength(5);
    await expectCountsMatchTable();

    // Requeues and deletes, the refused ones too.
    const failed = (await fx.store.jobList({ status: 'failed', limit: 100, offset: 0 })).items;
    expect(failed.length).toBeGreaterThanOrEqual(4);
    for (const job of failed.slice(0, 2)) expect(await fx.store.jobRequeue(job.id)).not.toBe('conflict');
    expect(await fx.store.jobRequeue(held[0]!.id)).toBe('conflict');
    expect(await fx.store.jobDelete(failed[2]!.id)).toBe('deleted');
    expect(await fx.store.jobDelete(single.id)).not.toBe('not_found');
    expect(await fx.store.jobDelete(held[0]!.id)).toBe('conflict');
    await expectCountsMatchTable();

    // Retention.
    for (const job of held.slice(0, 6)) {
      await setTimes(fx.store, job.id, { created: minutesAgo(120), updated: minutesAgo(100) });
    }
    expect(await fx.store.jobDeleteFinished({ status: 'completed', before: minutesAgo(90), limit: 4 })).toBe(4);
    const soon = new Date(Date.now() + 1_000);
    expect(await fx.store.jobDeleteFinished({ status: 'failed', before: soon, limit: 100 })).toBeGreaterThan(0);
    await expectCountsMatchTable();

    // Everything that is left claimed and completed.
    const rest = await fx.store.jobClaim({ topics: TOPICS, limit: 100, lockDuration: 60_000 });
    await fx.store.jobCompleteMany(rest);
    await expectCountsMatchTable();
    expect((await fx.store.jobCountByStatus()).completed).toBeGreaterThan(0);
  });

  it('equal count(*) with two stores claiming and finishing at once', async () => {
    const other = await fx.openAnother();
    await insertJobs(fx.store, 300, (i) => ({ topic: TOPICS[i % 3]! }));
    const work = async (store: Store, round: number) => {
      for (let i = 0; i < 4; i++) {
        const held = await store.jobClaim({ topics: TOPICS, limit: 20, lockDuration: 60_000 });
        await store.jobCompleteMany(held.slice(0, 10));
        await Promise.all(held.slice(10, 15).map((j) => store.jobRetry({ ...j, runAt: minutesAgo(1), error: `r${round}` })));
        await Promise.all(held.slice(15).map((j) => store.jobFail({ ...j, error: 'f' })));
        await store.jobInsertMany(Array.from({ length: 5 }, () => jobParams({ topic: TOPICS[round % 3]! })));
      }
    };
    await Promise.all([work(fx.store, 0), work(other, 1), work(fx.store, 2), work(other, 3)]);
    await expectCountsMatchTable();
    await expectCountsMatchTable(other);
  });

  it('an emptied table counts zero everywhere', async () => {
    await insertJobs(fx.store, 10, (i) => ({ topic: TOPICS[i % 3]! }));
    await claimAll(fx.store, 'a');
    await rawQuery(fx.store, 'delete from jobs');
    expect(await fx.store.jobCountByStatus()).toEqual({ pending: 0, processing: 0, completed: 0, failed: 0, cancelled: 0 });
    expect((await fx.store.jobList({ limit: 10, offset: 0 })).total).toBe(0);
  });

  describe.runIf(dialect === 'postgres')('compaction (PostgreSQL keeps deltas and folds them)', () => {
    it('equal count(*) after compactCounts, with one row left per topic and status', async () => {
      await insertJobs(fx.store, 40, (i) => ({ topic: TOPICS[i % 3]! }));
      for (let i = 0; i < 3; i++) {
        const held = await fx.store.jobClaim({ topics: TOPICS, limit: 7, lockDuration: 60_000 });
        await fx.store.jobCompleteMany(held.slice(0, 4));
        await fx.store.jobFail({ ...held[4]!, error: 'x' });
      }
      await compactable(fx.store).compactCounts();
      await expectCountsMatchTable();
      const rows = await rawQuery(
        fx.store,
        'select topic, status, count(*) as n, sum(n) as total from job_counts group by topic, status',
      );
      for (const row of rows) expect(Number(row.n), `${row.topic}/${row.status}`).toBe(1);
      expect(rows.every((r) => Number(r.total) !== 0)).toBe(true);

      // Changes after a compaction add deltas again, and a second compaction folds them too.
      await fx.store.jobCompleteMany(await fx.store.jobClaim({ topics: TOPICS, limit: 5, lockDuration: 60_000 }));
      await expectCountsMatchTable();
      await compactable(fx.store).compactCounts();
      await expectCountsMatchTable();
    });
  });
});
