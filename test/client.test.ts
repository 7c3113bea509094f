import { createServer } from 'node:net';
import createOpenApiClient from 'openapi-fetch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobsClient, JobsApiError, type FetchFunction, type JobsClient } from '@jobbase/client';
import { upsertSuperuser } from '@jobbase/server';
import type { paths } from './generated/openapi.js';
import { AppFixture, EMAIL, PASSWORD, type RunningApp } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { waitFor } from './helpers/wait.js';

const UNKNOWN_ID = '01900000-0000-7000-8000-000000000000';

/** The rejection of `promise`, which must be a JobsApiError. */
async function apiError(promise: Promise<unknown>): Promise<JobsApiError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a JobsApiError, the call succeeded');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JobsApiError);
  return err as JobsApiError;
}

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch answering every call with `respond`, recording what was asked. */
function fakeFetch(respond: () => Response | Promise<Response>): { fetch: FetchFunction; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url, init });
      return respond();
    },
  };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('@jobbase/client, without a server', () => {
  it('turns an error body into a JobsApiError with status, message and data', async () => {
    const body = {
      status: 400,
      message: 'topic: Topic must not be empty.',
      data: { topic: { code: 'too_small', message: 'Topic must not be empty.' } },
    };
    const { fetch } = fakeFetch(() => json(400, body));
    const err = await apiError(createJobsClient({ baseUrl: 'http://jobs.test', fetch }).enqueue(''));
    expect(err).toMatchObject({ name: 'JobsApiError', status: 400, message: body.message, data: body.data, body });
    expect(err.isNetworkError).toBe(false);
  });

  it('says what happened when an error answer is not the error shape', async () => {
    const answering = (respond: () => Response) =>
      createJobsClient({ baseUrl: 'http://jobs.test', fetch: fakeFetch(respond).fetch });
    const page = '<html><body>502 Bad Gateway</body></html>';
    const html = () => new Response(page, { status: 502, headers: { 'content-type': 'text/html' } });
    const err = await apiError(answering(html).stats());
    expect(err.status).toBe(502);
    expect(err.data).toEqual({});
    expect(err.message).toBe(`GET /api/jobs/stats failed with HTTP 502 and a body that is not a Jobbase error: ${page}.`);

    const empty = await apiError(answering(() => new Response(null, { status: 500 })).list());
    expect(empty.message).toBe('GET /api/jobs failed with HTTP 500 and no Jobbase error body.');

    const wrongJson = await apiError(answering(() => json(503, { error: 'down' })).list());
    expect(wrongJson).toMatchObject({ status: 503, body: { error: 'down' } });
  });

  it('refuses an unexpected success status rather than returning the wrong shape', async () => {
    const { fetch } = fakeFetch(() => new Response(null, { status: 202 }));
    const err = await apiError(createJobsClient({ baseUrl: 'http://jobs.test', fetch }).delete(UNKNOWN_ID));
    expect(err.status).toBe(202);
    expect(err.message).toBe('DELETE /api/jobs/:id answered 202, expected 204.');
  });

  it('reports a request that got no answer as status 0 with the cause', async () => {
    const refused = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    const client = createJobsClient({ baseUrl: 'http://127.0.0.1:9', fetch: () => Promise.reject(refused) });
    const err = await apiError(client.get(UNKNOWN_ID));
    expect(err).toMatchObject({ status: 0, isNetworkError: true, data: {}, cause: refused });
    expect(err.message).toBe(
      `GET http://127.0.0.1:9/api/jobs/${UNKNOWN_ID} failed: no answer from the server ` +
        '(fetch failed: connect ECONNREFUSED 127.0.0.1:9).',
    );
  });

  it('lets the caller’s own abort through untouched', async () => {
    const abort = new DOMException('This operation was aborted', 'AbortError');
    const client = createJobsClient({ baseUrl: 'http://jobs.test', fetch: () => Promise.reject(abort) });
    await expect(client.stats()).rejects.toBe(abort);
  });

  it('sends the token as a bearer token, maps camelCase options and encodes ids', async () => {
    const time = '2025-01-08T12:00:00.000Z';
    const job = {
      ...{ id: UNKNOWN_ID, topic: 't', payload: {}, status: 'pending', retries: 0, max_retries: 5, last_error: null },
      ...{ run_at: time, created: time, updated: time },
    };
    const { fetch, calls } = fakeFetch(() => json(200, job));
    const client = createJobsClient({ baseUrl: 'http://jobs.test/', token: 'tok', fetch });
    expect(client.token).toBe('tok');

    await client.enqueueWithOptions('t', { a: 1 }, { runAt: new Date('2025-01-08T12:00:00Z'), maxRetries: 5 });
    expect(calls[0]!.url).toBe('http://jobs.test/api/jobs/enqueue');
    expect(calls[0]!.init.method).toBe('POST');
    expect(calls[0]!.init.headers).toMatchObject({ authorization: 'Bearer tok', 'content-type': 'application/json' });
    const sent = JSON.parse(calls[0]!.init.body as string) as unknown;
    expect(sent).toEqual({ topic: 't', payload: { a: 1 }, run_at: '2025-01-08T12:00:00.000Z', max_retries: 5 });

    await client.enqueueAt('t', 1, '2030-01-01T00:00:00Z');
    expect(JSON.parse(calls[1]!.init.body as string)).toEqual({ topic: 't', payload: 1, run_at: '2030-01-01T00:00:00Z' });

    client.setToken(null);
    await client.get('a/b?c');
    expect(calls[2]!.url).toBe('http://jobs.test/api/jobs/a%2Fb%3Fc');
    expect(calls[2]!.init.headers).not.toHaveProperty('authorization');

    // Empty path parameters would silently call another route (ts-rest drops them).
    await expect(client.get('')).rejects.toThrow(TypeError);
    expect(calls).toHaveLength(3);
  });
});

describe.each(dialects())('@jobbase/client against a live server on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  let running: RunningApp;
  let client: JobsClient;

  beforeEach(async () => {
    await fx.setup();
    running = await fx.start();
    await upsertSuperuser(running.app.jobs.store, EMAIL, PASSWORD);
    client = createJobsClient({ baseUrl: running.url });
  });
  afterEach(() => fx.teardown());

  it('signs in with authWithPassword and keeps the token', async () => {
    const wrong = await apiError(client.authWithPassword(EMAIL, 'not the password'));
    expect(wrong).toMatchObject({ status: 400, message: 'Failed to authenticate.', data: {} });
    expect(client.token).toBeNull();

    const auth = await client.authWithPassword(EMAIL, PASSWORD);
    expect(auth.record).toMatchObject({ email: EMAIL, collectionName: '_superusers' });
    expect(client.token).toBe(auth.token);
    await expect(client.stats()).resolves.toMatchObject({ total: 0 });

    // A token passed in is used the same way.
    const other = createJobsClient({ baseUrl: running.url, token: auth.token });
    await expect(other.list()).resolves.toMatchObject({ total: 0 });
  });

  it('authRefresh swaps the token for a new one; without a valid token it throws 401', async () => {
    expect(await apiError(client.authRefresh())).toMatchObject({ status: 401, data: {} });
    expect(client.token).toBeNull();

    const signIn = await client.authWithPassword(EMAIL, PASSWORD);
    const refreshed = await client.authRefresh();
    expect(refreshed.record).toEqual(signIn.record);
    expect(client.token).toBe(refreshed.token);
    await expect(client.stats()).resolves.toMatchObject({ total: 0 });

    client.setToken(`${refreshed.token}x`);
    expect(await apiError(client.authRefresh())).toMatchObject({ status: 401 });
  });

  it('reads the API index (GET /api/) through the raw client', async () => {
    const index = await client.raw.system.index();
    expect(index.status).toBe(200);
    if (index.status === 200) expect(index.body).toMatchObject({ name: 'Jobbase', links: { jobs: '/api/jobs' } });
  });

  it('throws 401 without a token or with a bad one, on every jobs method', async () => {
    const calls = [
      () => client.enqueue('t', {}),
      () => client.enqueueAt('t', {}, new Date()),
      () => client.enqueueWithOptions('t', {}, { maxRetries: 1 }),
      () => client.list(),
      () => client.get(UNKNOWN_ID),
      () => client.stats(),
      () => client.requeue(UNKNOWN_ID),
      () => client.delete(UNKNOWN_ID),
    ];
    for (const token of [null, 'garbage']) {
      client.setToken(token);
      for (const call of calls) {
        const err = await apiError(call());
        expect(err).toMatchObject({ status: 401, message: 'The request requires valid record authorization token.', data: {} });
      }
    }
  });

  it('enqueues with the library’s three methods', async () => {
    await client.authWithPassword(EMAIL, PASSWORD);
    const now = await client.enqueue('send_email', { to: 'user@example.com', subject: 'Hello' });
    expect(now).toMatchObject({ topic: 'send_email', status: 'pending', retries: 0, last_error: null });
    expect(now.payload).toEqual({ to: 'user@example.com', subject: 'Hello' });

    const runAt = new Date(Date.now() + 10 * 60_000);
    const later = await client.enqueueAt('send_email', { n: 2 }, runAt);
    expect(later.run_at).toBe(runAt.toISOString());

    const withOptions = await client.enqueueWithOptions('send_email', [1, 2], { runAt: '2025-01-08T12:00:00Z', maxRetries: 5 });
    expect(withOptions).toMatchObject({ payload: [1, 2], run_at: '2025-01-08T12:00:00.000Z', max_retries: 5 });

    const noPayload = await client.enqueue('cleanup');
    expect(noPayload.payload).toEqual({});
  });

  it('throws 400 with field errors for invalid input', async () => {
    await client.authWithPassword(EMAIL, PASSWORD);
    const cases: [() => Promise<unknown>, string][] = [
      [() => client.enqueue(''), 'topic'],
      [() => client.enqueue('x'.repeat(256)), 'topic'],
      [() => client.enqueueAt('t', {}, 'tomorrow'), 'run_at'],
      [() => client.enqueueAt('t', {}, new Date(NaN)), 'run_at'],
      [() => client.enqueueWithOptions('t', {}, { maxRetries: -1 }), 'max_retries'],
      [() => client.enqueueWithOptions('t', {}, { maxRetries: 1.5 }), 'max_retries'],
      [() => client.enqueue('t', { blob: 'x'.repeat(1_048_576) }), 'payload'],
      [() => client.list({ limit: 0 }), 'limit'],
      [() => client.list({ offset: -1 }), 'offset'],
      // @ts-expect-error the status must be one of the four; the server says so too
      [() => client.list({ status: 'done' }), 'status'],
    ];
    for (const [call, field] of cases) {
      const err = await apiError(call());
      expect(err.status, err.message).toBe(400);
      const problem = { code: expect.any(String), message: expect.any(String) };
      expect(err.data[field], `${field} in ${JSON.stringify(err.body)}`).toEqual(problem);
    }
  });

  it('lists with filters and pages, newest first, and gets one job', async () => {
    await client.authWithPassword(EMAIL, PASSWORD);
    const a = await client.enqueue('a', { n: 1 });
    const b = await client.enqueue('b', { n: 2 });
    const c = await client.enqueue('a', { n: 3 });

    const all = await client.list();
    expect(all).toMatchObject({ total: 3, limit: 20, offset: 0 });
    expect(all.items.map((j) => j.id)).toEqual([c.id, b.id, a.id]);

    const page = await client.list({ topic: 'a', status: 'pending', limit: 1, offset: 1 });
    expect(page).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(page.items.map((j) => j.id)).toEqual([a.id]);
    expect(await client.list({ status: 'failed' })).toMatchObject({ total: 0, items: [] });

    const { enqueued, ...stored } = b;
    expect(enqueued).toBe('created');
    expect(await client.get(b.id)).toEqual(stored);
    const missing = await apiError(client.get(UNKNOWN_ID));
    expect(missing).toMatchObject({ status: 404, data: {} });
    expect((await apiError(client.get('no/such id'))).status).toBe(404);
  });

  it('reads stats, requeues a failed job and deletes, with 404 and conflicts as errors', async () => {
    await client.authWithPassword(EMAIL, PASSWORD);
    const { jobs } = running.app;
    jobs.register('fails', () => {
      throw new Error('boom');
    });
    jobs.register('works', () => undefined);
    jobs.start();
    const failing = await client.enqueueWithOptions('fails', {}, { maxRetries: 0 });
    const working = await client.enqueue('works', {});
    const waiting = await client.enqueueAt('idle', {}, new Date(Date.now() + 3_600_000));
    await waitFor('the jobs to finish', async () => {
      const [failed, completed] = await Promise.all([client.get(failing.id), client.get(working.id)]);
      return failed.status === 'failed' && completed.status === 'completed';
    });

    expect(await client.stats()).toEqual({ pending: 1, processing: 0, completed: 1, failed: 1, cancelled: 0, total: 3, success_rate: 0.5 });
    expect((await client.get(failing.id)).last_error).toBe('boom');

    // Only failed or cancelled jobs can be requeued.
    const notFailed = await apiError(client.requeue(waiting.id));
    expect(notFailed).toMatchObject({ status: 400, message: 'Only failed or cancelled jobs can be requeued.', data: {} });
    expect((await apiError(client.requeue(UNKNOWN_ID))).status).toBe(404);
    const requeued = await client.requeue(failing.id);
    expect(requeued).toMatchObject({ id: failing.id, retries: 0, last_error: null });
    expect(['pending', 'processing', 'failed']).toContain(requeued.status);

    // Only pending, failed or cancelled jobs can be deleted.
    const completed = await apiError(client.delete(working.id));
    expect(completed).toMatchObject({ status: 400, message: 'Only pending, failed or cancelled jobs can be deleted.', data: {} });
    expect((await apiError(client.delete(UNKNOWN_ID))).status).toBe(404);
    await expect(client.delete(waiting.id)).resolves.toBeUndefined();
    expect((await apiError(client.get(waiting.id))).status).toBe(404);
  });

  it('requeue of a completed, pending or processing job is a 400 conflict and leaves the job as it was', async () => {
    await client.authWithPassword(EMAIL, PASSWORD);
    const { store } = running.app.jobs;
    for (const topic of ['retried', 'running', 'done']) await client.enqueueWithOptions(topic, { topic }, { maxRetries: 5 });
    // The states are made through the store, with no worker running, so nothing moves meanwhile.
    const [first] = await store.jobClaim({ topics: ['retried'], limit: 1, lockDuration: 60_000 });
    await store.jobRetry({ id: first!.id, lockToken: first!.lockToken, error: 'first try', runAt: new Date(Date.now() + 3_600_000) });
    const [processing] = await store.jobClaim({ topics: ['running'], limit: 1, lockDuration: 60_000 });
    const [done] = await store.jobClaim({ topics: ['done'], limit: 1, lockDuration: 60_000 });
    await store.jobCompleteMany([{ id: done!.id, lockToken: done!.lockToken }]);

    const stats = await client.stats();
    expect(stats).toMatchObject({ pending: 1, processing: 1, completed: 1, failed: 0 });
    for (const [id, status] of [[first!.id, 'pending'], [processing!.id, 'processing'], [done!.id, 'completed']] as const) {
      const before = await client.get(id);
      expect(before.status).toBe(status);
      const conflict = await apiError(client.requeue(id));
      expect(conflict, status).toMatchObject({ status: 400, message: 'Only failed or cancelled jobs can be requeued.', data: {} });
      expect(await client.get(id), status).toEqual(before);
    }
    expect(await client.stats()).toEqual(stats);
  });

  it('exposes the raw ts-rest client, answering { status, body } and sending the token', async () => {
    await client.authWithPassword(EMAIL, PASSWORD);
    const job = await client.enqueue('raw', { ok: true });
    const found = await client.raw.jobs.get({ params: { id: job.id } });
    expect(found.status).toBe(200);
    if (found.status === 200) expect(found.body.topic).toBe('raw');
    const missing = await client.raw.jobs.get({ params: { id: UNKNOWN_ID } });
    expect(missing).toMatchObject({ status: 404, body: { status: 404, data: {} } });
    const health = await client.raw.system.health();
    expect(health).toMatchObject({ status: 200, body: { code: 200 } });
  });

  it('throws a status-0 JobsApiError when nothing listens', async () => {
    const port = await closedPort();
    const offline = createJobsClient({ baseUrl: `http://127.0.0.1:${port}`, token: 'any' });
    const err = await apiError(offline.stats());
    expect(err).toMatchObject({ status: 0, isNetworkError: true, data: {} });
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.message).toMatch(`GET http://127.0.0.1:${port}/api/jobs/stats failed: no answer from the server (`);
    expect(err.message).toMatch(/ECONNREFUSED/);
    await expect(offline.authWithPassword(EMAIL, PASSWORD)).rejects.toMatchObject({ status: 0 });
  });

  it('works with a client generated from docs/openapi.json (openapi-typescript + openapi-fetch)', async () => {
    const { token } = await client.authWithPassword(EMAIL, PASSWORD);
    const api = createOpenApiClient<paths>({ baseUrl: running.url, headers: { Authorization: `Bearer ${token}` } });

    const enqueued = await api.POST('/api/jobs/enqueue', {
      body: {
        topic: 'send_email',
        payload: { to: 'user@example.com', subject: 'Hello' },
        run_at: '2025-01-08T12:00:00Z',
        max_retries: 5,
      },
    });
    expect(enqueued.response.status).toBe(200);
    const job = enqueued.data!;
    expect(job).toMatchObject({ topic: 'send_email', status: 'pending', max_retries: 5, run_at: '2025-01-08T12:00:00.000Z' });

    const { enqueued: outcome, ...stored } = job;
    expect(outcome).toBe('created');
    const got = await api.GET('/api/jobs/{id}', { params: { path: { id: job.id } } });
    expect(got.data).toEqual(stored);

    const listed = await api.GET('/api/jobs', { params: { query: { topic: 'send_email', status: 'pending', limit: 10 } } });
    expect(listed.data).toMatchObject({ total: 1, limit: 10, offset: 0, items: [stored] });

    const stats = await api.GET('/api/jobs/stats');
    expect(stats.data).toEqual({ pending: 1, processing: 0, completed: 0, failed: 0, cancelled: 0, total: 1, success_rate: 0 });

    const missing = await api.GET('/api/jobs/{id}', { params: { path: { id: UNKNOWN_ID } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toMatchObject({ status: 404, data: {} });

    const anonymous = createOpenApiClient<paths>({ baseUrl: running.url });
    const refused = await anonymous.GET('/api/jobs/stats');
    expect(refused.error).toMatchObject({ status: 401 });
  });
});
