import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobsClient, JobsApiError } from '@jobbase/client';
import { AppFixture, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';

describe.each(dialects())('POST /api/jobs/enqueue/batch on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('stores every job in order, with defaults and options, all in one go', async () => {
    const { url, token, app } = await fx.startSignedIn();
    const runAt = '2030-01-01T00:00:00.000Z';
    const res = await api(url, '/api/jobs/enqueue/batch', {
      token,
      json: {
        jobs: [
          { topic: 'send_email', payload: { to: 'a@example.com' } },
          { topic: 'send_sms', run_at: runAt, max_retries: 0 },
          { topic: 'send_email', payload: [1, 'two', null] },
        ],
      },
    });
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body)).toEqual(['items']);
    expect(res.body.items).toHaveLength(3);
    expect(res.body.items[0]).toMatchObject({ topic: 'send_email', payload: { to: 'a@example.com' }, status: 'pending', max_retries: 3 });
    expect(res.body.items[1]).toMatchObject({ topic: 'send_sms', payload: {}, run_at: runAt, max_retries: 0 });
    expect(res.body.items[2].payload).toEqual([1, 'two', null]);
    for (const item of res.body.items) expect(await app.jobs.get(item.id)).toMatchObject({ topic: item.topic });
    expect((await app.jobs.stats()).total).toBe(3);
  });

  it('is all or nothing: one bad job refuses the batch and names it', async () => {
    const { url, token, app } = await fx.startSignedIn();
    const res = await api(url, '/api/jobs/enqueue/batch', {
      token,
      json: { jobs: [{ topic: 'ok' }, { topic: '' }, { topic: 'ok', max_retries: -1 }] },
    });
    expectError(res, 400, ['jobs.1.topic', 'jobs.2.max_retries']);
    const tooBig = await api(url, '/api/jobs/enqueue/batch', {
      token,
      json: { jobs: [{ topic: 'ok' }, { topic: 'big', payload: 'x'.repeat(1_048_575) }] },
    });
    expectError(tooBig, 400, ['jobs.1.payload']);
    expect((await app.jobs.stats()).total).toBe(0);
  });

  it('refuses an empty batch, more than 1,000 jobs, a missing list and no token', async () => {
    const { url, token } = await fx.startSignedIn();
    expectError(await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: [] } }), 400, ['jobs']);
    const many = Array.from({ length: 1_001 }, () => ({ topic: 't' }));
    expectError(await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: many } }), 400, ['jobs']);
    expectError(await api(url, '/api/jobs/enqueue/batch', { token, json: { topic: 't' } }), 400, ['jobs']);
    expectError(await api(url, '/api/jobs/enqueue/batch', { json: { jobs: [{ topic: 't' }] } }), 401);
    const thousand = Array.from({ length: 1_000 }, (_, i) => ({ topic: 't', payload: { i } }));
    const ok = await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: thousand } });
    expect(ok.status).toBe(200);
    expect(ok.body.items.map((j: { payload: unknown }) => j.payload)).toEqual(thousand.map((j) => j.payload));
  });

  it('the default body limit takes a full batch of jobs with 3 KiB payloads (three times a typical job)', async () => {
    const { url, token, app } = await fx.startSignedIn();
    // About 1 KiB of JSON is a typical payload (an email's address, subject, template and a few
    // line items); 1,000 of them take 1.0 MiB as a batch. The default leaves room for three times that.
    const payload = { to: 'someone@example.com', template: 'order_shipped', text: 'x'.repeat(3 * 1024) };
    const jobs = Array.from({ length: 1_000 }, () => ({ topic: 'send_email', payload, max_retries: 5 }));
    const res = await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs } });
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    expect((await app.jobs.stats()).total).toBe(1_000);
  });

  it('the SDK enqueues many with the library’s option names', async () => {
    const { url, token } = await fx.startSignedIn();
    const client = createJobsClient({ baseUrl: url, token });
    const runAt = new Date('2031-05-01T08:00:00.000Z');
    const made = await client.enqueueMany([
      { topic: 'a', payload: { n: 1 } },
      { topic: 'b', runAt, maxRetries: 7 },
    ]);
    expect(made.map((j) => [j.topic, j.run_at === runAt.toISOString(), j.max_retries])).toEqual([
      ['a', false, 3],
      ['b', true, 7],
    ]);
    const err = await client.enqueueMany([{ topic: 'ok' }, { topic: 'x'.repeat(256) }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobsApiError);
    expect((err as JobsApiError).status).toBe(400);
    expect(Object.keys((err as JobsApiError).data)).toEqual(['jobs.1.topic']);
  });
});
