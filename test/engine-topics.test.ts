import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobsError } from '@jobbase/server';
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

describe.each(dialects())('topic control in the engine on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('pause: another process claims none of the topic’s jobs from 1 s after it, running jobs finish, enqueues are accepted; resume starts them within 1 s', async () => {
    const admin = await fx.open();
    // The default poll interval: what starts the resumed jobs is the settings' refresh, not a poll.
    const worker = await fx.open({ pollInterval: 1_000 });
    const started = new Map<string, number>();
    const running = deferred();
    worker.register('mail', async (job) => {
      started.set(job.id, Date.now());
      if ((job.payload as { hold?: boolean }).hold) await running.promise;
    });
    worker.register('sentinel', () => undefined);
    worker.start();
    const held = await admin.enqueue('mail', { hold: true });
    await waitFor('the held job runs', () => started.has(held.id));

    const paused = await admin.pauseTopic('mail');
    const pausedAt = Date.now();
    expect(paused).toMatchObject({ topic: 'mail', paused: true });
    // Enqueues are accepted; jobs enqueued within the second the pause may take may still start.
    const early = await Promise.all([1, 2, 3].map((n) => admin.enqueue('mail', { n })));
    running.resolve();
    await waitFor('the running job finishes', async () => (await admin.get(held.id)).status === 'completed');
    await waitFor('1 s since the pause', () => Date.now() > pausedAt + 1_000, { interval: 50 });
    // Past it, jobs of the paused topic wait; a job of another topic enqueued after them runs,
    // so the worker did claim, and none of the paused topic's jobs started after the second.
    const late = await Promise.all([4, 5, 6].map((n) => admin.enqueue('mail', { n })));
    const sentinel = await admin.enqueue('sentinel', {});
    await waitFor('the sentinel runs', async () => (await admin.get(sentinel.id)).status === 'completed');
    for (const job of [...early, ...late]) {
      const at = started.get(job.id);
      if (at !== undefined) expect(at).toBeLessThanOrEqual(pausedAt + 1_000);
    }
    const stillWaiting = [...early, ...late].filter((j) => !started.has(j.id));
    expect(stillWaiting.length).toBeGreaterThanOrEqual(late.length);
    expect((await admin.getTopic('mail')).counts.pending).toBe(stillWaiting.length);

    const resumedAt = Date.now();
    expect(await admin.resumeTopic('mail')).toMatchObject({ paused: false });
    await waitFor('the waiting jobs start', () => stillWaiting.every((j) => started.has(j.id)), { timeout: 5_000 });
    for (const job of stillWaiting) expect(started.get(job.id)! - resumedAt).toBeLessThanOrEqual(1_000);
  });

  it('a pause outlasts a restart: a new process claims nothing of the topic until it is resumed', async () => {
    const first = await fx.open();
    await first.pauseTopic('mail');
    const job = await first.enqueue('mail', {});
    await first.close();

    const second = await fx.open();
    const ran: string[] = [];
    second.register('mail', (j) => void ran.push(j.id));
    second.register('sentinel', (j) => void ran.push(j.id));
    second.start();
    const sentinel = await second.enqueue('sentinel', {});
    await waitFor('the sentinel runs', () => ran.includes(sentinel.id));
    expect(ran).not.toContain(job.id);
    expect(await second.getTopic('mail')).toMatchObject({ paused: true, counts: { pending: 1 } });
    await second.resumeTopic('mail');
    await waitFor('the job runs once resumed', () => ran.includes(job.id), { timeout: 2_000 });
  });

  it('register(topic, handler, { concurrency }) caps that topic’s handlers in this process within the pool', async () => {
    const jobs = await fx.open({ workerPoolSize: 10 });
    let running = 0;
    let most = 0;
    const release = deferred();
    const others: string[] = [];
    jobs.register(
      'narrow',
      async () => {
        running++;
        most = Math.max(most, running);
        await release.promise;
        running--;
      },
      { concurrency: 2 },
    );
    jobs.register('wide', async (job) => {
      others.push(job.id);
      await release.promise;
    });
    await jobs.enqueueMany(Array.from({ length: 6 }, () => ({ topic: 'narrow' })));
    jobs.start();
    await waitFor('two narrow handlers run', () => running === 2);
    // The pool still has room: jobs of another topic enqueued now start beside the two.
    await jobs.enqueueMany(Array.from({ length: 4 }, () => ({ topic: 'wide' })));
    await waitFor('the wide jobs run', () => others.length === 4);
    expect(most).toBe(2);
    expect((await jobs.getTopic('narrow')).counts).toMatchObject({ processing: 2, pending: 4 });
    release.resolve();
    await waitFor('every narrow job completes', async () => (await jobs.getTopic('narrow')).counts.completed === 6);
    expect(most).toBe(2);
  });

  it('validates concurrency at register', async () => {
    const jobs = await fx.open();
    for (const bad of [0, -1, 1.5, '2', 10_001]) {
      expect(() => jobs.register(`t${String(bad)}`, () => undefined, { concurrency: bad as number })).toThrow(/concurrency .* must be an integer from 1 to 10000/);
    }
  });

  it('listTopics shows topics with jobs, a registered handler or settings; getTopic one, or not_found', async () => {
    const jobs = await fx.open();
    jobs.register('handled', () => undefined, { concurrency: 1 });
    jobs.start();
    await jobs.enqueueAt('queued', {}, new Date(Date.now() - 2_000));
    await jobs.updateTopic('capped', { maxRunning: 2, rateLimit: { max: 10, perMs: 1_000 } });
    const topics = await waitFor('the registered topic is recorded', async () => {
      const list = await jobs.listTopics();
      return list.some((t) => t.topic === 'handled') ? list : null;
    });
    expect(topics.map((t) => t.topic)).toEqual(['capped', 'handled', 'queued']);
    const [capped, handled, queued] = topics;
    expect(capped).toMatchObject({ paused: false, maxRunning: 2, rateLimit: { max: 10, perMs: 1_000 }, registeredAt: null });
    expect(handled!.registeredAt).toBeInstanceOf(Date);
    expect(queued).toMatchObject({ counts: { pending: 1 }, maxRunning: null, rateLimit: null, updated: null });
    expect(queued!.oldestPendingAge).toBeGreaterThanOrEqual(2_000);
    expect(await jobs.getTopic('queued')).toMatchObject({ topic: 'queued', counts: { pending: 1 } });
    const missing = await rejection(jobs.getTopic('nothing-here'));
    expect(missing.code).toBe('not_found');
    // null clears; a field left out stays.
    expect(await jobs.updateTopic('capped', { maxRunning: null })).toMatchObject({ maxRunning: null, rateLimit: { max: 10, perMs: 1_000 } });
  });

  it('updateTopic refuses bad settings, naming the field, and changes nothing', async () => {
    const jobs = await fx.open();
    const cases: [unknown, string][] = [
      [{ maxRunning: -1 }, 'max_running'],
      [{ maxRunning: 0 }, 'max_running'],
      [{ maxRunning: 1.5 }, 'max_running'],
      [{ maxRunning: '3' }, 'max_running'],
      [{ rateLimit: { max: 1, perMs: 0 } }, 'rate_limit.per_ms'],
      [{ rateLimit: { max: 0, perMs: 10 } }, 'rate_limit.max'],
      [{ rateLimit: { max: 1 } }, 'rate_limit.per_ms'],
      [{ rateLimit: { max: 1, perMs: 10, burst: 2 } }, 'rate_limit.burst'],
      [{ rateLimit: 5 }, 'rate_limit'],
      [{ paused: true }, 'paused'],
    ];
    for (const [update, field] of cases) {
      const err = await rejection(jobs.updateTopic('t', update as never));
      expect(err.code, JSON.stringify(update)).toBe('validation');
      expect(Object.keys(err.fields), JSON.stringify(update)).toEqual([field]);
    }
    expect((await rejection(jobs.pauseTopic(''))).fields).toHaveProperty('topic');
    expect(await jobs.listTopics()).toEqual([]);
  });
});
