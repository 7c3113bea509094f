import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobContext } from '@jobbase/server';
import { AppFixture, api, expectError, type ApiResponse } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { deferred, waitFor } from './helpers/wait.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const JOB_FIELDS = [
  'created',
  'id',
  'last_error',
  'max_retries',
  'payload',
  'priority',
  'retries',
  'run_at',
  'schedule_name',
  'schedule_tick',
  'snoozes',
  'status',
  'topic',
  'unique_key',
  'unique_states',
  'updated',
];
const UNKNOWN_ID = '01900000-0000-7000-8000-000000000000';
const MIB = 1_048_576;

/** A job in an answer; an enqueue's answer (`enqueued` given) has that field too, no other answer has it. */
function expectJob(res: ApiResponse, expected: Record<string, unknown> = {}, enqueued?: 'created'): void {
  expect(res.status, res.text).toBe(200);
  const job = res.body;
  expect(Object.keys(job).sort()).toEqual(enqueued ? [...JOB_FIELDS, 'enqueued'].sort() : JOB_FIELDS);
  if (enqueued) expect(job.enqueued).toBe(enqueued);
  expect(job.id).toMatch(UUID_V7);
  expect(job.topic).toEqual(expect.any(String));
  expect(['pending', 'processing', 'completed', 'failed']).toContain(job.status);
  for (const time of [job.run_at, job.created, job.updated]) expect(time).toMatch(ISO_UTC);
  expect(Number.isInteger(job.retries)).toBe(true);
  expect(Number.isInteger(job.max_retries)).toBe(true);
  expect(Number.isInteger(job.priority)).toBe(true);
  expect(Number.isInteger(job.snoozes)).toBe(true);
  expect(job.last_error === null || typeof job.last_error === 'string').toBe(true);
  expect(job).toMatchObject(expected);
}

describe.each(dialects())('HTTP API on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('GET /api/health answers without auth, with security headers', async () => {
    const { url } = await fx.start();
    const res = await api(url, '/api/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ code: 200, message: 'API is healthy.', data: {} });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBeTruthy();
    expect(res.headers.get('content-security-policy')).toBeTruthy();
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('GET /api/ (the address the start banner shows) answers an index of the API, without auth', async () => {
    const { url } = await fx.start();
    for (const path of ['/api/', '/api']) {
      const res = await api(url, path);
      expect(res.status, `${path}: ${res.text}`).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        name: 'Jobbase',
        version: expect.stringMatching(/^\d+\.\d+\.\d+/),
        links: {
          health: '/api/health',
          docs: '/api/docs',
          openapi: '/api/docs/openapi.json',
          signIn: '/api/collections/_superusers/auth-with-password',
          jobs: '/api/jobs',
          admin: '/_/',
        },
      });
    }
    // Every link leads somewhere: the jobs one asks for a token.
    const { links } = (await api(url, '/api/')).body as { links: Record<string, string> };
    for (const [name, link] of Object.entries(links)) {
      const res = await fetch(url + link, { method: name === 'signIn' ? 'POST' : 'GET' });
      expect([200, 400, 401], `${name} ${link}`).toContain(res.status);
    }
  });

  it('401 on every /api/jobs route without a token or with a bad one', async () => {
    const { url } = await fx.startSignedIn();
    const routes: [string, string, unknown?][] = [
      ['POST', '/api/jobs/enqueue', { topic: 't' }],
      ['GET', '/api/jobs'],
      ['GET', '/api/jobs/stats'],
      ['GET', `/api/jobs/${UNKNOWN_ID}`],
      ['POST', `/api/jobs/${UNKNOWN_ID}/requeue`],
      ['DELETE', `/api/jobs/${UNKNOWN_ID}`],
      ['GET', '/api/jobs/no/such/route'],
    ];
    for (const [method, path, json] of routes) {
      for (const token of [undefined, '', 'garbage', 'Bearer garbage', 'Bearer ', 'a.b.c']) {
        const res = await api(url, path, { method, json, token });
        expectError(res, 401);
        expect(res.body).toEqual({
          status: 401,
          message: 'The request requires valid record authorization token.',
          data: {},
        });
      }
    }
  });

  it('POST /api/jobs/enqueue answers the job with every field typed', async () => {
    const { url, token } = await fx.startSignedIn();
    const before = Date.now();
    const res = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'send_email', payload: { to: 'a@b.c' } } });
    expectJob(res, {
      topic: 'send_email',
      payload: { to: 'a@b.c' },
      status: 'pending',
      retries: 0,
      max_retries: 3,
      last_error: null,
      unique_key: null,
      unique_states: null,
    }, 'created');
    expect(Date.parse(res.body.run_at)).toBeGreaterThanOrEqual(before - 5);
    expect(res.body.created).toBe(res.body.updated);

    const get = await api(url, `/api/jobs/${res.body.id}`, { token });
    expectJob(get);
    const { enqueued: _, ...stored } = res.body;
    expect(get.body).toEqual(stored);
  });

  it('enqueue takes run_at (any offset, answered in UTC), max_retries 0 and any JSON payload', async () => {
    const { url, token } = await fx.startSignedIn();
    const scheduled = await api(url, '/api/jobs/enqueue', {
      token: `Bearer ${token}`,
      json: { topic: 'later', payload: [1, 'two'], run_at: '2030-01-01T12:00:00+02:00', max_retries: 0 },
    });
    expectJob(scheduled, { run_at: '2030-01-01T10:00:00.000Z', max_retries: 0, payload: [1, 'two'] }, 'created');

    const omitted = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'x' } });
    expectJob(omitted, { payload: {} }, 'created');
    for (const payload of [null, 'text', 42, true, { nested: { deep: [null] } }]) {
      expectJob(await api(url, '/api/jobs/enqueue', { token, json: { topic: 'x', payload } }), { payload }, 'created');
    }
    expectJob(await api(url, '/api/jobs/enqueue', { token, json: { topic: 't'.repeat(255) } }), {}, 'created');
  });

  it('enqueue refuses a bad body with 400 and the field in data', async () => {
    const { url, token } = await fx.startSignedIn();
    const cases: [unknown, string][] = [
      [{}, 'topic'],
      [{ payload: {} }, 'topic'],
      [{ topic: '' }, 'topic'],
      [{ topic: null }, 'topic'],
      [{ topic: 5 }, 'topic'],
      [{ topic: 't'.repeat(256) }, 'topic'],
      [{ topic: 't', run_at: 'tomorrow' }, 'run_at'],
      [{ topic: 't', run_at: '2025-13-01T00:00:00Z' }, 'run_at'],
      [{ topic: 't', run_at: '2025-02-30T00:00:00Z' }, 'run_at'],
      [{ topic: 't', run_at: 1736337600000 }, 'run_at'],
      [{ topic: 't', max_retries: -1 }, 'max_retries'],
      [{ topic: 't', max_retries: 1.5 }, 'max_retries'],
      [{ topic: 't', max_retries: '3' }, 'max_retries'],
      [{ topic: 't', max_retries: null }, 'max_retries'],
      [{ topic: 't', max_retries: 2 ** 31 }, 'max_retries'],
    ];
    for (const [json, field] of cases) {
      const res = await api(url, '/api/jobs/enqueue', { token, json });
      expectError(res, 400, [field]);
    }
    const listed = await api(url, '/api/jobs', { token });
    expect(listed.body.total).toBe(0);
  });

  it('a payload of exactly 1 MiB of JSON is accepted, 1 MiB + 1 byte is refused (UTF-8 bytes count)', async () => {
    const { url, token } = await fx.startSignedIn();
    // A JSON string of n characters is n + 2 bytes: its quotes.
    const exact = 'x'.repeat(MIB - 2);
    const accepted = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'big', payload: exact } });
    expectJob(accepted, {}, 'created');
    expect(accepted.body.payload).toBe(exact);

    const over = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'big', payload: exact + 'x' } });
    expectError(over, 400, ['payload']);

    // 'é' is 2 bytes of UTF-8 but 1 character.
    const wide = 'é'.repeat((MIB - 2) / 2);
    expectJob(await api(url, '/api/jobs/enqueue', { token, json: { topic: 'big', payload: wide } }), {}, 'created');
    expectError(await api(url, '/api/jobs/enqueue', { token, json: { topic: 'big', payload: wide + 'é' } }), 400, ['payload']);
  });

  it('a body over the body limit is 413 with the error shape, naming the setting', async () => {
    const { url, token } = await fx.startSignedIn();
    const res = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'big', payload: 'x'.repeat(5 * MIB) } });
    expectError(res, 413);
    expect(res.body.message).toBe('The request body is larger than the 4MB limit (serve --body-limit / JOBBASE_BODY_LIMIT).');
    expect((await api(url, '/api/health')).status).toBe(200);
    const small = await fx.startSignedIn({ bodyLimit: 64 * 1024 });
    const over = await api(small.url, '/api/jobs/enqueue', { token: small.token, json: { topic: 'big', payload: 'x'.repeat(65 * 1024) } });
    expect(over.body).toEqual({
      status: 413,
      message: 'The request body is larger than the 64KB limit (serve --body-limit / JOBBASE_BODY_LIMIT).',
      data: {},
    });
  });

  it('malformed JSON is 400 and the server still answers', async () => {
    const { url, token } = await fx.startSignedIn();
    for (const raw of ['{"topic": ', '{topic: "x"}', '"just a string"', 'nul', '\u0000']) {
      expectError(await api(url, '/api/jobs/enqueue', { token, raw }), 400);
    }
    expectError(await api(url, '/api/jobs/enqueue', { token, raw: '[]' }), 400);
    expectError(await api(url, '/api/collections/_superusers/auth-with-password', { raw: '{"identity":' }), 400);
    expect((await api(url, '/api/health')).status).toBe(200);
    expectJob(await api(url, '/api/jobs/enqueue', { token, json: { topic: 'after' } }), {}, 'created');
  });

  it('odd requests get a 4xx, never a 500', async () => {
    const { url, token } = await fx.startSignedIn();
    const requests: [string, Parameters<typeof api>[2]][] = [
      ['/api/jobs/enqueue', { token, raw: 'topic=x', headers: { 'content-type': 'text/plain' } }],
      ['/api/jobs/enqueue', { token, raw: '{"topic":"x"}', headers: { 'content-type': 'application/json; charset=latin1' } }],
      ['/api/jobs/enqueue', { token, raw: 'not gzip', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } }],
      ['/api/jobs/%E0%A4%A', { token }],
      ['/api/jobs?limit=1&limit=2', { token }],
      ['/api/jobs?status=pending&status=failed', { token }],
      ['/api/jobs?topic[x]=1&offset[]=2', { token }],
      [`/api/jobs/${'a'.repeat(5000)}`, { token }],
      ['/api/jobs/enqueue', { token, json: { topic: 't', payload: { __proto__: { polluted: true } } } }],
      ['/api/collections/_superusers/auth-with-password', { json: { identity: { $ne: '' }, password: ['x'] } }],
      ['/api/collections/_superusers/auth-with-password', { json: { identity: 'a@b.c', password: 'x'.repeat(2000) } }],
    ];
    for (const [path, request] of requests) {
      const res = await api(url, path, request);
      expect(res.status, `${path}: ${res.text}`).toBeLessThan(500);
      if (res.status >= 400) expectError(res, res.status);
    }
    expect((await api(url, '/api/health')).status).toBe(200);
  });

  it('GET /api/jobs: newest first, default limit 20, paging and total', async () => {
    const { app, url, token } = await fx.startSignedIn();
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push((await app.jobs.enqueue(i % 2 ? 'odd' : 'even', { i })).id);
    const newestFirst = [...ids].reverse();

    const first = await api(url, '/api/jobs', { token });
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(['items', 'limit', 'offset', 'total']);
    expect(first.body).toMatchObject({ total: 25, limit: 20, offset: 0 });
    expect(first.body.items.map((j: { id: string }) => j.id)).toEqual(newestFirst.slice(0, 20));
    for (const job of first.body.items) expectJob({ ...first, body: job });

    const second = await api(url, '/api/jobs?limit=10&offset=20', { token });
    expect(second.body).toMatchObject({ total: 25, limit: 10, offset: 20 });
    expect(second.body.items.map((j: { id: string }) => j.id)).toEqual(newestFirst.slice(20));

    const beyond = await api(url, '/api/jobs?offset=100', { token });
    expect(beyond.body).toMatchObject({ items: [], total: 25, offset: 100 });

    expect((await api(url, '/api/jobs?limit=1', { token })).body.items).toHaveLength(1);
    expect((await api(url, '/api/jobs?limit=500', { token })).body.items).toHaveLength(25);
  });

  it('GET /api/jobs filters by topic and status', async () => {
    const { app, url, token } = await fx.startSignedIn();
    app.jobs.register('beta', () => {
      throw new Error('beta breaks');
    });
    for (let i = 0; i < 3; i++) await app.jobs.enqueue('alpha', { i });
    for (let i = 0; i < 2; i++) await app.jobs.enqueueWithOptions('beta', { i }, { maxRetries: 0 });
    app.jobs.start();
    await waitFor('beta jobs failed', async () => (await app.jobs.stats()).failed === 2);

    const alpha = await api(url, '/api/jobs?topic=alpha', { token });
    expect(alpha.body.total).toBe(3);
    expect(alpha.body.items.every((j: { topic: string }) => j.topic === 'alpha')).toBe(true);

    const failed = await api(url, '/api/jobs?status=failed', { token });
    expect(failed.body.total).toBe(2);
    for (const job of failed.body.items) expect(job).toMatchObject({ topic: 'beta', status: 'failed', last_error: 'beta breaks' });

    expect((await api(url, '/api/jobs?topic=beta&status=failed', { token })).body.total).toBe(2);
    expect((await api(url, '/api/jobs?topic=alpha&status=failed', { token })).body).toMatchObject({ items: [], total: 0 });
    expect((await api(url, '/api/jobs?topic=nobody', { token })).body.total).toBe(0);
    expect((await api(url, `/api/jobs?topic=${encodeURIComponent("x' or '1'='1")}`, { token })).body.total).toBe(0);
  });

  it('GET /api/jobs: a parameter sent empty (?topic=, ?status=) is taken as absent', async () => {
    const { app, url, token } = await fx.startSignedIn();
    for (const topic of ['alpha', 'alpha', 'beta']) await app.jobs.enqueue(topic, {});
    for (const query of ['topic=', 'status=', 'topic=&status=', 'status=pending&topic=', 'limit=&offset=', 'topic=&status=&limit=&offset=']) {
      const res = await api(url, `/api/jobs?${query}`, { token });
      expect(res.status, `${query}: ${res.text}`).toBe(200);
      expect(res.body, query).toMatchObject({ total: 3, limit: 20, offset: 0 });
    }
    expect((await api(url, '/api/jobs?topic=alpha&status=', { token })).body.total).toBe(2);
    expect((await api(url, '/api/jobs?topic=&status=failed', { token })).body.total).toBe(0);
    // The library takes an empty topic the same way.
    expect((await app.jobs.list({ topic: '' })).total).toBe(3);
  });

  it('GET /api/jobs refuses bad status, limit and offset with 400', async () => {
    const { url, token } = await fx.startSignedIn();
    const cases: [string, string][] = [
      ['status=bogus', 'status'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['offset=-1', 'offset'],
      ['offset=x', 'offset'],
      ['offset=0.5', 'offset'],
      [`topic=${'t'.repeat(256)}`, 'topic'],
    ];
    for (const [query, field] of cases) {
      expectError(await api(url, `/api/jobs?${query}`, { token }), 400, [field]);
    }
  });

  it('GET /api/jobs/stats counts by status; success_rate is 0 until something finished', async () => {
    const { app, url, token } = await fx.startSignedIn();
    const empty = await api(url, '/api/jobs/stats', { token });
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ pending: 0, processing: 0, completed: 0, failed: 0, total: 0, success_rate: 0 });

    await app.jobs.enqueue('ok', {});
    expect((await api(url, '/api/jobs/stats', { token })).body).toMatchObject({ pending: 1, total: 1, success_rate: 0 });

    app.jobs.register('ok', () => undefined);
    app.jobs.register('bad', () => {
      throw new Error('no');
    });
    await app.jobs.enqueue('ok', {});
    await app.jobs.enqueue('ok', {});
    await app.jobs.enqueueWithOptions('bad', {}, { maxRetries: 0 });
    await app.jobs.enqueue('unhandled', {});
    app.jobs.start();
    await waitFor('3 completed, 1 failed', async () => {
      const s = await app.jobs.stats();
      return s.completed === 3 && s.failed === 1;
    });
    const stats = await api(url, '/api/jobs/stats', { token });
    expect(stats.body).toEqual({ pending: 1, processing: 0, completed: 3, failed: 1, total: 5, success_rate: 0.75 });
  });

  it('/api/jobs/stats is not taken for an id', async () => {
    const { url, token } = await fx.startSignedIn();
    const res = await api(url, '/api/jobs/stats', { token });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['completed', 'failed', 'pending', 'processing', 'success_rate', 'total']);
    expectError(await api(url, '/api/jobs/stats', { token, method: 'DELETE' }), 404);
    expectError(await api(url, '/api/jobs/stats/requeue', { token, method: 'POST' }), 404);
  });

  it('404: unknown id, an id that is not a UUID, unknown routes', async () => {
    const { url, token } = await fx.startSignedIn();
    for (const id of [UNKNOWN_ID, 'nope', '123', `${UNKNOWN_ID}x`]) {
      expectError(await api(url, `/api/jobs/${id}`, { token }), 404);
      expectError(await api(url, `/api/jobs/${id}/requeue`, { token, method: 'POST' }), 404);
      expectError(await api(url, `/api/jobs/${id}`, { token, method: 'DELETE' }), 404);
    }
    expectError(await api(url, '/api/nope'), 404);
    expectError(await api(url, '/api/collections/users/auth-with-password', { json: {} }), 404);
    expectError(await api(url, `/api/jobs/${UNKNOWN_ID}/nope`, { token }), 404);
    expectError(await api(url, `/api/jobs/${UNKNOWN_ID}`, { token, method: 'PUT', json: {} }), 404);
    expectError(await api(url, '/not-the-api'), 404);
  });

  it('requeue: only a failed job, which comes back pending with retries 0, due now, no last_error', async () => {
    const { app, url, token } = await fx.startSignedIn();
    app.jobs.register('bad', () => {
      throw new Error('broken');
    });
    app.jobs.register('ok', () => undefined);
    app.jobs.start();
    const failed = await app.jobs.enqueueWithOptions('bad', { n: 1 }, { maxRetries: 1 });
    const completed = await app.jobs.enqueue('ok', {});
    await waitFor('a failed and a completed job', async () => {
      const s = await app.jobs.stats();
      return s.failed === 1 && s.completed === 1;
    });
    // Stop working so the requeued job stays pending for the checks below.
    await app.jobs.stop();
    expect((await api(url, `/api/jobs/${failed.id}`, { token })).body).toMatchObject({
      status: 'failed',
      retries: 1,
      last_error: 'broken',
    });
    const pending = await app.jobs.enqueueAt('later', {}, new Date(Date.now() + 60_000));

    const before = Date.now();
    const res = await api(url, `/api/jobs/${failed.id}/requeue`, { token, method: 'POST' });
    expectJob(res, { id: failed.id, status: 'pending', retries: 0, max_retries: 1, last_error: null, payload: { n: 1 } });
    expect(Date.parse(res.body.run_at)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(res.body.run_at)).toBeLessThanOrEqual(Date.now() + 5);

    expectError(await api(url, `/api/jobs/${failed.id}/requeue`, { token, method: 'POST' }), 400);
    expectError(await api(url, `/api/jobs/${completed.id}/requeue`, { token, method: 'POST' }), 400);
    expectError(await api(url, `/api/jobs/${pending.id}/requeue`, { token, method: 'POST' }), 400);
  });

  it('delete: pending and failed jobs go (204), processing and completed ones stay (400)', async () => {
    const { app, url, token } = await fx.startSignedIn();
    const release = deferred();
    app.jobs.register('hold', async (_job: JobContext) => {
      await release.promise;
    });
    app.jobs.register('ok', () => undefined);
    app.jobs.register('bad', () => {
      throw new Error('no');
    });
    app.jobs.start();
    const completedOne = once(app.jobs.events, 'job:completed');
    const failedOne = once(app.jobs.events, 'job:failed');
    const completed = await app.jobs.enqueue('ok', {});
    const failed = await app.jobs.enqueueWithOptions('bad', {}, { maxRetries: 0 });
    await Promise.all([completedOne, failedOne]);
    const processing = await app.jobs.enqueue('hold', {});
    await waitFor('the hold job processing', async () => (await app.jobs.get(processing.id)).status === 'processing');
    const pending = await app.jobs.enqueueAt('later', {}, new Date(Date.now() + 60_000));

    try {
      expectError(await api(url, `/api/jobs/${processing.id}`, { token, method: 'DELETE' }), 400);
      expectError(await api(url, `/api/jobs/${completed.id}`, { token, method: 'DELETE' }), 400);
      for (const job of [pending, failed]) {
        const res = await api(url, `/api/jobs/${job.id}`, { token, method: 'DELETE' });
        expect(res.status, res.text).toBe(204);
        expect(res.text).toBe('');
        expectError(await api(url, `/api/jobs/${job.id}`, { token }), 404);
        expectError(await api(url, `/api/jobs/${job.id}`, { token, method: 'DELETE' }), 404);
      }
      expect((await api(url, `/api/jobs/${completed.id}`, { token })).body.status).toBe('completed');
    } finally {
      release.resolve();
    }
  });

  it('a closed engine answers 503 with the error shape', async () => {
    const { app, url, token } = await fx.startSignedIn();
    await app.jobs.close();
    expectError(await api(url, '/api/jobs/enqueue', { token, json: { topic: 'x' } }), 503);
  });
});
