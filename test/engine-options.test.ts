import { once } from 'node:events';
import pg from 'pg';
import { openStore, rawQuery } from '@jobbase/server/testing';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { JobsError, type Jobs, type JobsOptions } from '@jobbase/server';
import { AppFixture, api, expectError } from './helpers/app.js';
import { watchClaims, withoutPush } from './helpers/claims.js';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { postgresAdminUrl } from './helpers/postgres-url.js';
import { deferred, waitFor } from './helpers/wait.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * A job finished `age` ms ago: claimed and completed or failed through the store, then its
 * times moved back (ISO text binds as SQLite stores times and as PostgreSQL reads timestamptz).
 */
async function finishedJob(jobs: Jobs, status: 'completed' | 'failed', age: number): Promise<string> {
  const topic = `${status}_${age}`;
  const job = await jobs.enqueueWithOptions(topic, {}, { maxRetries: 0 });
  const [claimed] = await jobs.store.jobClaim({ topics: [topic], limit: 1, lockDuration: MINUTE });
  const held = { id: claimed!.id, lockToken: claimed!.lockToken };
  if (status === 'completed') expect(await jobs.store.jobCompleteMany([held])).toEqual([{ id: job.id, status: 'completed' }]);
  else expect(await jobs.store.jobFail({ ...held, error: 'broke' })).toBe(true);
  await backdate(jobs, job.id, age);
  return job.id;
}

async function backdate(jobs: Jobs, id: string, age: number): Promise<void> {
  const at = new Date(Date.now() - age).toISOString();
  await rawQuery(jobs.store, 'update jobs set created = ?, updated = ? where id = ?', [at, at, id]);
}

async function exists(jobs: Jobs, id: string): Promise<boolean> {
  return jobs.get(id).then(
    () => true,
    (err: JobsError) => (err.code === 'not_found' ? false : Promise.reject(err)),
  );
}

describe.each(dialects())('engine options on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('retention: failed jobs are deleted past retention.failed, completed ones past retention.completed', async () => {
    const jobs = await fx.open({ retention: { failed: HOUR, completed: 3 * HOUR }, cleanupInterval: 50 });
    const failedOld = await finishedJob(jobs, 'failed', 2 * HOUR);
    const failedYoung = await finishedJob(jobs, 'failed', 30 * MINUTE);
    // Past the failed age but within the completed one: each status follows its own age.
    const completedYoung = await finishedJob(jobs, 'completed', 2 * HOUR);
    const completedOld = await finishedJob(jobs, 'completed', 4 * HOUR);
    const pending = (await jobs.enqueue('waiting')).id;
    await backdate(jobs, pending, 4 * HOUR);

    // Every pass deletes at least once; three deletes returned means a whole pass is over,
    // however many statuses a pass walks.
    const deleteFinished = jobs.store.jobDeleteFinished.bind(jobs.store);
    let deletes = 0;
    jobs.store.jobDeleteFinished = async (params) => {
      try {
        return await deleteFinished(params);
      } finally {
        deletes++;
      }
    };
    jobs.start();
    await waitFor('a whole retention pass', () => deletes >= 3);

    expect(await exists(jobs, failedOld)).toBe(false);
    expect(await exists(jobs, completedOld)).toBe(false);
    expect(await exists(jobs, failedYoung)).toBe(true);
    expect(await exists(jobs, completedYoung)).toBe(true);
    expect(await exists(jobs, pending)).toBe(true);
    expect(await jobs.stats()).toMatchObject({ pending: 1, completed: 1, failed: 1, total: 3 });
  });

  it('batchSize bounds every claim, while the pool still fills up', async () => {
    const jobs = await fx.open({ workerPoolSize: 10, batchSize: 2 });
    const claims: { limit: number; got: number }[] = [];
    const claim = jobs.store.jobClaim.bind(jobs.store);
    jobs.store.jobClaim = async (params) => {
      const claimed = await claim(params);
      claims.push({ limit: params.limit, got: claimed.length });
      return claimed;
    };
    let running = 0;
    const gate = deferred();
    jobs.register('slow', async () => {
      running++;
      await gate.promise;
    });
    await jobs.enqueueMany(Array.from({ length: 20 }, () => ({ topic: 'slow' })));
    jobs.start();
    await waitFor('ten handlers running', () => running === 10);
    gate.resolve();
    await waitFor('all done', async () => (await jobs.stats()).completed === 20);
    expect(Math.max(...claims.map((c) => c.limit))).toBe(2);
    expect(Math.max(...claims.map((c) => c.got))).toBe(2);
    // Ten slots filled two at a time: at least five full claims before the gate opened.
    expect(claims.filter((c) => c.got === 2).length).toBeGreaterThanOrEqual(5);
  });

  it('maxRetries is the max_retries of jobs enqueued without one', async () => {
    const jobs = await fx.open({ maxRetries: 1 });
    let executions = 0;
    jobs.register('flaky', () => {
      executions++;
      throw new Error(`attempt ${executions} broke`);
    });
    const job = await jobs.enqueue('flaky');
    expect(job.maxRetries).toBe(1);
    const [many] = await jobs.enqueueMany([{ topic: 'idle' }]);
    expect(many!.maxRetries).toBe(1);
    expect(await jobs.get(many!.id)).toMatchObject({ maxRetries: 1 });
    // An explicit value still wins over the engine's.
    expect(await jobs.enqueueWithOptions('idle', {}, { maxRetries: 5 })).toMatchObject({ maxRetries: 5 });
    expect(await jobs.enqueueWithOptions('idle', {}, { maxRetries: 0 })).toMatchObject({ maxRetries: 0 });

    const failed = once(jobs.events, 'job:failed');
    jobs.start();
    await failed;
    expect(executions).toBe(2);
    expect(await jobs.get(job.id)).toMatchObject({ status: 'failed', retries: 1, maxRetries: 1, lastError: 'attempt 2 broke' });
  });

  it('maxPayloadSize: a payload over the limit is refused by enqueue and enqueueMany, one at it accepted', async () => {
    const jobs = await fx.open({ maxPayloadSize: 100 });
    const atLimit = 'x'.repeat(98); // 100 bytes of JSON with its quotes
    const over = 'x'.repeat(99);
    expect((await jobs.enqueue('sized', atLimit)).payload).toBe(atLimit);
    const single = await jobs.enqueue('sized', over).catch((e: unknown) => e);
    expect(single).toBeInstanceOf(JobsError);
    expect(single).toMatchObject({ code: 'payload_too_large', fields: { payload: { code: 'too_large' } } });
    expect((single as JobsError).message).toContain('100 bytes');
    // Bytes, not characters: 34 two-byte characters and the quotes are 70 bytes, 50 are 102.
    expect((await jobs.enqueue('sized', 'é'.repeat(34))).payload).toBe('é'.repeat(34));
    await expect(jobs.enqueue('sized', 'é'.repeat(50))).rejects.toMatchObject({ code: 'payload_too_large' });

    const many = await jobs.enqueueMany([{ topic: 'sized', payload: atLimit }, { topic: 'sized', payload: over }]).catch((e: unknown) => e);
    expect(many).toBeInstanceOf(JobsError);
    expect((many as JobsError).code).toBe('validation');
    expect(Object.keys((many as JobsError).fields)).toEqual(['jobs.1.payload']);
    expect(await jobs.enqueueMany([{ topic: 'sized', payload: atLimit }])).toHaveLength(1);
    expect((await jobs.stats()).total).toBe(3);
  });

  it('wakes for a job due sooner than the poll interval, at its run_at', async () => {
    const jobs = await fx.open({ pollInterval: 60_000 });
    let startedAt = 0;
    jobs.register('soon', () => {
      startedAt = Date.now();
    });
    withoutPush(jobs);
    const claims = watchClaims(jobs);
    jobs.start();
    await claims.asleep();
    const runAt = new Date(Date.now() + 300);
    await jobs.enqueueAt('soon', {}, runAt);
    // A poll would take 60 s; the deadline is generous but far below it.
    await waitFor('the job to run at its run_at', () => startedAt, { timeout: 10_000 });
    expect(startedAt).toBeGreaterThanOrEqual(runAt.getTime());
  });

  it('enqueueMany wakes an idle worker for the earliest job of a handled topic', async () => {
    const jobs = await fx.open({ pollInterval: 60_000 });
    const started = new Map<string, number>();
    jobs.register('batch', (job) => {
      started.set((job.payload as { name: string }).name, Date.now());
    });
    withoutPush(jobs);
    const claims = watchClaims(jobs);
    jobs.start();
    await claims.asleep();
    // Listed latest first, and led by a due job of a topic nobody here handles: the wake must be
    // for the earliest job this worker runs, not the first or last of the batch.
    const soon = new Date(Date.now() + 300);
    await jobs.enqueueMany([
      { topic: 'nobody_handles', payload: {} },
      { topic: 'batch', payload: { name: 'late' }, runAt: new Date(Date.now() + 3_600_000) },
      { topic: 'batch', payload: { name: 'soon' }, runAt: soon },
      { topic: 'batch', payload: { name: 'later' }, runAt: new Date(Date.now() + 1_800_000) },
    ]);
    await waitFor('the earliest job to run at its run_at', () => started.get('soon'), { timeout: 10_000 });
    expect(started.get('soon')).toBeGreaterThanOrEqual(soon.getTime());
    expect([...started.keys()]).toEqual(['soon']);
  });

  it('enqueueMany of due jobs wakes an idle worker at once', async () => {
    const jobs = await fx.open({ pollInterval: 60_000 });
    let ran = 0;
    jobs.register('batch', () => {
      ran++;
    });
    withoutPush(jobs);
    const claims = watchClaims(jobs);
    jobs.start();
    await claims.asleep();
    await jobs.enqueueMany([{ topic: 'batch' }, { topic: 'batch' }]);
    await waitFor('both jobs to run', () => ran === 2, { timeout: 10_000 });
  });

  it('wakes when a failed job is requeued (no poll wait)', async () => {
    const jobs = await fx.open({ pollInterval: 60_000 });
    let executions = 0;
    jobs.register('second_chance', () => {
      executions++;
      if (executions === 1) throw new Error('first');
    });
    withoutPush(jobs);
    const claims = watchClaims(jobs);
    const job = await jobs.enqueueWithOptions('second_chance', {}, { maxRetries: 0 });
    const failed = once(jobs.events, 'job:failed');
    jobs.start();
    await failed;
    await claims.asleep();
    const completed = once(jobs.events, 'job:completed');
    await jobs.requeue(job.id);
    await waitFor('the requeued job to run', async () => (await jobs.get(job.id)).status === 'completed', { timeout: 10_000 });
    await completed;
    expect(executions).toBe(2);
  });
});

describe.each(dialects())('engine options over HTTP on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('createApp passes maxPayloadSize and maxRetries to the engine behind the routes', async () => {
    const { url, token } = await fx.startSignedIn({ maxPayloadSize: 100, maxRetries: 1 });
    const ok = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'sized', payload: 'x'.repeat(98) } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.max_retries).toBe(1);
    expectError(await api(url, '/api/jobs/enqueue', { token, json: { topic: 'sized', payload: 'x'.repeat(99) } }), 400, ['payload']);
    const batch = await api(url, '/api/jobs/enqueue/batch', {
      token,
      json: { jobs: [{ topic: 'sized' }, { topic: 'sized', payload: 'x'.repeat(99) }] },
    });
    expectError(batch, 400, ['jobs.1.payload']);
  });
});

describe('SQLite store options', () => {
  const fx = new EngineFixture('sqlite');
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  const synchronous = async (jobs: Jobs) => Number((await rawQuery(jobs.store, 'pragma synchronous'))[0]!.synchronous);

  it('synchronous: NORMAL by default, FULL when asked, anything else refused', async () => {
    expect(await synchronous(await fx.open())).toBe(1);
    expect(await synchronous(await fx.open({ synchronous: 'NORMAL' }))).toBe(1);
    expect(await synchronous(await fx.open({ synchronous: 'FULL' }))).toBe(2);
    for (const bad of ['OFF', 'full', 'NORMAL; drop table jobs']) {
      await expect(fx.open({ synchronous: bad as JobsOptions['synchronous'] })).rejects.toMatchObject({ code: 'validation' });
    }
    await expect(fx.open({ busyTimeout: -1 })).rejects.toMatchObject({ code: 'validation' });
  });

  it('busyTimeout: a write waits that long for another connection’s lock, then fails unavailable', async () => {
    const short = await fx.open({ busyTimeout: 200 });
    const long = await fx.open({ busyTimeout: 30_000 });
    // The engines migrated already; a store of its own holds the file's write lock (one connection).
    const holder = await openStore(fx.db.url);
    try {
      await rawQuery(holder, 'begin immediate');
      let longDone = false;
      const longEnqueue = long.enqueue('waits').finally(() => (longDone = true));
      const started = Date.now();
      const err = await short.enqueue('gives_up').catch((e: unknown) => e);
      const waited = Date.now() - started;
      expect(err).toBeInstanceOf(JobsError);
      expect((err as JobsError).code).toBe('unavailable');
      expect(waited).toBeGreaterThanOrEqual(180);
      // Far below the 10 s default: the option, not the default, set the wait.
      expect(waited).toBeLessThan(5_000);
      // The long timeout is still waiting; once the lock goes, its write goes through.
      expect(longDone).toBe(false);
      await rawQuery(holder, 'commit');
      const job = await longEnqueue;
      expect((await long.get(job.id)).topic).toBe('waits');
      expect((await short.stats()).total).toBe(1);
    } finally {
      await rawQuery(holder, 'rollback').catch(() => undefined);
      await holder.close();
    }
  });
});

describe.skipIf(!inject('postgres'))('PostgreSQL store options', () => {
  const fx = new EngineFixture('postgres');
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('poolSize: never more connections than the pool plus the listener, and the pool fills up to it', async () => {
    const poolSize = 3;
    const jobs = await fx.open({ poolSize });
    jobs.register('idle', () => undefined);
    jobs.start();
    const database = new URL(fx.db.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: postgresAdminUrl() });
    await admin.connect();
    try {
      const count = async () => {
        const { rows } = await admin.query<{ app: string; n: string }>(
          `select application_name as app, count(*) as n from pg_stat_activity
           where datname = $1 and backend_type = 'client backend' group by application_name`,
          [database],
        );
        return Object.fromEntries(rows.map((r) => [r.app, Number(r.n)]));
      };
      // The migration's own client is closed before createJobs resolves; its backend may take a moment to go.
      await waitFor('the migration connection to end', async () => !('jobbase-migrate' in (await count())));
      await waitFor('the listener to connect', async () => (await count())['jobbase-listener'] === 1);

      let calls = 0;
      const job = await jobs.enqueue('other');
      const work = Array.from({ length: 50 }, (_, i) => {
        // Some calls hold their connection a while, so every one the pool may open is opened.
        const call = i % 5 === 0 ? rawQuery(jobs.store, 'select pg_sleep(0.3)') : i % 2 ? jobs.get(job.id) : jobs.list({ limit: 5 });
        return call.finally(() => calls++);
      });
      const samples: Record<string, number>[] = [];
      while (calls < work.length) samples.push(await count());
      await Promise.all(work);

      const pooled = (s: Record<string, number>) =>
        Object.entries(s).filter(([app]) => app !== 'jobbase-listener').reduce((sum, [, n]) => sum + n, 0);
      expect(Math.max(...samples.map(pooled))).toBe(poolSize);
      expect(Math.max(...samples.map((s) => s['jobbase-listener'] ?? 0))).toBe(1);
    } finally {
      await admin.end();
    }
  });

  it('poolSize below 1 is refused', async () => {
    await expect(fx.open({ poolSize: 0 })).rejects.toMatchObject({ code: 'validation' });
  });
});

describe('engine option checks', () => {
  const fx = new EngineFixture('sqlite');
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  const TIMER = 2_147_483_647;
  const bounded: Array<[keyof JobsOptions, number]> = [
    ['maxPayloadSize', TIMER],
    ['lockDuration', TIMER],
    ['pollInterval', TIMER],
    ['workerPoolSize', 10_000],
    ['batchSize', 10_000],
    ['shutdownTimeout', TIMER],
    ['rescueInterval', TIMER],
    ['cleanupInterval', TIMER],
  ];

  it.each(bounded)('%s: an integer from 1 to %i, each end accepted, anything else refused by name', async (name, max) => {
    for (const ok of [1, max]) await expect(fx.open({ [name]: ok })).resolves.toBeDefined();
    for (const bad of [0, -1, max + 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(fx.open({ [name]: bad })).rejects.toMatchObject({
        code: 'validation',
        message: `Option ${name} must be an integer from 1 to ${max}, got ${String(bad)}.`,
      });
    }
  });

  it('maxRetries: 0 and up accepted, a negative or fractional one refused as max_retries', async () => {
    expect((await (await fx.open({ maxRetries: 0 })).enqueue('t')).maxRetries).toBe(0);
    for (const bad of [-1, 1.5]) {
      await expect(fx.open({ maxRetries: bad })).rejects.toMatchObject({ code: 'validation', fields: { max_retries: expect.anything() } });
    }
  });

  it('retention: any number of ms from 0 per status; a negative or non-finite one refused by name', async () => {
    await expect(fx.open({ retention: { completed: 0, failed: 0 } })).resolves.toBeDefined();
    await expect(fx.open({ retention: { completed: undefined, failed: 1.5 } })).resolves.toBeDefined();
    for (const status of ['completed', 'failed'] as const) {
      for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(fx.open({ retention: { [status]: bad } })).rejects.toMatchObject({
          code: 'validation',
          message: `Option retention.${status} must be a number of ms ≥ 0, got ${String(bad)}.`,
        });
      }
    }
  });
});
