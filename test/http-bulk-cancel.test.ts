import { createJobsClient } from '@jobbase/client';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { SseStream } from './helpers/sse.js';
import { deferred, waitFor } from './helpers/wait.js';

type Family = { name: string; metrics: { labels?: Record<string, string>; value?: string }[] };

function metricValue(exposition: string, name: string, labels: Record<string, string>): string | undefined {
  const families = parsePrometheusTextFormat(exposition) as Family[];
  const family = families.find((f) => f.name === name);
  if (!family) throw new Error(`no metric family ${name}`);
  return family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value;
}

/**
 * Issue 18's parts that need issue 15: `POST /api/jobs/cancel` by filter, cancelled jobs in the
 * bulk requeue and delete, `progress` and `cancelled` on the event stream, and cancelled jobs in
 * the metrics.
 */
describe.each(dialects())('bulk cancel, progress events and cancelled metrics over HTTP on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  const streams: SseStream[] = [];
  beforeEach(() => fx.setup());
  afterEach(async () => {
    await Promise.all(streams.splice(0).map((s) => s.close()));
    await fx.teardown();
  });

  /** An app whose engine runs `long`: each handler reports progress, then waits for its signal. */
  async function startWithLongJobs() {
    const running = await fx.startSignedIn();
    const started: string[] = [];
    const aborted = new Map<string, { at: number; reason: string }>();
    running.app.jobs.register('long', async (job) => {
      await job.progress({ step: 1 });
      started.push(job.id);
      await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
      aborted.set(job.id, { at: Date.now(), reason: (job.signal.reason as Error)?.name });
      return 'ignored';
    });
    return { ...running, started, aborted };
  }

  it('POST /api/jobs/cancel: a dry run counts; pending jobs are cancelled, running ones aborted within 1 s and cancelled; other topics stay', async () => {
    const { url, token, app, started, aborted } = await startWithLongJobs();
    await app.jobs.updateTopic('long', { maxRunning: 2 });
    const batch = await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: Array.from({ length: 5 }, () => ({ topic: 'long' })) } });
    const ids = batch.body.items.map((j: { id: string }) => j.id) as string[];
    const other = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'other' } });
    app.jobs.start();
    await waitFor('two jobs running', () => started.length === 2);

    const dry = await api(url, '/api/jobs/cancel', { token, json: { topic: 'long', dry_run: true } });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body).toEqual({ dry_run: true, matched: 5, changed: 0 });
    const onlyPending = await api(url, '/api/jobs/cancel', { token, json: { topic: 'long', status: 'pending', dry_run: true } });
    expect(onlyPending.body).toEqual({ dry_run: true, matched: 3, changed: 0 });

    const cancelledAt = Date.now();
    const done = await api(url, '/api/jobs/cancel', { token, json: { topic: 'long' } });
    expect(done.body).toEqual({ dry_run: false, changed: 5 });
    for (const id of started) {
      const abort = await waitFor(`the handler of ${id} aborted`, () => aborted.get(id));
      expect(abort.at - cancelledAt).toBeLessThan(1_000);
      expect(abort.reason).toBe('JobCancelledError');
    }
    await waitFor('every job of long cancelled', async () => (await api(url, '/api/jobs/stats', { token })).body.cancelled === 5);
    for (const id of ids) expect((await api(url, `/api/jobs/${id}`, { token })).body.status).toBe('cancelled');
    expect((await api(url, `/api/jobs/${other.body.id}`, { token })).body.status).toBe('pending');
    // Nothing left to cancel.
    expect((await api(url, '/api/jobs/cancel', { token, json: { topic: 'long' } })).body).toEqual({ dry_run: false, changed: 0 });
  });

  it('bulk requeue and delete take cancelled jobs; bad filters are answered 400 naming the field', async () => {
    const { url, token } = await fx.startSignedIn();
    await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: [{ topic: 'c' }, { topic: 'c' }, { topic: 'c' }] } });
    expect((await api(url, '/api/jobs/cancel', { token, json: { topic: 'c', status: 'pending' } })).body).toEqual({ dry_run: false, changed: 3 });
    expect((await api(url, '/api/jobs/requeue', { token, json: { status: 'cancelled', dry_run: true } })).body).toEqual({ dry_run: true, matched: 3, changed: 0 });
    expect((await api(url, '/api/jobs/requeue', { token, json: { topic: 'c', limit: 2 } })).body).toEqual({ dry_run: false, changed: 2 });
    expect((await api(url, '/api/jobs/stats', { token })).body).toMatchObject({ pending: 2, cancelled: 1 });
    expect((await api(url, '/api/jobs/delete', { token, json: { status: 'cancelled' } })).body).toEqual({ dry_run: false, changed: 1 });
    expect((await api(url, '/api/jobs/stats', { token })).body).toMatchObject({ pending: 2, cancelled: 0 });

    const refused = await api(url, '/api/jobs/cancel', { token, json: { status: 'failed' } });
    expectError(refused, 400, ['status']);
    expect(refused.body.message).toBe('cancel takes pending or processing jobs only, not failed.');
    expectError(await api(url, '/api/jobs/cancel', { token, json: { status: 'cancelled' } }), 400, ['status']);
    expectError(await api(url, '/api/jobs/requeue', { token, json: { status: 'pending' } }), 400, ['status']);
    expectError(await api(url, '/api/jobs/cancel', { token, json: { created_after: 'soon' } }), 400, ['created_after']);
    expectError(await api(url, '/api/jobs/cancel', { token, json: { limit: 0 } }), 400, ['limit']);
    expectError(await api(url, '/api/jobs/cancel', { json: {} }), 401);
  });

  it('the SDK: cancelMatching, its dry run, and a refused status as a JobsApiError', async () => {
    const { url, token } = await fx.startSignedIn();
    const client = createJobsClient({ baseUrl: url, token });
    await client.enqueue('s', {});
    await client.enqueue('s', {});
    expect(await client.cancelMatching({ topic: 's', dry_run: true })).toEqual({ dry_run: true, matched: 2, changed: 0 });
    expect(await client.cancelMatching({ topic: 's' })).toEqual({ dry_run: false, changed: 2 });
    expect(await client.requeueMatching({ topic: 's', status: 'cancelled' })).toEqual({ dry_run: false, changed: 2 });
    await expect(client.cancelMatching({ status: 'completed' })).rejects.toMatchObject({ status: 400, data: { status: expect.any(Object) } });
  });

  it('GET /api/jobs/events: progress writes as `progress`, then `cancelled`; the metrics count cancelled jobs', async () => {
    const { url, token, app, started } = await startWithLongJobs();
    const stream = await SseStream.open(`${url}/api/jobs/events?topic=long`, { authorization: token });
    streams.push(stream);
    const step = deferred();
    app.jobs.register('stepper', async (job) => {
      await job.progress({ step: 1 });
      await step.promise;
      await job.progress({ step: 2 });
      await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
    });
    app.jobs.start();
    const job = (await api(url, '/api/jobs/enqueue', { token, json: { topic: 'long' } })).body;
    const pending = (await api(url, '/api/jobs/enqueue', { token, json: { topic: 'long', run_at: new Date(Date.now() + 60_000).toISOString() } })).body;
    await waitFor('the job running', () => started.includes(job.id));
    const types = (id: string) => stream.events.filter((e) => e.data.job?.id === id).map((e) => e.event);
    await waitFor('started, then its progress', () => types(job.id).join() === 'created,started,progress');
    expect(stream.events.find((e) => e.event === 'progress')!.data).toMatchObject({ type: 'progress', job: { id: job.id, topic: 'long', status: 'processing' } });

    await api(url, '/api/jobs/cancel', { token, json: { topic: 'long' } });
    await waitFor('both cancelled', () => types(job.id).at(-1) === 'cancelled' && types(pending.id).at(-1) === 'cancelled');
    expect(types(job.id)).toEqual(['created', 'started', 'progress', 'cancelled']);
    expect(types(pending.id)).toEqual(['created', 'cancelled']);

    // Each progress write is an event: a second value, written after the first was stored.
    const steps = await SseStream.open(`${url}/api/jobs/events?topic=stepper`, { authorization: token });
    streams.push(steps);
    const stepper = (await api(url, '/api/jobs/enqueue', { token, json: { topic: 'stepper' } })).body;
    await waitFor('the stepper’s first progress stored', async () => (await api(url, `/api/jobs/${stepper.id}`, { token })).body.progress?.step === 1);
    step.resolve();
    await waitFor('its second progress on the stream', () => steps.events.filter((e) => e.event === 'progress').length === 2);
    expect(steps.events.map((e) => e.event)).toEqual(['created', 'started', 'progress', 'progress']);
    await api(url, `/api/jobs/${stepper.id}/cancel`, { token, method: 'POST' });
    await waitFor('the stepper cancelled', async () => (await api(url, `/api/jobs/${stepper.id}`, { token })).body.status === 'cancelled');

    const res = await fetch(`${url}/api/metrics`, { headers: { authorization: token } });
    const exposition = await res.text();
    expect(metricValue(exposition, 'jobbase_jobs', { topic: 'long', status: 'cancelled' })).toBe('2');
    expect(metricValue(exposition, 'jobbase_jobs', { topic: 'stepper', status: 'cancelled' })).toBe('1');
    // Counted where a handler was running: the pending one never ran here.
    expect(metricValue(exposition, 'jobbase_jobs_cancelled_total', { topic: 'long' })).toBe('1');
    expect(metricValue(exposition, 'jobbase_jobs_cancelled_total', { topic: 'stepper' })).toBe('1');
    expect(exposition).toContain('jobbase_job_duration_seconds_count{topic="long",outcome="cancelled"} 1\n');
  });
});
