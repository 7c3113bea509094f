import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobsClient, JobsApiError } from '@jobbase/client';
import { AppFixture, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { deferred, waitFor } from './helpers/wait.js';

describe.each(dialects())('running jobs over HTTP and the SDK on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('POST /api/jobs/{id}/cancel: a pending job is cancelled; a finished one answers 409; an unknown one 404; no token 401', async () => {
    const { url, token } = await fx.startSignedIn();
    const job = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'nobody', run_at: new Date(Date.now() + 60_000).toISOString() } });
    const cancelled = await api(url, `/api/jobs/${job.body.id}/cancel`, { token, method: 'POST' });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body).toMatchObject({ id: job.body.id, status: 'cancelled', cancel_requested: false, result: null, progress: null });
    const again = await api(url, `/api/jobs/${job.body.id}/cancel`, { token, method: 'POST' });
    expectError(again, 409);
    expect(again.body.message).toBe(`Job "${job.body.id}" is already cancelled: only pending and processing jobs can be cancelled.`);
    expectError(await api(url, '/api/jobs/0194455b-5100-7c3a-9f2e-4b8d1a6e0c57/cancel', { token, method: 'POST' }), 404);
    expectError(await api(url, `/api/jobs/${job.body.id}/cancel`, { method: 'POST' }), 401);
    const listed = await api(url, '/api/jobs?status=cancelled', { token });
    expect(listed.body).toMatchObject({ total: 1, items: [{ id: job.body.id }] });
    const stats = await api(url, '/api/jobs/stats', { token });
    expect(stats.body).toMatchObject({ cancelled: 1, total: 1, success_rate: 0 });
    // Requeued and deleted like a failed job.
    expect((await api(url, `/api/jobs/${job.body.id}/requeue`, { token, method: 'POST' })).body).toMatchObject({ status: 'pending' });
    await api(url, `/api/jobs/${job.body.id}/cancel`, { token, method: 'POST' });
    expect((await api(url, `/api/jobs/${job.body.id}`, { token, method: 'DELETE' })).status).toBe(204);
  });

  it('cancel of a running job marks it, aborts its handler and ends it cancelled; wait answers it as soon as it is final', async () => {
    const { url, token, app } = await fx.startSignedIn();
    const started = deferred();
    app.jobs.register('long', async (job) => {
      await job.progress({ step: 1 });
      started.resolve();
      await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
      return 'ignored';
    });
    app.jobs.start();
    const job = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'long' } });
    await started.promise;
    const running = await api(url, `/api/jobs/${job.body.id}/wait?timeout=100`, { token });
    expect(running.body).toMatchObject({ status: 'processing', progress: { step: 1 } });
    const waiting = api(url, `/api/jobs/${job.body.id}/wait?timeout=20000`, { token });
    const marked = await api(url, `/api/jobs/${job.body.id}/cancel`, { token, method: 'POST' });
    expect(marked.body).toMatchObject({ status: 'processing', cancel_requested: true });
    const waited = await waiting;
    expect(waited.status, waited.text).toBe(200);
    expect(waited.body).toMatchObject({ status: 'cancelled', cancel_requested: true, result: null, progress: { step: 1 } });
  });

  it('wait: a result over HTTP, the list leaving result and progress out with payload=false, and a bad timeout answered 400 naming it', async () => {
    const { url, token, app } = await fx.startSignedIn();
    app.jobs.register('sum', (job) => (job.payload as number[]).reduce((a, b) => a + b, 0));
    app.jobs.start();
    const job = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'sum', payload: [1, 2, 3] } });
    const done = await api(url, `/api/jobs/${job.body.id}/wait`, { token });
    expect(done.body).toMatchObject({ status: 'completed', result: 6 });
    const bare = await api(url, '/api/jobs?payload=false', { token });
    expect(Object.keys(bare.body.items[0])).not.toContain('result');
    expect(Object.keys(bare.body.items[0])).not.toContain('progress');
    for (const timeout of ['-1', '60001', '1.5', 'soon']) {
      const res = await api(url, `/api/jobs/${job.body.id}/wait?timeout=${timeout}`, { token });
      expectError(res, 400, ['timeout']);
      expect(res.body.data.timeout.message).toBe('timeout must be an integer from 0 to 60000 (ms).');
    }
    expectError(await api(url, '/api/jobs/0194455b-5100-7c3a-9f2e-4b8d1a6e0c57/wait?timeout=10', { token }), 404);
  });

  it('the SDK: cancel and waitFor, a 409 as a JobsApiError', async () => {
    const { url, token, app } = await fx.startSignedIn();
    const client = createJobsClient({ baseUrl: url, token });
    const release = deferred();
    app.jobs.register('held', () => release.promise.then(() => ({ ok: true })));
    app.jobs.start();
    const job = await client.enqueue('held', {});
    await waitFor('running', async () => (await client.get(job.id)).status === 'processing');
    expect(await client.waitFor(job.id, { timeout: 50 })).toMatchObject({ status: 'processing' });
    const waited = client.waitFor(job.id);
    release.resolve();
    expect(await waited).toMatchObject({ status: 'completed', result: { ok: true } });
    const err = await client.cancel(job.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobsApiError);
    expect(err).toMatchObject({ status: 409 });
    const later = await client.enqueueAt('held', {}, new Date(Date.now() + 60_000));
    expect(await client.cancel(later.id)).toMatchObject({ status: 'cancelled' });
  });
});
