import type { Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';
import { claimAll, insertJobs, jobParams, jobRow, minutesAgo, minutesFromNow, useStore } from './fixture.js';

describe.each(dialects())('store: jobClaim on %s', (dialect) => {
  const fx = useStore(dialect);

  it('claims the oldest run_at first, whatever the order of insertion', async () => {
    const ages = [5, 1, 4, 2, 3];
    const jobs = await insertJobs(fx.store, ages.length, (i) => ({ runAt: minutesAgo(ages[i]!) }));
    const byAge = (m: number) => jobs[ages.indexOf(m)]!.id;

    const first = await fx.store.jobClaim({ topics: ['default'], limit: 2, lockDuration: 60_000 });
    expect(first.map((j) => j.id)).toEqual([byAge(5), byAge(4)]);
    const rest = await claimAll(fx.store);
    expect(rest.map((j) => j.id)).toEqual([byAge(3), byAge(2), byAge(1)]);
  });

  it('claims jobs due at the same instant in id order (FIFO)', async () => {
    const runAt = minutesAgo(1);
    const made = Array.from({ length: 6 }, () => jobParams({ runAt }));
    const ids = made.map((p) => p.id).sort();
    // Inserted out of id order, one by one and as a batch.
    await fx.store.jobInsert(made[3]!);
    await fx.store.jobInsertMany([made[5]!, made[0]!, made[4]!]);
    await fx.store.jobInsert(made[1]!);
    await fx.store.jobInsert(made[2]!);

    const firstThree = await fx.store.jobClaim({ topics: ['default'], limit: 3, lockDuration: 60_000 });
    expect(firstThree.map((j) => j.id).sort()).toEqual(ids.slice(0, 3));
    const oneByOne: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [job] = await fx.store.jobClaim({ topics: ['default'], limit: 1, lockDuration: 60_000 });
      oneByOne.push(job!.id);
    }
    expect(oneByOne).toEqual(ids.slice(3));
  });

  it('answers the jobs it claimed in claim order: priority, then run_at, then id, whatever order the database wrote them in', async () => {
    const runAt = minutesAgo(1);
    const made = Array.from({ length: 4 }, () => jobParams({ runAt }));
    const ids = made.map((p) => p.id).sort();
    // Written in reverse id order, so a store answering in the order it wrote (or found) the rows is caught.
    for (const p of [...made].sort((a, b) => (a.id < b.id ? 1 : -1))) await fx.store.jobInsert(p);
    const urgent = jobParams({ runAt: minutesAgo(0.5), priority: -1 });
    await fx.store.jobInsert(urgent);
    const claimed = await fx.store.jobClaim({ topics: ['default'], limit: 5, lockDuration: 60_000 });
    expect(claimed.map((j) => j.id)).toEqual([urgent.id, ...ids]);
  });

  it('claims at most `limit` jobs', async () => {
    await insertJobs(fx.store, 10);
    expect(await fx.store.jobClaim({ topics: ['default'], limit: 3, lockDuration: 60_000 })).toHaveLength(3);
    expect(await fx.store.jobClaim({ topics: ['default'], limit: 1, lockDuration: 60_000 })).toHaveLength(1);
    expect(await fx.store.jobClaim({ topics: ['default'], limit: 100, lockDuration: 60_000 })).toHaveLength(6);
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 0, processing: 10 });
  });

  it('empty topics or limit 0 claim nothing and change nothing', async () => {
    await insertJobs(fx.store, 3);
    expect(await fx.store.jobClaim({ topics: [], limit: 10, lockDuration: 60_000 })).toEqual([]);
    expect(await fx.store.jobClaim({ topics: ['default'], limit: 0, lockDuration: 60_000 })).toEqual([]);
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 3, processing: 0 });
  });

  it('claims only due jobs, and a job as soon as it falls due', async () => {
    const [past] = await insertJobs(fx.store, 1, () => ({ runAt: minutesAgo(1) }));
    const [later] = await insertJobs(fx.store, 1, () => ({ runAt: minutesFromNow(60) }));
    const soon = await fx.store.jobInsert(jobParams({ runAt: new Date(Date.now() + 300) }));

    const claimed = await claimAll(fx.store);
    expect(claimed.map((j) => j.id)).toEqual([past!.id]);

    const lockDuration = 60_000;
    const [due] = await waitFor('the job to fall due', async () => {
      const jobs = await fx.store.jobClaim({ topics: ['default'], limit: 10, lockDuration });
      return jobs.length > 0 ? jobs : null;
    });
    expect(due!.id).toBe(soon.id);
    // Claimed at or after its run_at: the claim's own clock is lockedUntil - lockDuration.
    expect(due!.lockedUntil.getTime() - lockDuration).toBeGreaterThanOrEqual(soon.runAt.getTime());
    expect((await fx.store.jobGet(later!.id))!.status).toBe('pending');
  });

  it('claims only jobs of the topics asked for', async () => {
    await insertJobs(fx.store, 6, (i) => ({ topic: ['a', 'b', 'c'][i % 3]! }));
    const claimed = await fx.store.jobClaim({ topics: ['a', 'c', 'absent'], limit: 10, lockDuration: 60_000 });
    expect(claimed.map((j) => j.topic).sort()).toEqual(['a', 'a', 'c', 'c']);
    expect(await fx.store.jobList({ topic: 'b', status: 'pending', limit: 10, offset: 0 })).toMatchObject({ total: 2 });
  });

  it('a claimed job is processing, with its own lock token, locked until now + lockDuration', async () => {
    const jobs = await insertJobs(fx.store, 3, (i) => ({
      topic: 'send',
      payload: { i },
      maxRetries: i,
      runAt: minutesAgo(3 - i),
    }));
    const before = Date.now();
    const claimed = await fx.store.jobClaim({ topics: ['send'], limit: 10, lockDuration: 30_000 });
    const after = Date.now();

    expect(claimed).toHaveLength(3);
    expect(new Set(claimed.map((j) => j.lockToken)).size).toBe(3);
    claimed.forEach((job, i) => {
      const { status: _pending, updated: _inserted, ...unchanged } = jobs[i]!;
      expect(job).toMatchObject({ ...unchanged, status: 'processing' });
      expect(job.lockToken).toEqual(expect.any(String));
      expect(job.lockToken.length).toBeGreaterThanOrEqual(16);
      expect(job.lockedUntil.getTime()).toBeGreaterThanOrEqual(before + 30_000);
      expect(job.lockedUntil.getTime()).toBeLessThanOrEqual(after + 30_000);
      expect(job.updated.getTime()).toBeGreaterThanOrEqual(before);
      expect(job.updated.getTime()).toBeLessThanOrEqual(after);
    });
    for (const job of claimed) {
      const { lockToken, lockedUntil, ...record } = job;
      expect(await jobRow(fx.store, job.id)).toMatchObject({ status: 'processing', lockToken, lockedUntil });
      expect(await fx.store.jobGet(job.id)).toEqual(record);
    }
  });

  it('claims only pending jobs: not one already claimed, completed or failed', async () => {
    await insertJobs(fx.store, 3);
    const [a, b, c] = await claimAll(fx.store);
    expect(await claimAll(fx.store)).toEqual([]);
    await fx.store.jobCompleteMany([a!]);
    await fx.store.jobFail({ ...b!, error: 'no' });
    expect(await claimAll(fx.store)).toEqual([]);
    // Released, it is pending and claimable again, under a new token.
    await fx.store.jobRelease(c!);
    const [again] = await claimAll(fx.store);
    expect(again!.id).toBe(c!.id);
    expect(again!.lockToken).not.toBe(c!.lockToken);
  });

  it('concurrent claims from two stores never hand out a job twice', async () => {
    await insertJobs(fx.store, 200, (i) => ({ runAt: new Date(Date.now() - 1_000 + (i % 7)) }));
    const other = await fx.openAnother();
    const claim = (store: Store) => store.jobClaim({ topics: ['default'], limit: 25, lockDuration: 60_000 });
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => claim(i % 2 ? other : fx.store)));
    const ids = claims.flat().map((j) => j.id);
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 0, processing: 200 });
    // Each job holds the token its claimer was given.
    for (const job of claims.flat().slice(0, 20)) expect((await jobRow(fx.store, job.id))!.lockToken).toBe(job.lockToken);
  });
});
