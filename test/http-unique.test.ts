import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobsClient, JobsApiError } from '@jobbase/client';
import { AppFixture, api, EMAIL, expectError, PASSWORD } from './helpers/app.js';
import { dialects } from './helpers/databases.js';

/** Unique keys over HTTP and through the SDK: the answers' `enqueued`, the 409's shape, the 400s. */
describe.each(dialects())('unique keys over HTTP on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('enqueue answers enqueued: created, then existing with the holder; the job carries its key and states', async () => {
    const { url, token } = await fx.startSignedIn();
    const body = { topic: 'mail', payload: { n: 1 }, unique_key: 'welcome:1', unique_states: ['processing', 'pending'] };
    const first = await api(url, '/api/jobs/enqueue', { token, json: body });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ enqueued: 'created', unique_key: 'welcome:1', unique_states: ['pending', 'processing'] });
    const second = await api(url, '/api/jobs/enqueue', { token, json: { ...body, payload: { n: 2 } } });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ ...first.body, enqueued: 'existing' });
    const replaced = await api(url, '/api/jobs/enqueue', { token, json: { ...body, payload: { n: 3 }, on_conflict: 'replace' } });
    expect(replaced.body).toMatchObject({ id: first.body.id, enqueued: 'replaced', payload: { n: 3 } });
    const got = await api(url, `/api/jobs/${first.body.id}`, { token });
    expect(got.body).not.toHaveProperty('enqueued');
    expect(got.body).toMatchObject({ unique_key: 'welcome:1', payload: { n: 3 } });
    const listed = await api(url, '/api/jobs?unique_key=welcome:1', { token });
    expect(listed.body).toMatchObject({ total: 1, items: [{ id: first.body.id }] });
    expect(listed.body.items[0]).not.toHaveProperty('enqueued');
    expect((await api(url, '/api/jobs?unique_key=other', { token })).body.total).toBe(0);
  });

  it('on_conflict error: 409 in PocketBase’s shape, naming the holder, data.unique_key.code conflict', async () => {
    const { url, token } = await fx.startSignedIn();
    const first = await api(url, '/api/jobs/enqueue', { token, json: { topic: 't', unique_key: 'k' } });
    const res = await api(url, '/api/jobs/enqueue', { token, json: { topic: 't', unique_key: 'k', on_conflict: 'error' } });
    expectError(res, 409, ['unique_key']);
    const message = `Job "${first.body.id}" holds the unique key "k" (pending).`;
    expect(res.body).toEqual({ status: 409, message, data: { unique_key: { code: 'conflict', message } } });
    expect((await api(url, '/api/jobs/stats', { token })).body.total).toBe(1);
  });

  it('the batch answers enqueued per job; a conflict is a 409 naming jobs.<i>.unique_key, and nothing is written', async () => {
    const { url, token } = await fx.startSignedIn();
    const ok = await api(url, '/api/jobs/enqueue/batch', {
      token,
      json: { jobs: [{ topic: 't', unique_key: 'a' }, { topic: 't' }, { topic: 't', unique_key: 'a' }] },
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.items.map((j: { enqueued: string }) => j.enqueued)).toEqual(['created', 'created', 'existing']);
    expect(ok.body.items[2].id).toBe(ok.body.items[0].id);

    const refused = await api(url, '/api/jobs/enqueue/batch', {
      token,
      json: { jobs: [{ topic: 't', unique_key: 'b' }, { topic: 't', unique_key: 'a', on_conflict: 'error' }] },
    });
    expectError(refused, 409, ['jobs.1.unique_key']);
    expect(refused.body.data['jobs.1.unique_key'].code).toBe('conflict');
    expect(refused.body.message).toBe(`jobs.1.unique_key: Job "${ok.body.items[0].id}" holds the unique key "a" (pending).`);
    expect((await api(url, '/api/jobs/stats', { token })).body.total).toBe(2);
  });

  it('bad unique fields are 400s naming the field', async () => {
    const { url, token } = await fx.startSignedIn();
    const cases: [Record<string, unknown>, string, string][] = [
      [{ unique_key: '' }, 'unique_key', 'unique_key must not be empty.'],
      [{ unique_key: 'x'.repeat(256) }, 'unique_key', 'unique_key must be at most 255 characters.'],
      [{ unique_key: 'a\u0000b' }, 'unique_key', 'unique_key must be valid Unicode without NUL (\\u0000) characters.'],
      [{ unique_key: 5 }, 'unique_key', 'unique_key must be a string.'],
      [{ unique_key: 'k', unique_states: [] }, 'unique_states', 'unique_states must be a non-empty list of job statuses (pending, processing, completed, failed, cancelled).'],
      [{ unique_key: 'k', unique_states: ['done'] }, 'unique_states.0', 'unique_states must be a non-empty list of job statuses (pending, processing, completed, failed, cancelled).'],
      [{ unique_key: 'k', on_conflict: 'skip' }, 'on_conflict', 'on_conflict must be one of existing, replace, error.'],
      [{ unique_states: ['pending'] }, 'unique_states', 'unique_states needs a unique_key.'],
      [{ on_conflict: 'replace' }, 'on_conflict', 'on_conflict needs a unique_key.'],
    ];
    for (const [fields, field, message] of cases) {
      const res = await api(url, '/api/jobs/enqueue', { token, json: { topic: 't', ...fields } });
      expectError(res, 400, [field]);
      expect(res.body.data[field].message, JSON.stringify(fields)).toBe(message);
    }
    const batch = await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: [{ topic: 't' }, { topic: 't', unique_key: '' }] } });
    expectError(batch, 400, ['jobs.1.unique_key']);
    expect((await api(url, '/api/jobs?unique_key=', { token })).status).toBe(200);
    expectError(await api(url, `/api/jobs?unique_key=${'x'.repeat(256)}`, { token }), 400, ['unique_key']);
    expect((await api(url, '/api/jobs/stats', { token })).body.total).toBe(0);
  });

  it('the SDK sends the options, answers enqueued, and throws a 409 JobsApiError on a conflict', async () => {
    const { url } = await fx.startSignedIn();
    const client = createJobsClient({ baseUrl: url });
    await client.authWithPassword(EMAIL, PASSWORD);
    const first = await client.enqueueWithOptions('t', { n: 1 }, { uniqueKey: 'k', uniqueStates: ['pending'] });
    expect(first).toMatchObject({ enqueued: 'created', unique_key: 'k', unique_states: ['pending'] });
    expect(await client.enqueueWithOptions('t', { n: 2 }, { uniqueKey: 'k' })).toEqual({ ...first, enqueued: 'existing' });
    const replaced = await client.enqueueWithOptions('t', { n: 3 }, { uniqueKey: 'k', onConflict: 'replace' });
    expect(replaced).toMatchObject({ id: first.id, enqueued: 'replaced', payload: { n: 3 } });
    const err = await client.enqueueWithOptions('t', {}, { uniqueKey: 'k', onConflict: 'error' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobsApiError);
    expect(err).toMatchObject({ status: 409, data: { unique_key: { code: 'conflict' } } });
    expect((err as Error).message).toContain(first.id);
    const many = await client.enqueueMany([{ topic: 't', uniqueKey: 'k' }, { topic: 't', uniqueKey: 'new' }]);
    expect(many.map((j) => [j.enqueued, j.unique_key])).toEqual([
      ['existing', 'k'],
      ['created', 'new'],
    ]);
    expect((await client.list({ unique_key: 'new' })).items.map((j) => j.id)).toEqual([many[1]!.id]);
  });
});
