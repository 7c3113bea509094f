import type { JobRecord } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import {
  claimAll,
  countedByStatus,
  insertJobs,
  jobCount,
  jobRow,
  minutesAgo,
  setTimes,
  unknownId,
  useStore,
} from './fixture.js';

describe.each(dialects())('store: retention, requeue and delete on %s', (dialect) => {
  const fx = useStore(dialect);

  /** One job in each status, topic named after it. */
  async function oneOfEach() {
    const topics = ['pending', 'processing', 'completed', 'failed'];
    const jobs = await insertJobs(fx.store, 4, (i) => ({ topic: topics[i]!, runAt: minutesAgo(4 - i) }));
    const [processing, completed, failed] = await fx.store.jobClaim({ topics: topics.slice(1), limit: 10, lockDuration: 60_000 });
    await fx.store.jobCompleteMany([completed!]);
    await fx.store.jobFail({ ...failed!, error: 'broke' });
    return { pending: jobs[0]!, processing: processing!, completed: completed!, failed: failed! };
  }

  /** `n` jobs finished with `status`, created an hour before they were last updated (`updatedMinutesAgo`). */
  async function finished(status: 'completed' | 'failed', updatedMinutesAgo: number[]): Promise<JobRecord[]> {
    const topic = `${status}-${Math.random()}`;
    const jobs = await insertJobs(fx.store, updatedMinutesAgo.length, () => ({ topic }));
    const held = await claimAll(fx.store, topic);
    if (status === 'completed') await fx.store.jobCompleteMany(held);
    else for (const job of held) await fx.store.jobFail({ ...job, error: 'x' });
    for (const [i, job] of jobs.entries()) {
      const minutes = updatedMinutesAgo[i]!;
      await setTimes(fx.store, job.id, { created: minutesAgo(minutes + 60), updated: minutesAgo(minutes) });
    }
    return jobs;
  }

  describe('jobDeleteFinished', () => {
    it('deletes jobs of the given status last updated before `before`, and says how many', async () => {
      const completed = await finished('completed', [240, 180, 120, 1]);
      const failed = await finished('failed', [240, 1]);
      const { pending, processing } = await oneOfEach(); // created and updated just now
      // Old, but only just finished: created long ago, updated a minute ago.
      const lateFinisher = (await finished('completed', [1]))[0]!;
      await setTimes(fx.store, lateFinisher.id, { created: minutesAgo(600) });

      expect(await fx.store.jobDeleteFinished({ status: 'completed', before: minutesAgo(90), limit: 100 })).toBe(3);
      for (const job of completed.slice(0, 3)) expect(await fx.store.jobGet(job.id)).toBeNull();
      for (const job of [completed[3]!, lateFinisher, ...failed, pending, processing]) {
        expect(await fx.store.jobGet(job.id)).not.toBeNull();
      }

      expect(await fx.store.jobDeleteFinished({ status: 'failed', before: minutesAgo(90), limit: 100 })).toBe(1);
      expect(await fx.store.jobGet(failed[0]!.id)).toBeNull();
      expect(await fx.store.jobGet(failed[1]!.id)).not.toBeNull();
      expect(await fx.store.jobDeleteFinished({ status: 'completed', before: minutesAgo(90), limit: 100 })).toBe(0);
      expect(await fx.store.jobCountByStatus()).toEqual(await countedByStatus(fx.store));
    });

    it('deletes at most `limit` jobs per call', async () => {
      await finished('completed', [50, 40, 30, 20, 10]);
      const before = new Date();
      expect(await fx.store.jobDeleteFinished({ status: 'completed', before, limit: 2 })).toBe(2);
      expect(await fx.store.jobDeleteFinished({ status: 'completed', before, limit: 2 })).toBe(2);
      expect(await fx.store.jobDeleteFinished({ status: 'completed', before, limit: 2 })).toBe(1);
      expect(await fx.store.jobDeleteFinished({ status: 'completed', before, limit: 2 })).toBe(0);
      expect(await jobCount(fx.store)).toBe(0);
    });

    it('keeps a job updated exactly at `before`', async () => {
      const [job] = await finished('completed', [30]);
      const updated = (await fx.store.jobGet(job!.id))!.updated;
      expect(await fx.store.jobDeleteFinished({ status: 'completed', before: updated, limit: 10 })).toBe(0);
      const justAfter = new Date(updated.getTime() + 1);
      expect(await fx.store.jobDeleteFinished({ status: 'completed', before: justAfter, limit: 10 })).toBe(1);
    });
  });

  describe('jobRequeue', () => {
    it('puts a failed job back to pending: retries 0, no error, due now', async () => {
      const { failed } = await oneOfEach();
      const before = Date.now();
      const requeued = await fx.store.jobRequeue(failed.id);
      const after = Date.now();
      expect(requeued).toMatchObject({ id: failed.id, topic: 'failed', payload: failed.payload });
      expect(requeued).toMatchObject({ status: 'pending', retries: 0, lastError: null });
      const record = requeued as JobRecord;
      expect(record.runAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(record.runAt.getTime()).toBeLessThanOrEqual(after);
      expect(record.updated.getTime()).toBeGreaterThanOrEqual(before);
      expect(await fx.store.jobGet(failed.id)).toEqual(record);
      expect(await jobRow(fx.store, failed.id)).toMatchObject({ lockToken: null, lockedUntil: null });
      expect((await claimAll(fx.store, 'failed')).map((j) => j.id)).toEqual([failed.id]);
    });

    it('resets the retries a failed job used up', async () => {
      const [job] = await insertJobs(fx.store, 1, () => ({ maxRetries: 1 }));
      const [first] = await claimAll(fx.store);
      await fx.store.jobRetry({ ...first!, runAt: minutesAgo(1), error: 'one' });
      const [second] = await claimAll(fx.store);
      await fx.store.jobFail({ ...second!, error: 'two' });
      expect(await fx.store.jobGet(job!.id)).toMatchObject({ status: 'failed', retries: 1, lastError: 'two' });
      expect(await fx.store.jobRequeue(job!.id)).toMatchObject({ status: 'pending', retries: 0, lastError: null });
    });

    it('answers conflict for a pending, processing or completed job and leaves it alone', async () => {
      const jobs = await oneOfEach();
      for (const status of ['pending', 'processing', 'completed'] as const) {
        const before = await jobRow(fx.store, jobs[status].id);
        expect(await fx.store.jobRequeue(jobs[status].id)).toBe('conflict');
        expect(await jobRow(fx.store, jobs[status].id)).toEqual(before);
      }
      await fx.store.jobRequeue(jobs.failed.id);
      expect(await fx.store.jobRequeue(jobs.failed.id)).toBe('conflict'); // pending by now
    });

    it('answers null for an unknown id', async () => {
      expect(await fx.store.jobRequeue(unknownId())).toBeNull();
    });
  });

  describe('jobDelete', () => {
    it('deletes a pending or a failed job', async () => {
      const { pending, failed } = await oneOfEach();
      expect(await fx.store.jobDelete(pending.id)).toBe('deleted');
      expect(await fx.store.jobDelete(failed.id)).toBe('deleted');
      expect(await fx.store.jobGet(pending.id)).toBeNull();
      expect(await fx.store.jobGet(failed.id)).toBeNull();
      expect(await fx.store.jobDelete(pending.id)).toBe('not_found');
      expect(await fx.store.jobCountByStatus()).toEqual({ pending: 0, processing: 1, completed: 1, failed: 0, cancelled: 0 });
    });

    it('answers conflict for a processing or completed job and leaves it alone', async () => {
      const { processing, completed } = await oneOfEach();
      for (const job of [processing, completed]) {
        const before = await jobRow(fx.store, job.id);
        expect(await fx.store.jobDelete(job.id)).toBe('conflict');
        expect(await jobRow(fx.store, job.id)).toEqual(before);
      }
    });

    it('answers not_found for an unknown id', async () => {
      expect(await fx.store.jobDelete(unknownId())).toBe('not_found');
    });
  });
});
