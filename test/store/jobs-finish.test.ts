import type { ClaimedJob, JobFinishParams, Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { claimAll, insertJobs, jobRow, minutesAgo, minutesFromNow, unknownId, useStore } from './fixture.js';

const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);

/** Each finishing method as "did it take?", so the compare-and-set cases run on all four. */
const finishers: Record<string, (store: Store, job: JobFinishParams) => Promise<boolean>> = {
  jobCompleteMany: async (store, job) => {
    const done = await store.jobCompleteMany([job]);
    expect(done.filter((j) => j.id !== job.id)).toEqual([]);
    return done.length === 1;
  },
  jobRetry: (store, job) => store.jobRetry({ ...job, runAt: minutesFromNow(5), error: 'retry' }),
  jobFail: (store, job) => store.jobFail({ ...job, error: 'fail' }),
  jobRelease: (store, job) => store.jobRelease(job),
};

describe.each(dialects())('store: finishing a claimed job on %s', (dialect) => {
  const fx = useStore(dialect);

  /** Inserts and claims `n` jobs (oldest first, so in insertion order). */
  async function claimed(n = 1, maxRetries = 3): Promise<ClaimedJob[]> {
    await insertJobs(fx.store, n, (i) => ({ runAt: minutesAgo(10 - i / 1000), maxRetries }));
    const jobs = await claimAll(fx.store);
    expect(jobs).toHaveLength(n);
    return jobs;
  }

  it('jobCompleteMany completes the held jobs, clears their locks and returns them with their new status', async () => {
    const jobs = await claimed(3);
    const before = Date.now();
    const done = await fx.store.jobCompleteMany(jobs);
    expect(done.sort(byId)).toEqual(jobs.map((j) => ({ id: j.id, status: 'completed' })).sort(byId));
    for (const job of jobs) {
      const row = (await jobRow(fx.store, job.id))!;
      expect(row).toMatchObject({ status: 'completed', retries: 0, lastError: null, runAt: job.runAt });
      expect(row).toMatchObject({ lockToken: null, lockedUntil: null });
      expect(row.updated!.getTime()).toBeGreaterThanOrEqual(before);
    }
    expect(await fx.store.jobCompleteMany([])).toEqual([]);
  });

  it('jobCompleteMany in a batch mixing held and stale tokens completes only the held', async () => {
    const [held1, held2, wrongToken, finished, requeued, released] = await claimed(6);
    await fx.store.jobCompleteMany([finished!]);
    await fx.store.jobFail({ ...requeued!, error: 'x' });
    await fx.store.jobRequeue(requeued!.id);
    await fx.store.jobRelease(released!);
    const [reclaimed] = await claimAll(fx.store); // the requeued or released job, under a new token
    const neverClaimed = (await insertJobs(fx.store, 1, () => ({ runAt: minutesFromNow(60) })))[0]!;
    const stale = [
      { id: wrongToken!.id, lockToken: held1!.lockToken },
      finished!,
      requeued!,
      released!,
      { id: neverClaimed.id, lockToken: wrongToken!.lockToken },
      { id: unknownId(), lockToken: wrongToken!.lockToken },
    ];
    const untouched = await Promise.all(stale.map((s) => jobRow(fx.store, s.id)));

    const done = await fx.store.jobCompleteMany([stale[0]!, held1!, ...stale.slice(1, 4), held2!, ...stale.slice(4)]);

    expect(done.map((j) => j.id).sort()).toEqual([held1!.id, held2!.id].sort());
    expect(await Promise.all(stale.map((s) => jobRow(fx.store, s.id)))).toEqual(untouched);
    expect(reclaimed).toBeDefined();
    expect((await jobRow(fx.store, reclaimed!.id))!.status).toBe('processing');
  });

  // SQLite completes in statements of 500 pairs.
  it('jobCompleteMany of 1,200 held jobs completes them all', async () => {
    const jobs = await claimed(1_200);
    const done = await fx.store.jobCompleteMany(jobs);
    expect(new Set(done.map((j) => j.id)).size).toBe(1_200);
    expect(await fx.store.jobCountByStatus()).toMatchObject({ processing: 0, completed: 1_200 });
  });

  it('jobCompleteMany with `topics` completes nothing while any item is of another topic; a job marked for cancellation is returned `cancelled`', async () => {
    await insertJobs(fx.store, 2, (i) => ({ topic: 'img', runAt: minutesAgo(10 - i / 1000) }));
    await insertJobs(fx.store, 1, () => ({ topic: 'mail', runAt: minutesAgo(10) }));
    const [img1, img2] = await claimAll(fx.store, 'img');
    const [mail] = await claimAll(fx.store, 'mail');
    expect(await fx.store.jobCompleteMany([img1!, mail!], undefined, { topics: ['img'] })).toEqual([]);
    for (const job of [img1!, mail!]) expect((await jobRow(fx.store, job.id))!.status).toBe('processing');

    expect(await fx.store.jobCancel(img2!.id)).toMatchObject({ outcome: 'marked' });
    const done = await fx.store.jobCompleteMany([img1!, img2!], undefined, { topics: ['img', 'video'] });
    expect(done.sort(byId)).toEqual([{ id: img1!.id, status: 'completed' }, { id: img2!.id, status: 'cancelled' }].sort(byId));
    expect((await jobRow(fx.store, img2!.id))!.status).toBe('cancelled');
    // Without `topics`, any held job.
    expect(await fx.store.jobCompleteMany([mail!])).toEqual([{ id: mail!.id, status: 'completed' }]);
  });

  it('jobRetry puts the job back to pending with one more retry, its run_at and error, lock cleared', async () => {
    const [job] = await claimed();
    const runAt = new Date(Date.now() + 3_600_123);
    expect(await fx.store.jobRetry({ id: job!.id, lockToken: job!.lockToken, runAt, error: 'boom: try later' })).toBe(true);
    expect(await jobRow(fx.store, job!.id)).toMatchObject({
      status: 'pending',
      retries: 1,
      runAt,
      lastError: 'boom: try later',
      lockToken: null,
      lockedUntil: null,
    });
    expect(await claimAll(fx.store)).toEqual([]); // not due until runAt
  });

  it('jobRetry with a run_at already past makes the job claimable again, retries kept', async () => {
    const [job] = await claimed();
    await fx.store.jobRetry({ ...job!, runAt: minutesAgo(1), error: 'e1' });
    const [second] = await claimAll(fx.store);
    expect(second).toMatchObject({ id: job!.id, retries: 1, lastError: 'e1', status: 'processing' });
    await fx.store.jobRetry({ ...second!, runAt: minutesAgo(1), error: 'e2' });
    expect(await fx.store.jobGet(job!.id)).toMatchObject({ status: 'pending', retries: 2, lastError: 'e2' });
  });

  it('jobFail marks the job failed with its error, retries unchanged, lock cleared', async () => {
    const [job] = await claimed(1, 7);
    expect(await fx.store.jobFail({ id: job!.id, lockToken: job!.lockToken, error: 'gave up' })).toBe(true);
    expect(await jobRow(fx.store, job!.id)).toMatchObject({
      status: 'failed',
      retries: 0,
      maxRetries: 7,
      runAt: job!.runAt,
      lastError: 'gave up',
      lockToken: null,
      lockedUntil: null,
    });
    expect(await claimAll(fx.store)).toEqual([]);
  });

  it('jobRelease puts the job back to pending as it was: retries, run_at and last error unchanged', async () => {
    const [job] = await claimed();
    await fx.store.jobRetry({ ...job!, runAt: minutesAgo(1), error: 'earlier attempt' });
    const [held] = await claimAll(fx.store);
    expect(await fx.store.jobRelease({ id: held!.id, lockToken: held!.lockToken })).toBe(true);
    expect(await jobRow(fx.store, job!.id)).toMatchObject({
      status: 'pending',
      retries: 1,
      runAt: held!.runAt,
      lastError: 'earlier attempt',
      lockToken: null,
      lockedUntil: null,
    });
    expect((await claimAll(fx.store)).map((j) => j.id)).toEqual([job!.id]);
  });

  // The engine reports the job as stored without reading it back: it passes the time it reports.
  it('each finishing method writes the `now` it is given as the job\'s updated time', async () => {
    const [completed, retried, failed, released] = await claimed(4);
    const now = new Date('2026-11-29T12:34:56.789Z');
    await fx.store.jobCompleteMany([completed!], now);
    await fx.store.jobRetry({ ...retried!, runAt: minutesFromNow(5), error: 'retry', now });
    await fx.store.jobFail({ ...failed!, error: 'fail', now });
    await fx.store.jobRelease({ ...released!, now });
    for (const job of [completed, retried, failed, released]) {
      expect((await jobRow(fx.store, job!.id))!.updated).toEqual(now);
    }
  });

  describe.each(Object.keys(finishers))('%s is a compare-and-set on the lock token', (name) => {
    const finish = finishers[name]!;

    it('a wrong token: false, the row unchanged', async () => {
      const [job, other] = await claimed(2);
      const before = await jobRow(fx.store, job!.id);
      expect(await finish(fx.store, { id: job!.id, lockToken: other!.lockToken })).toBe(false);
      expect(await finish(fx.store, { id: job!.id, lockToken: '' })).toBe(false);
      expect(await jobRow(fx.store, job!.id)).toEqual(before);
    });

    it('the token of an earlier claim (released, then claimed again): false, the new holder unaffected', async () => {
      const [job] = await claimed();
      await fx.store.jobRelease(job!);
      const [reclaimed] = await claimAll(fx.store);
      const before = await jobRow(fx.store, job!.id);
      expect(await finish(fx.store, job!)).toBe(false);
      expect(await jobRow(fx.store, job!.id)).toEqual(before);
      expect(await finish(fx.store, reclaimed!)).toBe(true);
    });

    it('finishing twice with the same token: the second call is false and changes nothing', async () => {
      const [job] = await claimed();
      expect(await finish(fx.store, job!)).toBe(true);
      const after = await jobRow(fx.store, job!.id);
      expect(await finish(fx.store, job!)).toBe(false);
      expect(await jobRow(fx.store, job!.id)).toEqual(after);
    });

    it('a job that was never claimed, or an unknown id: false', async () => {
      const [held] = await claimed();
      const [pending] = await insertJobs(fx.store, 1, () => ({ runAt: minutesFromNow(60) }));
      const before = await jobRow(fx.store, pending!.id);
      expect(await finish(fx.store, { id: pending!.id, lockToken: held!.lockToken })).toBe(false);
      expect(await jobRow(fx.store, pending!.id)).toEqual(before);
      expect(await finish(fx.store, { id: unknownId(), lockToken: held!.lockToken })).toBe(false);
    });
  });
});
