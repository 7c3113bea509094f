import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createJobs, type Jobs, type JobsOptions } from '@jobbase/server';
import { migrationNames, rawQuery, toDate } from '@jobbase/server/testing';
import { api, AppFixture } from './helpers/app.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from './helpers/databases.js';
import { capturedLogger } from './helpers/logs.js';
import { codeBlocks } from './helpers/markdown-blocks.js';
import { PgBouncer, pgbouncerIni, pgbouncerMissing } from './helpers/pgbouncer.js';
import { prerequisite } from './helpers/prerequisites.js';
import { WorkerProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

/*
 * Everything through Debian's PgBouncer in transaction mode (test/helpers/pgbouncer.ts), where
 * consecutive queries of one connection run on different server connections and nothing kept in
 * a session survives: named prepared statements, session advisory locks, LISTEN.
 */

const missing = pgbouncerMissing();
const runs = postgresAvailable() && prerequisite(missing === null, `the PgBouncer tests cannot run: ${missing}`);

const CLI = fileURLToPath(new URL('../server/dist/cli.js', import.meta.url));

/** `jobbase serve` on a free port with `args` and `env` (nothing else from JOBBASE_*), logging at info. */
function serve(args: string[], env: Record<string, string> = {}) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('JOBBASE_')));
  const child = spawn(process.execPath, [CLI, 'serve', '--http', '127.0.0.1:0', ...args], {
    env: { ...inherited, JOBBASE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { output: () => output, exited, stop: () => (child.kill('SIGTERM'), exited) };
}

const MIGRATIONS = migrationNames.postgres;

it('docs/scaling.md shows the configuration these tests run PgBouncer with', async () => {
  const blocks = codeBlocks(await readFile(new URL('../docs/scaling.md', import.meta.url), 'utf8')).filter((b) => b.lang === 'ini');
  expect(blocks.map((b) => b.code)).toEqual([pgbouncerIni('postgres://postgres@127.0.0.1:5432/test', 6432, '/etc/pgbouncer/userlist.txt')]);
});

it('listenUrl is a postgres:// URL or false; anything else is refused before the database is opened', async () => {
  for (const listenUrl of ['mysql://db/jobs', '', 42]) {
    await expect(createJobs({ database: 'sqlite::memory:', listenUrl: listenUrl as string })).rejects.toMatchObject({
      code: 'validation',
      message: 'Option listenUrl must be a postgres:// URL or false.',
    });
  }
});

describe.skipIf(!runs)('through PgBouncer in transaction mode', () => {
  let bouncer: PgBouncer;
  let db: TestDatabase;
  const engines: Jobs[] = [];
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    bouncer = await PgBouncer.start();
  });
  afterAll(() => bouncer?.stop());
  beforeEach(async () => {
    db = await createTestDatabase('postgres');
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill9()));
    await Promise.all(engines.splice(0).map((j) => j.close().catch(() => undefined)));
    await db.drop();
  });

  /** An engine whose every query goes through PgBouncer; fast polling unless overridden. */
  async function open(options: JobsOptions = {}, database = bouncer.urlFor(db.url)): Promise<Jobs> {
    const jobs = await createJobs({ database, pollInterval: 100, backoff: { base: 20, max: 100 }, shutdownTimeout: 2_000, ...options });
    engines.push(jobs);
    return jobs;
  }

  it('migrates a new, empty database (more processes at once than server connections), then runs work under load', async () => {
    // Those waiting for the migration lock must not hold server connections while they wait:
    // the one migrating needs one more than its lock's.
    const opened = await Promise.all(Array.from({ length: 6 }, () => open({ listenUrl: false })));
    const applied = opened.map((j) => j.store.opening.migrationsApplied).sort((a, b) => b.length - a.length);
    expect(applied).toEqual([MIGRATIONS, [], [], [], [], []]);

    // 10 connections of each engine's pool over 4 server connections, 300 jobs enqueued and
    // run at once: a statement prepared on one server connection would be asked for on another.
    const [worker, ...producers] = opened;
    const ran = new Set<string>();
    worker!.register('work', async (job) => {
      ran.add(job.id);
    });
    worker!.start();
    const jobs = (
      await Promise.all(producers.map((p) => Promise.all(Array.from({ length: 60 }, (_, i) => p.enqueue('work', { i })))))
    ).flat();
    await waitFor('every job to complete', async () => (await worker!.stats()).completed === jobs.length);
    expect(ran.size).toBe(jobs.length);
    expect(await worker!.stats()).toMatchObject({ pending: 0, processing: 0, completed: 300, failed: 0 });
  });

  it('a schedule fired by two engines through PgBouncer makes one job per tick (the firing is one transaction on one server connection)', async () => {
    const schedules = [{ name: 'every-second', cron: '* * * * * *', topic: 'tick' }];
    const [a, b] = await Promise.all([0, 1].map(() => open({ listenUrl: false, scheduleInterval: 100, schedules })));
    a!.start();
    b!.start();
    const ticks = async () =>
      (await rawQuery(a!.store, 'select schedule_tick from jobs where schedule_name = ?', ['every-second'])).map((r) => toDate(r.schedule_tick).getTime()).sort((x, y) => x - y);
    await waitFor('four ticks', async () => (await ticks()).length >= 4);
    await Promise.all([a!.stop(), b!.stop()]);
    const made = await ticks();
    expect(new Set(made).size).toBe(made.length);
    expect(made.slice(1).filter((t, i) => t - made[i]! !== 1000)).toEqual([]);
  });

  it('queries are named prepared statements on a direct connection, and unnamed ones through PgBouncer', async () => {
    const preparedOn = async (jobs: Jobs) => {
      await jobs.enqueue('x');
      await jobs.store.jobClaim({ topics: ['x'], limit: 1, lockDuration: 60_000 });
      const rows = await rawQuery<{ name: string }>(jobs.store, 'select name from pg_prepared_statements');
      return rows.map((r) => r.name);
    };
    // One connection each, so the query that lists them runs where the others ran.
    const direct = await open({ listenUrl: false, poolSize: 1 }, db.url);
    expect((await preparedOn(direct)).filter((name) => name.startsWith('jb_')).length).toBeGreaterThanOrEqual(2);
    const pooled = await open({ listenUrl: false, poolSize: 1 });
    expect(await preparedOn(pooled)).toEqual([]);
  });

  it('a failed attempt is retried, and a job whose worker died is rescued once its lock expires', async () => {
    const jobs = await open({ listenUrl: false, lockDuration: 500, rescueInterval: 100 });
    const orphan = await jobs.enqueue('orphan');
    // A worker that claimed the job and died: its lock runs out and nobody completes it.
    expect(await jobs.store.jobClaim({ topics: ['orphan'], limit: 1, lockDuration: 1 })).toHaveLength(1);
    const flaky = await jobs.enqueue('flaky');
    const attempts: { id: string; retries: number; lastError: string | null }[] = [];
    const record = async (job: { id: string; retries: number; lastError: string | null }) => {
      attempts.push({ id: job.id, retries: job.retries, lastError: job.lastError });
    };
    jobs.register('orphan', record);
    jobs.register('flaky', async (job) => {
      await record(job);
      if (job.retries === 0) throw new Error('first attempt fails');
    });
    jobs.start();
    await waitFor('both jobs to complete', async () => (await jobs.stats()).completed === 2);
    expect(attempts.filter((a) => a.id === flaky.id)).toEqual([
      { id: flaky.id, retries: 0, lastError: null },
      { id: flaky.id, retries: 1, lastError: 'first attempt fails' },
    ]);
    expect(attempts.filter((a) => a.id === orphan.id)).toEqual([
      { id: orphan.id, retries: 1, lastError: expect.stringMatching(/^Lock expired after 500 ms/) },
    ]);
  });

  it('retention deletes finished jobs, and the kept counts are right once the compactor folded them', async () => {
    const jobs = await open({ listenUrl: false, retention: { completed: 0 }, cleanupInterval: 100 });
    jobs.register('kept', async () => undefined);
    jobs.register('broken', async () => {
      throw new Error('no');
    });
    await jobs.enqueueMany(Array.from({ length: 40 }, () => ({ topic: 'kept' })));
    await jobs.enqueueMany(Array.from({ length: 5 }, () => ({ topic: 'broken', maxRetries: 0 })));
    await jobs.enqueue('later');
    jobs.start();
    await waitFor('the completed jobs to be deleted', async () => {
      const [row] = await rawQuery<{ n: string }>(jobs.store, `select count(*) as n from jobs where topic = 'kept'`);
      const stats = await jobs.stats();
      return Number(row!.n) === 0 && stats.failed === 5;
    });
    // The compactor (every 5 s) folds the count deltas into one row per topic and status.
    const counts = () => rawQuery<{ topic: string; status: string; n: string }>(jobs.store, 'select topic, status, n from job_counts order by topic, status');
    await waitFor('the counts to be compacted', async () => (await counts()).length === 2, { timeout: 20_000 });
    expect((await counts()).map((r) => [r.topic, r.status, Number(r.n)])).toEqual([
      ['broken', 'failed', 5],
      ['later', 'pending', 1],
    ]);
    expect(await jobs.stats()).toEqual({ pending: 1, processing: 0, completed: 0, failed: 5, total: 6, success_rate: 0 });
  });

  it('the HTTP server enqueues and lists through it', async () => {
    const fx = new AppFixture('postgres');
    fx.db = db;
    const { url, token } = await fx.startSignedIn({ database: bouncer.urlFor(db.url), listenUrl: false });
    try {
      const enqueued = await Promise.all(
        Array.from({ length: 20 }, (_, i) => api(url, '/api/jobs/enqueue', { method: 'POST', token, json: { topic: 'web', payload: { i } } })),
      );
      expect(enqueued.map((r) => r.status)).toEqual(Array(20).fill(200));
      const list = await api(url, '/api/jobs?topic=web&limit=50', { token });
      expect(list.status).toBe(200);
      expect(list.body.total).toBe(20);
      expect(new Set(list.body.items.map((j: { id: string }) => j.id))).toEqual(new Set(enqueued.map((r) => r.body.id)));
      expect((await api(url, '/api/jobs/stats', { token })).body).toMatchObject({ pending: 20, total: 20 });
    } finally {
      await Promise.all(fx.apps.splice(0).map((a) => a.close()));
    }
  });

  it('with listenUrl a direct connection, a job enqueued by another process starts within 2 s, with a 10 s poll interval', async () => {
    const worker = new WorkerProcess({
      database: bouncer.urlFor(db.url),
      topic: 'ping',
      options: { pollInterval: 10_000, listenUrl: db.url },
    });
    workers.push(worker);
    await worker.ready();
    const producer = await open({ listenUrl: false });
    // Twice: the first may be found by the claim the worker makes once its LISTEN is in place.
    for (let i = 0; i < 2; i++) {
      const enqueued = Date.now();
      const job = await producer.enqueue('ping');
      const started = await waitFor('the job to start', () => worker.started().find((s) => s.id === job.id), { timeout: 2_000 });
      expect(started.at - enqueued).toBeLessThan(2_000);
    }
  });

  it('without listenUrl it says once that LISTEN goes through a pooler, and finds jobs by polling', async () => {
    const { logger, entries } = capturedLogger();
    const jobs = await open({ logger, pollInterval: 200 });
    const ran: string[] = [];
    jobs.register('poll', async (job) => {
      ran.push(job.id);
    });
    jobs.start();
    await waitFor('the fallback to be logged', () => entries('goes through a pooler').length > 0);
    for (let i = 0; i < 3; i++) {
      const job = await jobs.store.jobInsert({ id: crypto.randomUUID(), topic: 'poll', payloadJson: '{}', runAt: new Date(), maxRetries: 0, priority: 0 });
      await waitFor('the job to run', () => ran.includes(job.id));
    }
    expect(entries('goes through a pooler')).toEqual([expect.objectContaining({ level: 'warn' })]);
    expect(entries('LISTEN')).toHaveLength(1);
  });

  it('listenUrl: false says so once at start and runs jobs by polling', async () => {
    const { logger, entries } = capturedLogger();
    const jobs = await open({ logger, pollInterval: 200, listenUrl: false });
    jobs.register('poll', async () => undefined);
    jobs.start();
    const job = await jobs.enqueue('poll');
    await waitFor('the job to complete', async () => (await jobs.get(job.id)).status === 'completed');
    expect(entries('LISTEN')).toEqual([expect.objectContaining({ level: 'info', msg: expect.stringContaining('listenUrl: false') })]);
  });

  it('serve --listen-url / JOBBASE_LISTEN_URL: off polls, a URL is where it LISTENs, anything else exits 1', async () => {
    const off = serve(['--db', bouncer.urlFor(db.url), '--listen-url', 'off']);
    await waitFor('LISTEN off to be logged', () => off.output().includes('LISTEN is off (listenUrl: false)'));
    expect(await off.stop()).toBe(0);

    // The variable points the listener at PgBouncer while --db is direct: only it can make the warning.
    const fromEnv = serve(['--db', db.url], { JOBBASE_LISTEN_URL: bouncer.urlFor(db.url) });
    await waitFor('the pooler warning', () => fromEnv.output().includes('LISTEN connection goes through a pooler'));
    expect(await fromEnv.stop()).toBe(0);

    const bad = serve(['--db', db.url, '--listen-url', 'mysql://db/jobs']);
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('Expected a postgres:// URL or off, got "mysql://db/jobs".');
  });
});
