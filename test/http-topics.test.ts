import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobsClient, JobsApiError } from '@jobbase/client';
import { AppFixture, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { waitFor } from './helpers/wait.js';

describe.each(dialects())('topic control over HTTP and the SDK on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('GET /api/topics lists topics with jobs and settings; GET one; 404 for a topic nothing knows; 401 without a token', async () => {
    const { url, token, app } = await fx.startSignedIn();
    await app.jobs.enqueueAt('mail', {}, new Date(Date.now() - 5_000));
    await app.jobs.updateTopic('sms', { maxRunning: 2 });
    const list = await api(url, '/api/topics', { token });
    expect(list.status, list.text).toBe(200);
    expect(list.body.items.map((t: { topic: string }) => t.topic)).toEqual(['mail', 'sms']);
    const [mail, sms] = list.body.items;
    expect(mail).toMatchObject({ counts: { pending: 1, processing: 0, completed: 0, failed: 0 }, paused: false, max_running: null, rate_limit: null, updated: null });
    expect(mail.oldest_pending_age_ms).toBeGreaterThanOrEqual(5_000);
    expect(sms).toMatchObject({ max_running: 2, counts: { pending: 0 }, oldest_pending_age_ms: null });
    expect(new Date(sms.updated).toISOString()).toBe(sms.updated);
    const one = await api(url, '/api/topics/mail', { token });
    expect(one.body).toEqual(expect.objectContaining({ topic: 'mail', counts: mail.counts }));
    expectError(await api(url, '/api/topics/unknown-topic', { token }), 404);
    expectError(await api(url, '/api/topics'), 401);
    expectError(await api(url, '/api/topics/mail/pause', { method: 'POST' }), 401);
  });

  it('PATCH sets max_running and rate_limit, a field left out stays, null clears; pause and resume answer the topic', async () => {
    const { url, token } = await fx.startSignedIn();
    const patch = (json: unknown) => api(url, '/api/topics/mail', { token, method: 'PATCH', json });
    const set = await patch({ max_running: 3, rate_limit: { max: 10, per_ms: 1_000 } });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toMatchObject({ topic: 'mail', paused: false, max_running: 3, rate_limit: { max: 10, per_ms: 1_000 } });
    expect((await patch({ rate_limit: null })).body).toMatchObject({ max_running: 3, rate_limit: null });
    expect((await patch({})).body).toMatchObject({ max_running: 3, rate_limit: null });
    const paused = await api(url, '/api/topics/mail/pause', { token, method: 'POST' });
    expect(paused.status, paused.text).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, max_running: 3 });
    expect((await api(url, '/api/topics/mail', { token })).body.paused).toBe(true);
    expect((await api(url, '/api/topics/mail/resume', { token, method: 'POST' })).body).toMatchObject({ paused: false });
    expect((await patch({ max_running: null })).body).toMatchObject({ max_running: null });
  });

  it('bad settings are 400s naming the field, and change nothing', async () => {
    const { url, token, app } = await fx.startSignedIn();
    await app.jobs.updateTopic('mail', { maxRunning: 4 });
    const cases: [unknown, string][] = [
      [{ max_running: -1 }, 'max_running'],
      [{ max_running: 0 }, 'max_running'],
      [{ max_running: 2.5 }, 'max_running'],
      [{ max_running: '3' }, 'max_running'],
      [{ rate_limit: { max: 5, per_ms: 0 } }, 'rate_limit.per_ms'],
      [{ rate_limit: { max: -5, per_ms: 100 } }, 'rate_limit.max'],
      [{ rate_limit: { max: 5 } }, 'rate_limit.per_ms'],
      [{ rate_limit: { max: 5, per_ms: 100, burst: 1 } }, 'rate_limit.burst'],
      [{ rate_limit: 7 }, 'rate_limit'],
      [{ paused: true }, 'paused'],
      [{ max_running: 2, colour: 'red' }, 'colour'],
    ];
    for (const [json, field] of cases) {
      const res = await api(url, '/api/topics/mail', { token, method: 'PATCH', json });
      expectError(res, 400, [field]);
    }
    expect((await app.jobs.getTopic('mail')).maxRunning).toBe(4);
    const notJson = await fetch(`${url}/api/topics/mail`, { method: 'PATCH', headers: { Authorization: token, 'Content-Type': 'text/plain' }, body: 'x' });
    expect(notJson.status).toBe(415);
  });

  it('the SDK: listTopics, getTopic, updateTopic, pauseTopic, resumeTopic; errors as JobsApiError', async () => {
    const { url, token, app } = await fx.startSignedIn();
    const client = createJobsClient({ baseUrl: url, token });
    const ran: string[] = [];
    app.jobs.register('a/b topic', (job) => void ran.push(job.id));
    app.jobs.start();
    expect(await client.updateTopic('a/b topic', { maxRunning: 1, rateLimit: { max: 2, perMs: 500 } })).toMatchObject({
      topic: 'a/b topic',
      max_running: 1,
      rate_limit: { max: 2, per_ms: 500 },
    });
    expect(await client.pauseTopic('a/b topic')).toMatchObject({ paused: true });
    const job = await client.enqueue('a/b topic', {});
    expect((await client.getTopic('a/b topic')).counts.pending).toBe(1);
    expect(await client.resumeTopic('a/b topic')).toMatchObject({ paused: false });
    await waitFor('the job runs once resumed', () => ran.includes(job.id), { timeout: 3_000 });
    const topics = await client.listTopics();
    expect(topics.map((t) => t.topic)).toEqual(['a/b topic']);
    expect(topics[0]!.registered_at).not.toBeNull();
    const err = await client.updateTopic('a/b topic', { maxRunning: -3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobsApiError);
    expect((err as JobsApiError).status).toBe(400);
    expect((err as JobsApiError).data).toHaveProperty('max_running');
    expect(await client.getTopic('nope').catch((e: JobsApiError) => e.status)).toBe(404);
  });
});
