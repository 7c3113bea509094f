import { rawQuery } from '@jobbase/server/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedJob, Jobs, JobsEvents } from '@jobbase/server';
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
  for (const event of ['job:completed', 'job:retried', 'job:failed', 'job:released', 'job:lost'] as const) {
    jobs.events.on(event, (job) => seen.push({ event, job }));
  }
  jobs.events.on('job:error', (job, err) => seen.push({ event: 'job:error', job, err }));
  return seen;
}

/** The first outcome `events` reported for job `id`, whichever it is. */
function firstOutcome(events: Reported[], id: string): Promise<Reported> {
  return waitFor(`an outcome for job ${id}`, () => events.find((e) => e.job.id === id));
}

describe.each(dialects())('engine events on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

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
