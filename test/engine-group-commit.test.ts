import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JobsError, createJobs, type InsertWindow, type Jobs } from '@jobbase/server';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { AppFixture, api } from './helpers/app.js';

/**
 * Group commit (docs/architecture.md, "Enqueues share a commit"): single enqueues asked for
 * together are written by one `jobInsertMany`, each caller still answered with its own job once
 * it is committed, and one job's failure stays its caller's.
 */
describe.each(dialects())('enqueues sharing a commit on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  let jobs: Jobs;
  beforeEach(async () => {
    await fx.setup();
    jobs = await fx.open();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    return fx.teardown();
  });

  const spies = () => {
    const write = jobs.store.jobInsert.bind(jobs.store);
    return { many: vi.spyOn(jobs.store, 'jobInsertMany'), one: vi.spyOn(jobs.store, 'jobInsert'), write };
  };

  it('enqueues started together are one statement; each caller gets its own job, as stored', async () => {
    const { many, one } = spies();
    const made = await Promise.all(Array.from({ length: 25 }, (_, n) => jobs.enqueue(`topic-${n % 3}`, { n })));
    expect(many).toHaveBeenCalledTimes(1);
    expect(many.mock.calls[0]![0]).toHaveLength(25);
    expect(one).not.toHaveBeenCalled();
    made.forEach((job, n) => expect(job).toMatchObject({ topic: `topic-${n % 3}`, payload: { n }, status: 'pending', enqueued: 'created' }));
    expect(new Set(made.map((j) => j.id)).size).toBe(25);
    for (const { enqueued, ...job } of made) expect(await jobs.get(job.id)).toEqual(job);
    expect((await jobs.stats()).total).toBe(25);
  });

  it('an enqueue awaited before the next is written alone, by the single-row statement', async () => {
    const { many, one } = spies();
    for (let n = 0; n < 3; n++) await jobs.enqueue('serial', { n });
    expect(one).toHaveBeenCalledTimes(3);
    expect(many).not.toHaveBeenCalled();
  });

  it('window "turn" also gathers the enqueues of other callbacks of the same turn; "microtask" does not', async () => {
    const { many, one } = spies();
    const fromCallbacks = (window: InsertWindow) =>
      Promise.all(
        [1, 2, 3].map(
          (n) => new Promise((resolve, reject) => setImmediate(() => jobs.enqueueWithOptions('cb', { n, window }, {}, window).then(resolve, reject))),
        ),
      );
    await fromCallbacks('turn');
    expect(many).toHaveBeenCalledTimes(1);
    expect(many.mock.calls[0]![0]).toHaveLength(3);
    expect(one).not.toHaveBeenCalled();
    await fromCallbacks('microtask');
    expect(many).toHaveBeenCalledTimes(1);
    expect(one).toHaveBeenCalledTimes(3);
    expect((await jobs.stats()).total).toBe(6);
  });

  it('a batch that fails is written one by one: the job that cannot be written fails alone', async () => {
    const { many, one, write } = spies();
    many.mockRejectedValueOnce(new Error('the batch failed'));
    one.mockImplementation((p) => (p.topic === 'bad' ? Promise.reject(new Error('this one cannot be written')) : write(p)));
    const results = await Promise.allSettled(['good', 'bad', 'good'].map((topic, n) => jobs.enqueue(topic, { n })));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('this one cannot be written');
    expect(one).toHaveBeenCalledTimes(3);
    const stored = await jobs.list({ topic: 'good' });
    expect(stored.items.map((j) => j.payload).sort((a, b) => (a as { n: number }).n - (b as { n: number }).n)).toEqual([{ n: 0 }, { n: 2 }]);
  });

  it('a database unavailable to the batch answers every caller at once, with no retry one by one', async () => {
    const { many, one } = spies();
    const down = new JobsError('unavailable', 'The database is unavailable: test');
    many.mockRejectedValueOnce(down);
    const results = await Promise.allSettled([1, 2, 3].map((n) => jobs.enqueue('t', { n })));
    expect(results.map((r) => (r.status === 'rejected' ? r.reason : r.value))).toEqual([down, down, down]);
    expect(one).not.toHaveBeenCalled();
  });

  it('a burst larger than a batch is written in batches of 500, every job once', async () => {
    const { many } = spies();
    const made = await Promise.all(Array.from({ length: 1_200 }, (_, n) => jobs.enqueue('burst', { n })));
    expect(many.mock.calls.map(([items]) => items.length)).toEqual([500, 500, 200]);
    expect(made.map((j) => (j.payload as { n: number }).n)).toEqual(Array.from({ length: 1_200 }, (_, n) => n));
    expect((await jobs.stats()).total).toBe(1_200);
  });

  it('close() writes the enqueues asked for before it', async () => {
    const asked = [1, 2, 3].map((n) => jobs.enqueueWithOptions('late', { n }, {}, 'turn'));
    await jobs.close();
    await expect(Promise.all(asked)).resolves.toHaveLength(3);
    const reopened = await createJobs({ database: fx.db.url });
    try {
      expect((await reopened.stats()).total).toBe(3);
    } finally {
      await reopened.close();
    }
  });
});

describe.each(dialects())('HTTP enqueues sharing a commit on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => {
    vi.restoreAllMocks();
    return fx.teardown();
  });

  it('concurrent requests are each answered with their own job, once it is stored', async () => {
    const { app, url, token } = await fx.startSignedIn();
    const many = vi.spyOn(app.jobs.store, 'jobInsertMany');
    const one = vi.spyOn(app.jobs.store, 'jobInsert');
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, n) => api(url, '/api/jobs/enqueue', { token, json: { topic: `t${n % 4}`, payload: { n } } })),
    );
    answers.forEach((res, n) => {
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ topic: `t${n % 4}`, payload: { n }, status: 'pending', enqueued: 'created' });
    });
    expect(new Set(answers.map((r) => r.body.id)).size).toBe(40);
    // Every job written once, by one statement or another.
    const written = many.mock.calls.reduce((sum, [items]) => sum + items.length, 0) + one.mock.calls.length;
    expect(written).toBe(40);
    for (const res of answers) {
      const { enqueued, ...job } = res.body;
      expect((await api(url, `/api/jobs/${job.id}`, { token })).body).toEqual(job);
    }
  });
});
