import { rawQuery } from '@jobbase/server/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedJob, JobRecord, Jobs, JobsEvents } from '@jobbase/server';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { deferred, waitFor } from './helpers/wait.js';

interface Reported {
  event: keyof JobsEvents;
  job: ClaimedJob;
  err?: Error;
}

/** Every outcome event an engine emits, in order. */
function recordEvents(jobs: Jobs): Reported[] {
  const seen: Reported[] = [];
  for (const event of ['job:completed', 'job:released', 'job:lost'] as const) {
    jobs.events.on(event, (job) => seen.push({ event, job }));
  }
  for (const event of ['job:retried', 'job:failed', 'job:error'] as const) {
    jobs.events.on(event, (job, err) => seen.push({ event, job, err }));
  }
  return seen;
}

/** The stored part of an event's job: what `jobs.get` answers, without the attempt's lock. */
function stored(job: ClaimedJob): JobRecord {
  const { lockToken: _token, lockedUntil: _until, ...record } = job;
  return record;
}

/** The first outcome `events` reported for job `id`, whichever it is. */
function firstOutcome(events: Reported[], id: string): Promise<Reported> {
  return waitFor(`an outcome for job ${id}`, () => events.find((e) => e.job.id === id));
}

describe.each(dialects())('engine events on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('job:completed: the job as stored after it completed, not as it was claimed', async () => {
    const jobs = await fx.open();
    const events = recordEvents(jobs);
    let claimed: JobRecord | undefined;
    jobs.register('ok', (job) => {
      claimed = job;
    });
    jobs.start();
    const job = await jobs.enqueue('ok', { n: 1 });
    const outcome = await firstOutcome(events, job.id);
    expect(outcome.event).toBe('job:completed');
    expect(outcome.job).toMatchObject({ status: 'completed', payload: { n: 1 }, lockToken: expect.any(String) });
    expect(outcome.job.updated.getTime()).toBeGreaterThanOrEqual(claimed!.updated.getTime());
    expect(stored(outcome.job)).toEqual(await jobs.get(job.id));
  });

  it('job:retried: the job as stored after the retry was scheduled, and the Error the handler threw', async () => {
    // A long backoff keeps the job pending while the test reads it.
    const jobs = await fx.open({ backoff: () => 60_000 });
    const events = recordEvents(jobs);
    const thrown = new Error('smtp said no');
    jobs.register('throws', () => {
      throw thrown;
    });
    jobs.start();
    const job = await jobs.enqueueWithOptions('throws', { to: 'a@b.c' }, { maxRetries: 3 });
    const outcome = await firstOutcome(events, job.id);
    expect(outcome.event).toBe('job:retried');
    expect(outcome.err).toBe(thrown);
    expect(outcome.job).toMatchObject({ status: 'pending', retries: 1, lastError: 'smtp said no' });
    expect(outcome.job.runAt.getTime()).toBeGreaterThan(job.runAt.getTime() + 50_000);
    expect(stored(outcome.job)).toEqual(await jobs.get(job.id));
  });

  it('job:failed: the job as stored after it failed for good, and the Error; a thrown string becomes an Error', async () => {
    const jobs = await fx.open();
    const events = recordEvents(jobs);
    jobs.register('throws_string', () => {
      throw 'plain string';
    });
    jobs.start();
    const job = await jobs.enqueueWithOptions('throws_string', null, { maxRetries: 0 });
    const outcome = await firstOutcome(events, job.id);
    expect(outcome.event).toBe('job:failed');
    expect(outcome.err).toBeInstanceOf(Error);
    expect(outcome.err!.message).toBe('plain string');
    expect(outcome.err!.cause).toBe('plain string');
    expect(outcome.job).toMatchObject({ status: 'failed', retries: 0, lastError: 'plain string' });
    expect(stored(outcome.job)).toEqual(await jobs.get(job.id));
  });

  it('job:failed after the lock expired: an Error saying so, with the message stored as last_error', async () => {
    const jobs = await fx.open({ lockDuration: 300, rescueInterval: 60_000 });
    // The rescuer looks every lockDuration at most: on a busy machine its pass could take the
    // expired job over first (job:lost). This test is about the worker's own timer.
    jobs.store.jobGetExpired = async () => [];
    const events = recordEvents(jobs);
    jobs.register('hangs', () => new Promise(() => {})); // ignores its abort signal
    jobs.start();
    const job = await jobs.enqueueWithOptions('hangs', null, { maxRetries: 0 });
    const outcome = await firstOutcome(events, job.id);
    expect(outcome.event).toBe('job:failed');
    expect(outcome.err).toBeInstanceOf(Error);
    expect(outcome.err!.message).toMatch(/lock expired after 300 ms/i);
    expect(outcome.job).toMatchObject({ status: 'failed', lastError: outcome.err!.message });
    expect(stored(outcome.job)).toEqual(await jobs.get(job.id));
  });

  it('job:released: the job as stored after shutdown put it back to pending', async () => {
    const jobs = await fx.open({ shutdownTimeout: 50 });
    const events = recordEvents(jobs);
    const running = deferred();
    jobs.register('slow', () => {
      running.resolve();
      return new Promise(() => {});
    });
    jobs.start();
    const job = await jobs.enqueue('slow');
    await running.promise;
    await jobs.stop();
    const outcome = await firstOutcome(events, job.id);
    expect(outcome.event).toBe('job:released');
    expect(outcome.job).toMatchObject({ status: 'pending', retries: 0 });
    expect(stored(outcome.job)).toEqual(await jobs.get(job.id));
  });

  it('job:lost: a handler that returns after its job was rescued and taken by another engine writes nothing', async () => {
    // A's own lock timer is far off; the database says the lock ran out (the process stalled,
    // or its clock runs behind the others'): B's rescuer takes the job over.
    const a = await fx.open({ workerPoolSize: 1, lockDuration: 60_000 });
    const aEvents = recordEvents(a);
    const aRunning = deferred();
    const aGate = deferred();
    a.register('contested', async () => {
      aRunning.resolve();
      await aGate.promise; // ignores its abort signal
    });
    a.start();
    const job = await a.enqueue('contested');
    await aRunning.promise;
    const [held] = await rawQuery<{ lock_token: string }>(a.store, 'select lock_token from jobs where id = ?', [job.id]);

    const b = await fx.open({ rescueInterval: 50, lockDuration: 60_000 });
    const bEvents = recordEvents(b);
    const bRunning = deferred();
    const bGate = deferred();
    b.register('contested', async () => {
      bRunning.resolve();
      await bGate.promise;
    });
    b.start();
    await rawQuery(a.store, 'update jobs set locked_until = ? where id = ?', [new Date(Date.now() - 1_000).toISOString(), job.id]);
    await bRunning.promise;
    const taken = await b.get(job.id);
    expect(taken).toMatchObject({ status: 'processing', retries: 1, lastError: expect.stringMatching(/lock expired/i) });

    // A's handler comes back while B holds the job: A's completion is refused, and says so.
    aGate.resolve();
    const outcome = await firstOutcome(aEvents, job.id);
    expect(outcome.event).toBe('job:lost');
    expect(outcome.job).toMatchObject({ id: job.id, lockToken: held!.lock_token });
    expect(await b.get(job.id)).toEqual(taken);
    const [now] = await rawQuery<{ lock_token: string }>(a.store, 'select lock_token from jobs where id = ?', [job.id]);
    expect(now!.lock_token).not.toBe(held!.lock_token);

    bGate.resolve();
    expect((await firstOutcome(bEvents, job.id)).event).toBe('job:completed');
    expect(await b.get(job.id)).toMatchObject({ status: 'completed', retries: 1 });
    expect(aEvents.map((e) => e.event)).toEqual(['job:lost']);
  });

  it('job:lost: when its lock expires and the job was rescued and started again meanwhile, the executor’s retry is refused', async () => {
    const jobs = await fx.open({ lockDuration: 400, rescueInterval: 50 });
    const events = recordEvents(jobs);
    let executions = 0;
    const secondRunning = deferred();
    const secondGate = deferred();
    jobs.register('hangs_once', async () => {
      executions++;
      if (executions === 1) await new Promise(() => {}); // ignores its abort signal
      secondRunning.resolve();
      await secondGate.promise;
    });
    // The executor's own write after the lock expired arrives only once the rescuer has moved
    // the job on and the next attempt holds it (as when this process's event loop stalls past
    // the lock): only the lock token tells the stale write from the live one. The rescuer's own
    // writes go through jobRetry too; they say the worker crashed or hung.
    const retry = jobs.store.jobRetry.bind(jobs.store);
    let staleToken: string | undefined;
    jobs.store.jobRetry = async (params) => {
      if (staleToken === undefined && /did not finish in time/.test(params.error)) {
        staleToken = params.lockToken;
        await secondRunning.promise;
      }
      return retry(params);
    };
    jobs.start();
    const job = await jobs.enqueue('hangs_once');
    const outcome = await firstOutcome(events, job.id);
    expect(outcome.event).toBe('job:lost');
    expect(outcome.job.lockToken).toBe(staleToken);
    const held = await jobs.get(job.id);
    expect(held).toMatchObject({ status: 'processing', retries: 1, lastError: expect.stringMatching(/crashed or the handler hung/) });
    secondGate.resolve();
    await waitFor('the second attempt to complete', async () => (await jobs.get(job.id)).status === 'completed');
    expect(await jobs.get(job.id)).toMatchObject({ retries: 1, lastError: expect.stringMatching(/crashed or the handler hung/) });
    expect(events.map((e) => e.event)).toEqual(['job:lost', 'job:completed']);
    expect(executions).toBe(2);
  });

  it('job:error: recording a completion fails → the job and the error; the rescuer recovers the job', async () => {
    const jobs = await fx.open({ lockDuration: 500, rescueInterval: 50 });
    const events = recordEvents(jobs);
    const broken = new Error('the disk is on fire');
    const completeMany = jobs.store.jobCompleteMany.bind(jobs.store);
    let failures = 0;
    jobs.store.jobCompleteMany = async (items) => {
      if (failures++ === 0) throw broken;
      return completeMany(items);
    };
    let executions = 0;
    jobs.register('ok', () => {
      executions++;
    });
    jobs.start();
    const job = await jobs.enqueue('ok', { n: 1 });
    const outcome = await firstOutcome(events, job.id);
    expect(outcome.event).toBe('job:error');
    expect(outcome.err).toBe(broken);
    expect(outcome.job).toMatchObject({ id: job.id, topic: 'ok', payload: { n: 1 }, status: 'processing' });
    await waitFor('the rescued job to complete', async () => (await jobs.get(job.id)).status === 'completed');
    expect(events.map((e) => e.event)).toEqual(['job:error', 'job:completed']);
    expect(executions).toBe(2);
  });

  it('job:error: recording a retry fails → the job and the error', async () => {
    const jobs = await fx.open({ lockDuration: 500, rescueInterval: 50 });
    const events = recordEvents(jobs);
    const broken = new Error('connection reset while retrying');
    const retry = jobs.store.jobRetry.bind(jobs.store);
    let failures = 0;
    jobs.store.jobRetry = async (params) => {
      if (failures++ === 0) throw broken;
      return retry(params);
    };
    let executions = 0;
    jobs.register('throws_once', () => {
      executions++;
      if (executions === 1) throw new Error('first');
    });
    jobs.start();
    const job = await jobs.enqueue('throws_once');
    const outcome = await firstOutcome(events, job.id);
    expect(outcome.event).toBe('job:error');
    expect(outcome.err).toBe(broken);
    expect(outcome.job.id).toBe(job.id);
    // Nothing was written: the job waits, processing, for the rescuer.
    await waitFor('the rescued job to complete', async () => (await jobs.get(job.id)).status === 'completed');
    expect(await jobs.get(job.id)).toMatchObject({ retries: 1, lastError: expect.stringMatching(/lock expired/i) });
    expect(events.map((e) => e.event)).toEqual(['job:error', 'job:completed']);
  });
});
