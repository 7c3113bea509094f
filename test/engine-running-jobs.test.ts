import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTopics, JobCancelledError, JobsError, type JobContext } from '@jobbase/server';
import { rawQuery } from '@jobbase/server/testing';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { deferred, waitFor } from './helpers/wait.js';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe.each(dialects())('running jobs in the engine on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('cancel: a pending job is cancelled at once and never runs; stats count it apart from the success rate', async () => {
    const jobs = await fx.open();
    let ran = 0;
    const job = await jobs.enqueueAt('later', {}, new Date(Date.now() + 200));
    const cancelled = await jobs.cancel(job.id);
    expect(cancelled).toMatchObject({ id: job.id, status: 'cancelled' });
    jobs.register('later', () => void ran++);
    jobs.start();
    const done = await jobs.enqueue('later', {});
    await waitFor('the other job', async () => (await jobs.get(done.id)).status === 'completed');
    expect(ran).toBe(1);
    expect(await jobs.get(job.id)).toMatchObject({ status: 'cancelled' });
    expect(await jobs.stats()).toMatchObject({ cancelled: 1, completed: 1, total: 2, success_rate: 1 });
    expect(await jobs.list({ status: 'cancelled' })).toMatchObject({ total: 1, items: [{ id: job.id }] });
  });

  it('cancel from another engine: the running handler’s signal aborts within 1 s with a JobCancelledError, and the job ends cancelled whatever it returned', async () => {
    const worker = await fx.open();
    const admin = await fx.open(); // never started: shares only the database
    const started = deferred();
    const aborted = deferred<{ reason: unknown; at: number }>();
    worker.register('long', async (job) => {
      started.resolve();
      await new Promise<void>((resolve) =>
        job.signal.addEventListener('abort', () => {
          aborted.resolve({ reason: job.signal.reason, at: Date.now() });
          resolve();
        }),
      );
      return { partial: true };
    }, { maxRetries: 5 });
    worker.start();
    const job = await worker.enqueue('long', {});
    await started.promise;
    const event = once(worker.events, 'job:cancelled');
    const marked = await admin.cancel(job.id);
    const cancelledAt = Date.now();
    expect(marked).toMatchObject({ status: 'processing', cancelRequested: true });
    const { reason, at } = await aborted.promise;
    expect(at - cancelledAt).toBeLessThan(1_000);
    expect(reason).toBeInstanceOf(JobCancelledError);
    expect((reason as Error).message).toMatch(/was cancelled/);
    const [ended] = await event;
    expect(ended).toMatchObject({ id: job.id, status: 'cancelled' });
    expect(await admin.get(job.id)).toMatchObject({ status: 'cancelled', retries: 0, result: null });
    const err = (await rejection(admin.cancel(job.id))) as JobsError;
    expect(err).toMatchObject({ code: 'finished', message: `Job "${job.id}" is already cancelled: only pending and processing jobs can be cancelled.` });
  });

  it('a cancel from another engine in a handler’s last moments: the job ends cancelled and the event says job:cancelled, not job:completed', async () => {
    const worker = await fx.open();
    const admin = await fx.open(); // never started: shares only the database
    const events: string[] = [];
    for (const name of ['job:completed', 'job:cancelled'] as const) worker.events.on(name, (job) => events.push(`${name} ${job.id}`));
    // Marked from the other engine, then the handler returns at once: this process has not looked
    // at its jobs' marks since (it does every 500 ms), so only the completing statement knows.
    worker.register('quick', async (job) => {
      await admin.cancel(job.id);
      return { done: true };
    });
    const ended = new Promise((resolve) => {
      worker.events.once('job:cancelled', resolve);
      worker.events.once('job:completed', resolve);
    });
    worker.start();
    const job = await worker.enqueue('quick', {});
    expect(await ended).toMatchObject({ id: job.id, status: 'cancelled' });
    expect(events).toEqual([`job:cancelled ${job.id}`]);
    expect(await admin.get(job.id)).toMatchObject({ status: 'cancelled', result: null });
  });

  it('a cancelled handler that throws is not retried; cancel of an unknown job is not_found', async () => {
    const jobs = await fx.open();
    const started = deferred();
    jobs.register('throws', async (job) => {
      started.resolve();
      await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
      throw job.signal.reason;
    }, { maxRetries: 5 });
    jobs.start();
    const job = await jobs.enqueue('throws', {});
    await started.promise;
    await jobs.cancel(job.id);
    await waitFor('cancelled', async () => (await jobs.get(job.id)).status === 'cancelled');
    expect(await jobs.get(job.id)).toMatchObject({ retries: 0, lastError: `Job "${job.id}" was cancelled.` });
    expect(await rejection(jobs.cancel('0194455b-5100-7c3a-9f2e-4b8d1a6e0c57'))).toMatchObject({ code: 'not_found' });
    // Requeued like a failed job, it runs again.
    await jobs.requeue(job.id);
    await waitFor('running again', async () => (await jobs.get(job.id)).status === 'processing');
  });

  it('results: the return value is stored with the completion; undefined stores nothing; a value that is not JSON or too large fails the job for good', async () => {
    const jobs = await fx.open({ maxPayloadSize: 1_000 });
    jobs.register('result', (job) => {
      const kind = (job.payload as { kind: string }).kind;
      if (kind === 'object') return { sent: true, to: ['a', 'b'] };
      if (kind === 'nothing') return undefined;
      if (kind === 'bigint') return 10n;
      if (kind === 'function') return () => 1;
      return 'x'.repeat(2_000);
    }, { maxRetries: 3 });
    jobs.start();
    const ids = Object.fromEntries(
      await Promise.all(['object', 'nothing', 'bigint', 'function', 'large'].map(async (kind) => [kind, (await jobs.enqueue('result', { kind })).id])),
    ) as Record<string, string>;
    const final = async (id: string) => waitFor('final', async () => {
      const job = await jobs.get(id);
      return job.status === 'completed' || job.status === 'failed' ? job : null;
    });
    expect(await final(ids.object!)).toMatchObject({ status: 'completed', result: { sent: true, to: ['a', 'b'] } });
    expect(await final(ids.nothing!)).toMatchObject({ status: 'completed', result: null });
    expect(await final(ids.bigint!)).toMatchObject({ status: 'failed', retries: 0, lastError: expect.stringMatching(/result cannot be stored: result is not serializable to JSON/) });
    expect(await final(ids.function!)).toMatchObject({ status: 'failed', retries: 0, lastError: "The handler's result cannot be stored: result must be a JSON value." });
    expect(await final(ids.large!)).toMatchObject({ status: 'failed', retries: 0, lastError: "The handler's result cannot be stored: result must be at most 1000 bytes of JSON." });
  });

  it('progress: calls in a tight loop are coalesced (at most one write per 250 ms), the last value lands before the finish; a bad value rejects and the job goes on', async () => {
    const jobs = await fx.open();
    const writes: unknown[] = [];
    const setProgress = jobs.store.jobSetProgress.bind(jobs.store);
    jobs.store.jobSetProgress = (p) => {
      writes.push(JSON.parse(p.progressJson));
      return setProgress(p);
    };
    const errors: string[] = [];
    jobs.register('report', async (job: JobContext) => {
      const calls: Promise<void>[] = [];
      const until = Date.now() + 600;
      for (let i = 1; Date.now() < until; i++) {
        calls.push(job.progress({ done: i }));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      calls.push(job.progress({ done: 'last' }));
      errors.push((await rejection(job.progress('x'.repeat(70_000)))).message);
      errors.push((await rejection(job.progress(10n))).message);
      await Promise.all(calls);
      return 'ok';
    });
    jobs.start();
    const job = await jobs.enqueue('report', {});
    await waitFor('completed', async () => (await jobs.get(job.id)).status === 'completed');
    // 600 ms of calls every ~5 ms: the first at once, then one per 250 ms, then the last.
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes.length).toBeLessThanOrEqual(5);
    expect(writes.at(-1)).toEqual({ done: 'last' });
    expect(await jobs.get(job.id)).toMatchObject({ progress: { done: 'last' }, result: 'ok' });
    expect(errors[0]).toMatch(/progress must be at most 65536 bytes of JSON/);
    expect(errors[1]).toMatch(/progress is not serializable to JSON/);
  });

  it('heartbeats: a running job’s lock is renewed a few heartbeats ahead, not its whole lockDuration', async () => {
    const jobs = await fx.open({ heartbeat: 200, lockDuration: 60_000 });
    const release = deferred();
    jobs.register('beating', () => release.promise);
    jobs.start();
    const job = await jobs.enqueue('beating', {});
    const lockedUntil = async () => {
      const [row] = await rawQuery(jobs.store, 'select locked_until from jobs where id = ?', [job.id]);
      return row?.locked_until ? new Date(row.locked_until as string).getTime() : null;
    };
    const first = await waitFor('claimed', lockedUntil);
    expect(first - Date.now()).toBeLessThanOrEqual(400);
    await waitFor('renewed', async () => ((await lockedUntil()) ?? 0) > first);
    const renewed = (await lockedUntil())!;
    expect(renewed - Date.now()).toBeLessThanOrEqual(400);
    release.resolve();
    await waitFor('completed', async () => (await jobs.get(job.id)).status === 'completed');
  });

  it('extendLock pushes the execution timeout; it answers false and aborts the signal once the lock is lost', async () => {
    const jobs = await fx.open({ lockDuration: 300 });
    const answers: boolean[] = [];
    jobs.register('slow', async (job) => {
      answers.push(await job.extendLock(3_000));
      await new Promise((resolve) => setTimeout(resolve, 600));
      return 'made it';
    });
    const lost = deferred<unknown>();
    jobs.register('stolen', async (job) => {
      await rawQuery(jobs.store, `update jobs set lock_token = 'someone-else' where id = ?`, [job.id]);
      answers.push(await job.extendLock(1_000));
      lost.resolve(job.signal.aborted);
    });
    jobs.start();
    const slow = await jobs.enqueue('slow', {});
    await waitFor('completed', async () => (await jobs.get(slow.id)).status === 'completed');
    expect(await jobs.get(slow.id)).toMatchObject({ result: 'made it', retries: 0 });
    await jobs.enqueue('stolen', {});
    expect(await lost.promise).toBe(true);
    expect(answers).toEqual([true, false]);
    expect(await rejection(Promise.resolve().then(() => jobs.register('bad', () => undefined, { heartbeat: 10 })))).toMatchObject({
      code: 'validation',
      message: 'Option heartbeat of topic "bad" must be an integer from 100 to 1073741823, got 10.',
    });
  });

  it('waitFor answers as soon as the job finishes, in another engine too; or the job as it is when the time runs out', async () => {
    const worker = await fx.open();
    const waiter = await fx.open(); // never started: woken by the database's change signal
    const release = deferred();
    worker.register('held', () => release.promise.then(() => 42));
    worker.start();
    const job = await worker.enqueue('held', {});
    await waitFor('running', async () => (await worker.get(job.id)).status === 'processing');
    expect(await waiter.waitFor(job.id, { timeout: 200 })).toMatchObject({ status: 'processing' });
    const waits = [waiter.waitFor(job.id, { timeout: 20_000 }), worker.waitFor(job.id, { timeout: 20_000 })];
    release.resolve();
    const [there, here] = await Promise.all(waits);
    expect(there).toMatchObject({ status: 'completed', result: 42 });
    expect(here).toMatchObject({ status: 'completed', result: 42 });
    expect(await waiter.waitFor(job.id, { timeout: 0 })).toMatchObject({ status: 'completed' });
    const pending = await waiter.enqueueAt('nobody', {}, new Date(Date.now() + 60_000));
    const waited = waiter.waitFor(pending.id, { timeout: 20_000 });
    await worker.cancel(pending.id);
    expect(await waited).toMatchObject({ status: 'cancelled' });
    expect(await rejection(waiter.waitFor(job.id, { timeout: -1 }))).toMatchObject({ code: 'validation' });
  });

  it('1,000 open waits cost one query per change, not one per wait', async () => {
    const waiter = await fx.open();
    const other = await fx.open();
    /** How many ids each look asked for, in order. */
    const looks: number[] = [];
    const getFinal = waiter.store.jobGetFinal.bind(waiter.store);
    waiter.store.jobGetFinal = (ids) => {
      looks.push(ids.length);
      return getFinal(ids);
    };
    const later = new Date(Date.now() + 3_600_000);
    const made = await waiter.enqueueMany(Array.from({ length: 1_000 }, (_, i) => ({ topic: 'nobody', payload: { i }, runAt: later })));
    const waits = made.map((job) => waiter.waitFor(job.id, { timeout: 30_000 }));
    // Each wait reads its job first, then joins the others: they look together, not one query each.
    await waitFor('all 1,000 waits open', () => looks.at(-1) === 1_000);
    const opened = looks.length;
    expect(opened).toBeLessThan(100);
    await other.cancel(made[500]!.id);
    expect(await waits[500]).toMatchObject({ id: made[500]!.id, status: 'cancelled' });
    // The change's look, for all 1,000 at once, and at most one fallback poll that fell meanwhile
    // (for 1,000 before the cancel settled the wait, 999 after).
    const after = looks.slice(opened);
    expect(after.length).toBeLessThanOrEqual(2);
    expect(after).toContain(1_000);
    await waiter.close();
    expect((await Promise.all(waits)).filter((j) => j.status === 'pending')).toHaveLength(999);
  });

  it('retention deletes cancelled jobs like the other finished ones; the heartbeat option is checked', async () => {
    const jobs = await fx.open({ retention: { cancelled: 0 }, cleanupInterval: 100 });
    const job = await jobs.enqueueAt('later', {}, new Date(Date.now() + 60_000));
    const kept = await jobs.enqueueAt('later', {}, new Date(Date.now() + 60_000));
    await jobs.cancel(job.id);
    jobs.start();
    await waitFor('deleted', async () => (await jobs.stats()).cancelled === 0 && (await jobs.list({ status: 'cancelled' })).total === 0);
    expect(await jobs.get(kept.id)).toMatchObject({ status: 'pending' });
    await expect(fx.open({ heartbeat: 99 })).rejects.toMatchObject({
      code: 'validation',
      message: 'Option heartbeat must be an integer from 100 to 1073741823, got 99.',
    });
  });

  it('a declared topic’s handler (its job rebuilt with the parsed payload) has progress and extendLock too', async () => {
    const topics = defineTopics({ typed: z.object({ n: z.number() }) });
    const jobs = await fx.open({ topics });
    jobs.register('typed', async (job) => {
      const { n } = job.payload as { n: number };
      await job.progress({ n });
      return (await job.extendLock(10_000)) ? n * 2 : -1;
    });
    jobs.start();
    const done = await jobs.waitFor((await jobs.enqueue('typed', { n: 21 })).id, { timeout: 10_000 });
    expect(done).toMatchObject({ status: 'completed', progress: { n: 21 }, result: 42 });
  });
});
