import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobsClient, JobsApiError } from '@jobbase/client';
import { AppFixture, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';

const PRIORITY_MESSAGE = 'priority must be an integer from -32768 to 32767.';

describe.each(dialects())('job controls over HTTP and the SDK on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('enqueue takes priority and answers it with snoozes 0; without one, 0', async () => {
    const { url, token } = await fx.startSignedIn();
    const urgent = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'mail', priority: -32_768 } });
    expect(urgent.status, urgent.text).toBe(200);
    expect(urgent.body).toMatchObject({ priority: -32_768, snoozes: 0 });
    const plain = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'mail' } });
    expect(plain.body).toMatchObject({ priority: 0, snoozes: 0 });
    const got = await api(url, `/api/jobs/${urgent.body.id}`, { token });
    expect(got.body).toMatchObject({ priority: -32_768, snoozes: 0 });
  });

  it('refuses a bad priority with a 400 naming it, alone and in a batch, storing nothing', async () => {
    const { url, token, app } = await fx.startSignedIn();
    for (const priority of [32_768, -32_769, 1.5, '3', null, true]) {
      const res = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'mail', priority } });
      expectError(res, 400, ['priority']);
      expect(res.body.data.priority.message).toBe(PRIORITY_MESSAGE);
    }
    const batch = await api(url, '/api/jobs/enqueue/batch', {
      token,
      json: { jobs: [{ topic: 'mail', priority: 1 }, { topic: 'mail', priority: 99_999 }] },
    });
    expectError(batch, 400, ['jobs.1.priority']);
    expect(batch.body.data['jobs.1.priority'].message).toBe(PRIORITY_MESSAGE);
    expect((await app.jobs.stats()).total).toBe(0);
  });

  it('the batch route stores each job’s priority', async () => {
    const { url, token } = await fx.startSignedIn();
    const res = await api(url, '/api/jobs/enqueue/batch', {
      token,
      json: { jobs: [{ topic: 'a', priority: 7 }, { topic: 'b' }, { topic: 'c', priority: -7 }] },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.items.map((j: { priority: number; snoozes: number }) => [j.priority, j.snoozes])).toEqual([
      [7, 0],
      [0, 0],
      [-7, 0],
    ]);
  });

  it('lists by priority: ?priority= filters, ?sort=priority pages in run order, bad values are 400s', async () => {
    const { url, token, app } = await fx.startSignedIn();
    const past = new Date(Date.now() - 60_000);
    const made = await app.jobs.enqueueMany([5, -1, 5, 0].map((priority) => ({ topic: 'mail', priority, runAt: past })));
    const ids = (res: { body: { items: { id: string }[] } }) => res.body.items.map((j) => j.id);

    const filtered = await api(url, '/api/jobs?priority=5', { token });
    expect(filtered.body.total).toBe(2);
    expect(new Set(ids(filtered))).toEqual(new Set([made[0]!.id, made[2]!.id]));
    const sorted = await api(url, '/api/jobs?sort=priority&status=pending&limit=3', { token });
    expect(ids(sorted)).toEqual([made[1]!.id, made[3]!.id, made[0]!.id]);
    const next = await api(url, '/api/jobs?sort=priority&status=pending&limit=3&offset=3', { token });
    expect(ids(next)).toEqual([made[2]!.id]);
    // Sent empty, both are the defaults.
    const plain = await api(url, '/api/jobs?priority=&sort=', { token });
    expect(plain.body.total).toBe(4);
    expect(ids(plain)).toEqual([...made].reverse().map((j) => j.id));

    for (const query of ['priority=abc', 'priority=1.5', 'priority=40000']) {
      const res = await api(url, `/api/jobs?${query}`, { token });
      expectError(res, 400, ['priority']);
      expect(res.body.data.priority.message, query).toBe(PRIORITY_MESSAGE);
    }
    const badSort = await api(url, '/api/jobs?sort=created', { token });
    expectError(badSort, 400, ['sort']);
    expect(badSort.body.data.sort.message).toBe('sort must be -created or priority.');
  });

  it('topics the server registered with defaults give them to jobs enqueued over HTTP without their own', async () => {
    const { url, token, app } = await fx.startSignedIn();
    app.jobs.register('report', () => {}, { maxRetries: 9, priority: -3 });
    const defaults = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'report', run_at: '2099-01-01T00:00:00Z' } });
    expect(defaults.body).toMatchObject({ max_retries: 9, priority: -3 });
    const own = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'report', max_retries: 1, priority: 4 } });
    expect(own.body).toMatchObject({ max_retries: 1, priority: 4 });
    const batch = await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: [{ topic: 'report', run_at: '2099-01-01T00:00:00Z' }] } });
    expect(batch.body.items[0]).toMatchObject({ max_retries: 9, priority: -3 });
  });

  it('the SDK sends priority on enqueue and in a batch, lists by priority, and reads snoozes', async () => {
    const { url, token } = await fx.startSignedIn();
    const client = createJobsClient({ baseUrl: url, token });
    const one = await client.enqueueWithOptions('mail', { to: 'a' }, { priority: 12, runAt: new Date(Date.now() - 1_000) });
    expect(one).toMatchObject({ priority: 12, snoozes: 0 });
    const many = await client.enqueueMany([
      { topic: 'mail', priority: -12 },
      { topic: 'mail', priority: 12 },
    ]);
    expect(many.map((j) => j.priority)).toEqual([-12, 12]);
    const page = await client.list({ sort: 'priority', priority: 12 });
    expect(page.items.map((j) => j.id)).toEqual([one.id, many[1]!.id]);
    expect((await client.list({ sort: 'priority' })).items[0]!.id).toBe(many[0]!.id);

    const err = await client.enqueueWithOptions('mail', {}, { priority: 1e9 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobsApiError);
    expect(err).toMatchObject({ status: 400, data: { priority: { message: PRIORITY_MESSAGE } } });
  });
});
