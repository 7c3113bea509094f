import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTopics, JobsError, PermanentError, type ClaimedJob } from '@jobbase/server';
import { rawQuery } from '@jobbase/server/testing';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { deferred, waitFor } from './helpers/wait.js';

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<JobsError> {
  try {
    await promise;
  } catch (err) {
    return err as JobsError;
  }
  throw new Error('expected a rejection');
}

const PRIORITY_MESSAGE = 'priority must be an integer from -32768 to 32767.';

describe.each(dialects())('job controls in the engine on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('runs due jobs lowest priority first, then by run_at; a job due later waits whatever its priority', async () => {
    const jobs = await fx.open({ workerPoolSize: 1, batchSize: 1 });
    const ran: number[] = [];
    const past = new Date(Date.now() - 60_000);
    for (const priority of [3, 0, -5, 3, 10]) await jobs.enqueueWithOptions('ordered', { priority }, { priority, runAt: past });
    const later = await jobs.enqueueWithOptions('ordered', { priority: -100 }, { priority: -100, runAt: new Date(Date.now() + 3_600_000) });
    jobs.register('ordered', (job) => {
      ran.push((job.payload as { priority: number }).priority);
    });
    jobs.start();
    await waitFor('five jobs run', () => ran.length === 5);
    expect(ran).toEqual([-5, 0, 3, 3, 10]);
    expect(await jobs.get(later.id)).toMatchObject({ status: 'pending', priority: -100 });
  });

  it('validates priority at enqueue, alone and in a batch, naming the field', async () => {
    const jobs = await fx.open();
    for (const bad of [1.5, -32_769, 32_768, '1', null, Number.NaN]) {
      const err = await rejection(jobs.enqueueWithOptions('t', {}, { priority: bad as number }));
      expect(err).toBeInstanceOf(JobsError);
      expect(err.code).toBe('validation');
      expect(err.message).toBe(PRIORITY_MESSAGE);
      expect(err.fields).toEqual({ priority: { code: expect.any(String), message: PRIORITY_MESSAGE } });
    }
    const batch = await rejection(jobs.enqueueMany([{ topic: 't' }, { topic: 't', priority: 40_000 }]));
    expect(batch.fields).toEqual({ 'jobs.1.priority': { code: 'too_big', message: PRIORITY_MESSAGE } });
    expect((await jobs.stats()).total).toBe(0);
    const made = await jobs.enqueueMany([{ topic: 't', priority: -32_768 }, { topic: 't', priority: 32_767 }, { topic: 't' }]);
    expect(made.map((j) => j.priority)).toEqual([-32_768, 32_767, 0]);
  });

  it('a PermanentError fails the job at once: no retry used, its message as last_error, job:failed', async () => {
    const jobs = await fx.open();
    let calls = 0;
    jobs.register('charge', () => {
      calls++;
      throw new PermanentError('card number is not valid: retrying cannot help');
    });
    const failedEvent = once(jobs.events, 'job:failed') as Promise<[ClaimedJob, Error]>;
    jobs.start();
    const job = await jobs.enqueueWithOptions('charge', {}, { maxRetries: 5 });
    const [eventJob, err] = await failedEvent;
    expect(err).toBeInstanceOf(PermanentError);
    expect(eventJob).toMatchObject({ id: job.id, status: 'failed', retries: 0 });
    expect(await jobs.get(job.id)).toMatchObject({
      status: 'failed',
      retries: 0,
      maxRetries: 5,
      lastError: 'card number is not valid: retrying cannot help',
    });
    expect(calls).toBe(1);
  });

  it('an error only named PermanentError, or another error, is retried as usual', async () => {
    const jobs = await fx.open({ backoff: () => 0 });
    let calls = 0;
    jobs.register('flaky', () => {
      calls++;
      const err = new Error('looks permanent, is not');
      err.name = 'PermanentError';
      throw err;
    });
    jobs.start();
    const job = await jobs.enqueueWithOptions('flaky', {}, { maxRetries: 2 });
    await waitFor('the retries to run out', async () => (await jobs.get(job.id)).status === 'failed');
    expect(await jobs.get(job.id)).toMatchObject({ retries: 2, lastError: 'looks permanent, is not' });
    expect(calls).toBe(3);
  });

  it('a stored payload that does not fit its typed topic fails for good at once, naming the fields', async () => {
    const untyped = await fx.open();
    const stored = await untyped.enqueueWithOptions('send_email', { to: 'nope', subject: 7 }, { maxRetries: 5 });
    await untyped.close();
    const topics = defineTopics({ send_email: z.object({ to: z.string().email(), subject: z.string() }) });
    const jobs = await fx.open({ topics });
    let calls = 0;
    jobs.register('send_email', () => calls++);
    jobs.start();
    const failed = await waitFor('the job to fail', async () => {
      const job = await jobs.get(stored.id);
      return job.status === 'failed' ? job : null;
    });
    expect(failed.retries).toBe(0);
    expect(failed.lastError).toBe('Invalid payload for topic "send_email": to: Invalid email; subject: Expected string, received number');
    expect(calls).toBe(0);
  });

  it('return job.snooze(ms): pending again, due ms later, retries and last_error kept, snoozes counted; then it runs', async () => {
    const jobs = await fx.open({ backoff: () => 0 });
    let calls = 0;
    jobs.register('poll_export', (job) => {
      calls++;
      if (calls === 1) throw new Error('export service unreachable');
      if (calls === 2) return job.snooze(60_000);
      return undefined;
    });
    const snoozed = once(jobs.events, 'job:snoozed') as Promise<[ClaimedJob]>;
    jobs.start();
    const job = await jobs.enqueueWithOptions('poll_export', {}, { maxRetries: 3, priority: 2 });
    const [eventJob] = await snoozed;
    const stored = await jobs.get(job.id);
    expect(stored).toMatchObject({
      status: 'pending',
      retries: 1,
      lastError: 'export service unreachable',
      snoozes: 1,
      priority: 2,
    });
    expect(stored.runAt.getTime() - stored.updated.getTime()).toBe(60_000);
    expect(eventJob).toMatchObject({ id: job.id, status: 'pending', snoozes: 1, runAt: stored.runAt, updated: stored.updated });
    expect(calls).toBe(2);

    // Made due now, it runs again and completes, its snooze still counted.
    await rawQuery(jobs.store, 'update jobs set run_at = ? where id = ?', [new Date(Date.now() - 1).toISOString(), job.id]);
    await waitFor('the job to complete', async () => (await jobs.get(job.id)).status === 'completed', { timeout: 5_000 });
    expect(await jobs.get(job.id)).toMatchObject({ retries: 1, snoozes: 1, lastError: 'export service unreachable' });
    expect(calls).toBe(3);
  });

  it('a short snooze wakes this worker when it falls due, without a poll', async () => {
    const jobs = await fx.open({ pollInterval: 60_000 });
    const runs: number[] = [];
    jobs.register('again', (job) => {
      runs.push(Date.now());
      return runs.length === 1 ? job.snooze(50) : undefined;
    });
    jobs.start();
    const job = await jobs.enqueue('again');
    await waitFor('the second run', () => runs.length === 2, { timeout: 5_000 });
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(50);
    await waitFor('completion', async () => (await jobs.get(job.id)).status === 'completed');
    expect(await jobs.get(job.id)).toMatchObject({ snoozes: 1, retries: 0 });
  });

  it('snooze(ms) with a bad ms fails the attempt with a message saying so; throwing after a snooze fails it too', async () => {
    const jobs = await fx.open();
    jobs.register('bad_snooze', (job) => job.snooze(-1));
    jobs.register('snooze_then_throw', (job) => {
      job.snooze(1_000);
      throw new Error('changed my mind');
    });
    jobs.start();
    const bad = await jobs.enqueueWithOptions('bad_snooze', {}, { maxRetries: 0 });
    const thrown = await jobs.enqueueWithOptions('snooze_then_throw', {}, { maxRetries: 0 });
    await waitFor('both to fail', async () => (await jobs.stats()).failed === 2);
    expect(await jobs.get(bad.id)).toMatchObject({ snoozes: 0, lastError: 'job.snooze(ms): ms must be an integer ≥ 0, got -1.' });
    expect(await jobs.get(thrown.id)).toMatchObject({ snoozes: 0, lastError: 'changed my mind' });
  });

  it('register defaults: maxRetries and priority fill an enqueue’s gaps, the enqueue’s own values win', async () => {
    const jobs = await fx.open({ maxRetries: 3 });
    jobs.register('reports', () => {}, { maxRetries: 7, priority: -4 });
    const defaults = await jobs.enqueue('reports');
    expect(defaults).toMatchObject({ maxRetries: 7, priority: -4 });
    const own = await jobs.enqueueWithOptions('reports', {}, { maxRetries: 0, priority: 0 });
    expect(own).toMatchObject({ maxRetries: 0, priority: 0 });
    const [batched] = await jobs.enqueueMany([{ topic: 'reports' }]);
    expect(batched).toMatchObject({ maxRetries: 7, priority: -4 });
    // Another topic keeps the engine's defaults.
    expect(await jobs.enqueue('other')).toMatchObject({ maxRetries: 3, priority: 0 });
    expect(await jobs.get(defaults.id)).toMatchObject({ maxRetries: 7, priority: -4 });
  });

  it('register defaults: lockDuration is that topic’s execution timeout, the others keep the engine’s', async () => {
    const jobs = await fx.open({ lockDuration: 60_000 });
    const started = deferred();
    jobs.register('quick', () => new Promise(() => {}), { lockDuration: 300 });
    jobs.register('slow', () => {
      started.resolve();
      return new Promise(() => {});
    });
    jobs.start();
    const quick = await jobs.enqueueWithOptions('quick', {}, { maxRetries: 0 });
    const slow = await jobs.enqueueWithOptions('slow', {}, { maxRetries: 0 });
    await started.promise;
    const failed = await waitFor('the quick topic’s job to time out', async () => {
      const job = await jobs.get(quick.id);
      return job.status === 'failed' ? job : null;
    });
    // The worker's own timeout says "the handler did not finish in time"; on a loaded machine the
    // rescuer may find the expired lock first ("the worker crashed or the handler hung"): either
    // way the topic's 300 ms ended it, not the engine's minute.
    expect(failed.lastError).toMatch(/^Lock expired after 300 ms: /);
    const [held] = await jobs.store.jobGetExpired({ before: new Date(Date.now() + 3_600_000), limit: 10 });
    expect(held).toMatchObject({ id: slow.id, topic: 'slow' });
    expect((await jobs.get(slow.id)).status).toBe('processing');
  });

  it('register defaults: backoff is that topic’s wait before a retry', async () => {
    const jobs = await fx.open({ backoff: () => 0 });
    jobs.register('patient', () => {
      throw new Error('not yet');
    }, { backoff: () => 3_600_000 });
    const retried = once(jobs.events, 'job:retried') as Promise<[ClaimedJob, Error]>;
    jobs.start();
    await jobs.enqueueWithOptions('patient', {}, { maxRetries: 3 });
    const [job] = await retried;
    expect(job.runAt.getTime() - job.updated.getTime()).toBe(3_600_000);
  });

  it('the rescuer treats a topic’s job by its defaults: its lock in the message, its backoff, looked for within its lock', async () => {
    const jobs = await fx.open({ lockDuration: 60_000, rescueInterval: 60_000, backoff: () => 0 });
    jobs.register('fragile', () => {}, { lockDuration: 250, backoff: () => 3_600_000 });
    const job = await jobs.enqueueWithOptions('fragile', {}, { maxRetries: 2 });
    // Claimed by a worker that then died (no handler runs it here): its lock runs out.
    const [held] = await jobs.store.jobClaim({ topics: ['fragile'], limit: 1, lockDuration: 1 });
    expect(held!.id).toBe(job.id);
    jobs.start();
    const rescued = await waitFor('the rescue', async () => {
      const stored = await jobs.get(job.id);
      return stored.status === 'pending' ? stored : null;
    }, { timeout: 5_000 });
    expect(rescued.lastError).toBe('Lock expired after 250 ms: the worker crashed or the handler hung.');
    expect(rescued.retries).toBe(1);
    expect(rescued.runAt.getTime() - rescued.updated.getTime()).toBeGreaterThanOrEqual(3_600_000 - 1_000);
  });

  it('register refuses bad defaults, naming the option', async () => {
    const jobs = await fx.open();
    const refused = (options: object) => {
      try {
        jobs.register(`t${Math.random()}`, () => {}, options);
      } catch (err) {
        return (err as JobsError).message;
      }
      return 'accepted';
    };
    expect(refused({ priority: 1e6 })).toBe(PRIORITY_MESSAGE);
    expect(refused({ maxRetries: -1 })).toBe('max_retries must be an integer ≥ 0.');
    expect(refused({ lockDuration: 0 })).toMatch(/^Option lockDuration of topic "t[\d.]+" must be an integer from 1 to 2147483647, got 0\.$/);
    expect(refused({ backoff: 'fast' })).toMatch(/^Option backoff of topic "t[\d.]+" must be \{ base, max \} in ms or a function/);
    expect(refused({ backoff: { base: 10, max: 100 }, lockDuration: 10, priority: 5, maxRetries: 0 })).toBe('accepted');
  });
});
