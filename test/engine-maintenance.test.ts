import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Jobs } from '@jobbase/server';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { capturedLogger } from './helpers/logs.js';
import { waitFor } from './helpers/wait.js';

const HOUR = 3_600_000;
/** Long enough that only the pass `start()` runs at once happens during a test. */
const ONE_PASS = HOUR;

/** `n` jobs of `topic`, claimed and completed through the store: finished jobs for retention. */
async function completedJobs(jobs: Jobs, topic: string, n: number): Promise<void> {
  await jobs.enqueueMany(Array.from({ length: n }, (_, i) => ({ topic, payload: { i } })));
  const claimed = await jobs.store.jobClaim({ topics: [topic], limit: n, lockDuration: 60_000 });
  expect(await jobs.store.jobCompleteMany(claimed.map((j) => ({ id: j.id, lockToken: j.lockToken })))).toHaveLength(n);
}

/** A job of `topic` claimed with a lock that has already run out, as if its worker died. */
async function expiredJob(jobs: Jobs, topic: string): Promise<string> {
  const job = await jobs.enqueue(topic);
  expect(await jobs.store.jobClaim({ topics: [topic], limit: 1, lockDuration: 1 })).toHaveLength(1);
  await waitFor('the lock to run out', async () => (await jobs.store.jobGetExpired({ before: new Date(), limit: 10 })).length > 0);
  return job.id;
}

/** Replaces `store[method]` with one that throws `error` on its first call and then works. */
function failOnce<K extends keyof Jobs['store']>(jobs: Jobs, method: K, error: Error): void {
  const store = jobs.store as unknown as Record<K, (...args: unknown[]) => Promise<unknown>>;
  const original = store[method].bind(jobs.store);
  let calls = 0;
  store[method] = (...args: unknown[]) => (calls++ === 0 ? Promise.reject(error) : original(...args));
}

describe.each(dialects())('background maintenance on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  describe('retention', () => {
    it('one pass deletes every batch past the age (2,500 jobs), and logs one total per status that lost any', async () => {
      const setup = await fx.open();
      await completedJobs(setup, 'done', 2_500);
      const failed = await setup.enqueueWithOptions('broken', {}, { maxRetries: 0 });
      const [claimed] = await setup.store.jobClaim({ topics: ['broken'], limit: 1, lockDuration: 60_000 });
      await setup.store.jobFail({ id: claimed!.id, lockToken: claimed!.lockToken, error: 'x' });
      await setup.close();

      const { logger, entries } = capturedLogger();
      const jobs = await fx.open({ retention: { completed: 0, failed: HOUR }, cleanupInterval: ONE_PASS, logger });
      jobs.start();
      await jobs.stop(); // waits for the pass start() began
      expect(await jobs.stats()).toMatchObject({ completed: 0, failed: 1, total: 1 });
      expect((await jobs.get(failed.id)).status).toBe('failed');
      expect(entries('past their retention')).toEqual([
        expect.objectContaining({ level: 'info', status: 'completed', deleted: 2_500 }),
      ]);
    });

    it('a pass that fails is logged, and the next one deletes', async () => {
      const setup = await fx.open();
      await completedJobs(setup, 'done', 3);
      await setup.close();

      const { logger, entries } = capturedLogger();
      const jobs = await fx.open({ retention: { completed: 0 }, cleanupInterval: 50, logger });
      failOnce(jobs, 'jobDeleteFinished', new Error('the disk is on fire'));
      jobs.start();
      await waitFor('the next pass to delete', async () => (await jobs.stats()).completed === 0);
      expect(entries('deleting old jobs failed')).toEqual([
        expect.objectContaining({ level: 'error', err: expect.objectContaining({ message: 'the disk is on fire' }) }),
      ]);
      expect(entries('past their retention')).toEqual([expect.objectContaining({ status: 'completed', deleted: 3 })]);
    });
  });

  describe('rescue', () => {
    it('logs how many jobs it rescued', async () => {
      const setup = await fx.open();
      await expiredJob(setup, 'orphan');
      await expiredJob(setup, 'orphan');
      await setup.close();

      const { logger, entries } = capturedLogger();
      const jobs = await fx.open({ rescueInterval: ONE_PASS, logger });
      jobs.start();
      await jobs.stop(); // waits for the pass start() began
      expect(await jobs.stats()).toMatchObject({ pending: 2, processing: 0 });
      expect(entries('rescued jobs')).toEqual([expect.objectContaining({ level: 'warn', rescued: 2 })]);
    });

    it('logs nothing when another process rescued the jobs between its read and its write', async () => {
      const setup = await fx.open();
      const id = await expiredJob(setup, 'orphan');
      await setup.close();

      const { logger, entries } = capturedLogger();
      const jobs = await fx.open({ rescueInterval: ONE_PASS, logger });
      const other = await fx.open();
      const getExpired = jobs.store.jobGetExpired.bind(jobs.store);
      jobs.store.jobGetExpired = async (params) => {
        const expired = await getExpired(params);
        const raced = expired.map((job) => ({ id: job.id, lockToken: job.lockToken, error: 'rescued elsewhere', status: 'pending' as const, runAt: new Date() }));
        expect(await other.store.jobRescueMany(raced)).toHaveLength(expired.length);
        return expired;
      };
      jobs.start();
      await jobs.stop();
      expect((await jobs.get(id)).lastError).toBe('rescued elsewhere');
      expect(entries('rescued jobs')).toEqual([]);
    });

    it('a pass that fails is logged, and the next one rescues', async () => {
      const { logger, entries } = capturedLogger();
      const jobs = await fx.open({ rescueInterval: 50, logger });
      const id = await expiredJob(jobs, 'orphan');
      failOnce(jobs, 'jobGetExpired', new Error('connection reset'));
      jobs.start();
      await waitFor('the next pass to rescue', async () => (await jobs.get(id)).status === 'pending');
      expect(entries('rescuing expired jobs failed')).toEqual([
        expect.objectContaining({ level: 'error', err: expect.objectContaining({ message: 'connection reset' }) }),
      ]);
    });
  });

  it('a claim that fails is logged, and the worker claims again within moments, not after the poll interval', async () => {
    const { logger, entries } = capturedLogger();
    // A poll interval longer than the test: only the retry's backoff can claim again in time.
    const jobs = await fx.open({ logger, pollInterval: 60_000 });
    failOnce(jobs, 'jobClaim', new Error('too many connections'));
    const ran: string[] = [];
    jobs.register('work', (job) => {
      ran.push(job.id);
    });
    const job = await jobs.enqueue('work');
    jobs.start();
    await waitFor('the job to run', async () => (await jobs.get(job.id)).status === 'completed');
    expect(ran).toEqual([job.id]);
    expect(entries('claiming jobs failed')).toEqual([
      expect.objectContaining({ level: 'error', retryIn: 100, err: expect.objectContaining({ message: 'too many connections' }) }),
    ]);
  });
});
