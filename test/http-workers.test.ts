import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkerTokens } from '@jobbase/server';
import { AppFixture, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';

const FAR = () => new Date(Date.now() + 3_600_000).toISOString();

describe.each(dialects())('remote workers over HTTP on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('claim answers jobs with their lock; complete stores the result; a stale token is a 409 that leaves the job alone', async () => {
    const { url, token } = await fx.startSignedIn();
    const a = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'img', payload: { n: 1 } } });
    await api(url, '/api/jobs/enqueue', { token, json: { topic: 'other' } });
    const claimed = await api(url, '/api/workers/claim', { token, json: { topics: ['img'], limit: 10 } });
    expect(claimed.status, claimed.text).toBe(200);
    expect(claimed.body.items).toHaveLength(1);
    const job = claimed.body.items[0];
    expect(job).toMatchObject({ id: a.body.id, topic: 'img', status: 'processing', payload: { n: 1 }, lock_token: expect.any(String) });
    expect(Date.parse(job.locked_until)).toBeGreaterThan(Date.now());
    // Nothing else of the topic is due: an empty answer.
    expect((await api(url, '/api/workers/claim', { token, json: { topics: ['img'] } })).body.items).toEqual([]);

    const wrong = await api(url, `/api/jobs/${job.id}/complete`, { token, json: { token: 'not-the-lock', result: 1 } });
    expectError(wrong, 409, ['token']);
    expect(wrong.body.message).toMatch(/lock .* was lost/);
    expect((await api(url, `/api/jobs/${job.id}`, { token })).body).toMatchObject({ status: 'processing', result: null });

    const done = await api(url, `/api/jobs/${job.id}/complete`, { token, json: { token: job.lock_token, result: { size: 3 } } });
    expect(done.status, done.text).toBe(200);
    expect(done.body).toMatchObject({ id: job.id, outcome: 'completed', status: 'completed' });
    expect((await api(url, `/api/jobs/${job.id}`, { token })).body).toMatchObject({ status: 'completed', result: { size: 3 } });
    // The lock is spent: a second finish is a 409 and changes nothing.
    expectError(await api(url, `/api/jobs/${job.id}/fail`, { token, json: { token: job.lock_token, error: 'late' } }), 409, ['token']);
    expect((await api(url, `/api/jobs/${job.id}`, { token })).body).toMatchObject({ status: 'completed', last_error: null });
  });

  it('fail follows the engine’s rules: retried with backoff while retries remain, then failed; permanent fails at once', async () => {
    const { url, token } = await fx.startSignedIn({ backoff: { base: 60_000, max: 60_000 } });
    const job = await api(url, '/api/jobs/enqueue', { token, json: { topic: 't', max_retries: 1 } });
    const [first] = (await api(url, '/api/workers/claim', { token, json: { topics: ['t'] } })).body.items;
    const retried = await api(url, `/api/jobs/${job.body.id}/fail`, { token, json: { token: first.lock_token, error: 'boom' } });
    expect(retried.body).toMatchObject({ outcome: 'retried', status: 'pending' });
    // The topic's backoff (30–60 s here) put it off: not claimable now.
    expect(Date.parse(retried.body.run_at)).toBeGreaterThan(Date.now() + 25_000);
    expect((await api(url, `/api/jobs/${job.body.id}`, { token })).body).toMatchObject({ retries: 1, last_error: 'boom' });
    expect((await api(url, '/api/workers/claim', { token, json: { topics: ['t'] } })).body.items).toEqual([]);

    const perm = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'p', max_retries: 5 } });
    const [held] = (await api(url, '/api/workers/claim', { token, json: { topics: ['p'] } })).body.items;
    const failed = await api(url, `/api/jobs/${perm.body.id}/fail`, { token, json: { token: held.lock_token, error: 'bad input', permanent: true } });
    expect(failed.body).toMatchObject({ outcome: 'failed', status: 'failed' });
    expect((await api(url, `/api/jobs/${perm.body.id}`, { token })).body).toMatchObject({ status: 'failed', retries: 0, last_error: 'bad input' });
  });

  it('snooze puts the job back without an attempt; heartbeat renews the lock, stores progress and reports a cancel, and the finish makes it cancelled', async () => {
    const { url, token } = await fx.startSignedIn();
    const job = await api(url, '/api/jobs/enqueue', { token, json: { topic: 's' } });
    const [first] = (await api(url, '/api/workers/claim', { token, json: { topics: ['s'] } })).body.items;
    const snoozed = await api(url, `/api/jobs/${job.body.id}/snooze`, { token, json: { token: first.lock_token, ms: 0 } });
    expect(snoozed.body).toMatchObject({ outcome: 'snoozed', status: 'pending' });
    expect((await api(url, `/api/jobs/${job.body.id}`, { token })).body).toMatchObject({ snoozes: 1, retries: 0 });

    const [held] = (await api(url, '/api/workers/claim', { token, json: { topics: ['s'] } })).body.items;
    const beat = await api(url, `/api/jobs/${held.id}/heartbeat`, { token, json: { token: held.lock_token, progress: { pct: 50 }, extend_ms: 600_000 } });
    expect(beat.status, beat.text).toBe(200);
    expect(beat.body).toMatchObject({ id: held.id, cancel_requested: false });
    expect(Date.parse(beat.body.locked_until)).toBeGreaterThan(Date.now() + 500_000);
    expect((await api(url, `/api/jobs/${held.id}`, { token })).body).toMatchObject({ progress: { pct: 50 } });

    await api(url, `/api/jobs/${held.id}/cancel`, { token, method: 'POST' });
    const told = await api(url, `/api/jobs/${held.id}/heartbeat`, { token, json: { token: held.lock_token } });
    expect(told.body).toMatchObject({ cancel_requested: true });
    const ended = await api(url, `/api/jobs/${held.id}/complete`, { token, json: { token: held.lock_token, result: 'ignored' } });
    expect(ended.body).toMatchObject({ outcome: 'cancelled', status: 'cancelled' });
    expect((await api(url, `/api/jobs/${held.id}`, { token })).body).toMatchObject({ status: 'cancelled', result: null });
    expectError(await api(url, `/api/jobs/${held.id}/heartbeat`, { token, json: { token: held.lock_token } }), 409, ['token']);
  });

  it('finish: many jobs in one request, a lost one answered `lost` while the others finish', async () => {
    const { url, token } = await fx.startSignedIn();
    await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: [1, 2, 3, 4].map((n) => ({ topic: 'b', payload: n, max_retries: 0 })) } });
    const items = (await api(url, '/api/workers/claim', { token, json: { topics: ['b'], limit: 100 } })).body.items;
    expect(items).toHaveLength(4);
    const res = await api(url, '/api/workers/finish', {
      token,
      json: {
        items: [
          { action: 'complete', id: items[0].id, token: items[0].lock_token, result: 'one' },
          { action: 'complete', id: items[1].id, token: 'stale' },
          { action: 'fail', id: items[2].id, token: items[2].lock_token, error: 'no' },
          { action: 'snooze', id: items[3].id, token: items[3].lock_token, ms: 60_000 },
        ],
      },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.items.map((i: { outcome: string }) => i.outcome)).toEqual(['completed', 'lost', 'failed', 'snoozed']);
    const statuses = await Promise.all(items.map(async (j: { id: string }) => (await api(url, `/api/jobs/${j.id}`, { token })).body.status));
    expect(statuses).toEqual(['completed', 'processing', 'failed', 'pending']);
    expect((await api(url, `/api/jobs/${items[0].id}`, { token })).body.result).toBe('one');
  });

  it('a batch of completions of a worker token is one statement whatever its size: no read before or after it', async () => {
    const { url, token, app } = await fx.startSignedIn();
    const { token: worker } = await new WorkerTokens(app.jobs.store).create({ name: 'batch', topics: ['many'] });
    await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: Array.from({ length: 8 }, (_, n) => ({ topic: 'many', payload: n })) } });
    const items = (await api(url, '/api/workers/claim', { token: worker, json: { topics: ['many'], limit: 8 } })).body.items;
    expect(items).toHaveLength(8);
    const store = app.jobs.store;
    const calls = { completeMany: [] as number[], getMany: 0, get: 0 };
    const { jobCompleteMany, jobGetMany, jobGet } = store;
    store.jobCompleteMany = (batch, now, options) => (calls.completeMany.push(batch.length), jobCompleteMany.call(store, batch, now, options));
    store.jobGetMany = (ids, options) => (calls.getMany++, jobGetMany.call(store, ids, options));
    store.jobGet = (id) => (calls.get++, jobGet.call(store, id));
    try {
      const res = await api(url, '/api/workers/finish', {
        token: worker,
        json: { items: items.map((j: { id: string; lock_token: string }) => ({ action: 'complete', id: j.id, token: j.lock_token })) },
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body.items.every((i: { outcome: string }) => i.outcome === 'completed')).toBe(true);
    } finally {
      Object.assign(store, { jobCompleteMany, jobGetMany, jobGet });
    }
    // The token's topic check is in the statement, and it returns each job's new status.
    expect(calls).toEqual({ completeMany: [8], getMany: 0, get: 0 });
  });

  it('a batch of a worker token naming a job of another topic is refused whole: nothing written; a cancelled job is answered `cancelled`', async () => {
    const { url, token, app } = await fx.startSignedIn();
    const { token: worker } = await new WorkerTokens(app.jobs.store).create({ name: 'img', topics: ['img'] });
    await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: [{ topic: 'img' }, { topic: 'img' }, { topic: 'mail' }] } });
    const mine = (await api(url, '/api/workers/claim', { token: worker, json: { topics: ['img'], limit: 2 } })).body.items;
    const [theirs] = (await api(url, '/api/workers/claim', { token, json: { topics: ['mail'] } })).body.items;
    const complete = (j: { id: string; lock_token: string }) => ({ action: 'complete', id: j.id, token: j.lock_token });
    const refused = await api(url, '/api/workers/finish', { token: worker, json: { items: [complete(mine[0]), complete(theirs)] } });
    expectError(refused, 403, ['topic']);
    expect(refused.body.message).toContain('"mail"');
    for (const j of [mine[0], theirs]) expect((await api(url, `/api/jobs/${j.id}`, { token })).body.status).toBe('processing');

    expect((await api(url, `/api/jobs/${mine[1].id}/cancel`, { token, method: 'POST' })).status).toBe(200);
    const done = await api(url, '/api/workers/finish', { token: worker, json: { items: [...mine.map(complete), { action: 'complete', id: 'not-a-job', token: 't' }] } });
    expect(done.status, done.text).toBe(200);
    expect(done.body.items).toEqual([
      { id: mine[0].id, outcome: 'completed' },
      { id: mine[1].id, outcome: 'cancelled' },
      { id: 'not-a-job', outcome: 'lost' },
    ]);
    expect((await api(url, `/api/jobs/${mine[1].id}`, { token })).body.status).toBe('cancelled');
  });

  it('a claim whose `finish` is refused claims nothing: the jobs it locked alongside are due again at once', async () => {
    const { url, token } = await fx.startSignedIn({ maxPayloadSize: 100 });
    await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: [1, 2, 3].map((n) => ({ topic: 'r', payload: n })) } });
    const [a] = (await api(url, '/api/workers/claim', { token, json: { topics: ['r'] } })).body.items;
    const res = await api(url, '/api/workers/claim', {
      token,
      json: { topics: ['r'], limit: 2, finish: [{ action: 'complete', id: a.id, token: a.lock_token, result: 'x'.repeat(200) }] },
    });
    expectError(res, 400, ['finish.0.result']);
    expect((await api(url, `/api/jobs/${a.id}`, { token })).body.status).toBe('processing');
    const stats = (await api(url, '/api/jobs/stats', { token })).body;
    expect(stats).toMatchObject({ pending: 2, processing: 1 });
    expect((await api(url, '/api/workers/claim', { token, json: { topics: ['r'], limit: 5 } })).body.items).toHaveLength(2);
    // A claim that would wait for jobs is not held for its `wait` when its finishes are refused.
    const started = Date.now();
    const waiting = await api(url, '/api/workers/claim', {
      token,
      json: { topics: ['idle'], wait: 30_000, finish: [{ action: 'complete', id: a.id, token: a.lock_token, result: 'x'.repeat(200) }] },
    });
    expectError(waiting, 400, ['finish.0.result']);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('claim with `finish`: the finished jobs and the claim in one request', async () => {
    const { url, token } = await fx.startSignedIn();
    await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: [1, 2, 3].map((n) => ({ topic: 'r', payload: n })) } });
    const [a, b] = (await api(url, '/api/workers/claim', { token, json: { topics: ['r'], limit: 2 } })).body.items;
    const res = await api(url, '/api/workers/claim', {
      token,
      json: {
        topics: ['r'],
        limit: 5,
        finish: [
          { action: 'complete', id: a.id, token: a.lock_token, result: 'a' },
          { action: 'complete', id: b.id, token: 'stale' },
        ],
      },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.finished).toEqual([
      { id: a.id, outcome: 'completed' },
      { id: b.id, outcome: 'lost' },
    ]);
    expect(res.body.items).toHaveLength(1);
    expect((await api(url, `/api/jobs/${a.id}`, { token })).body).toMatchObject({ status: 'completed', result: 'a' });
    expect((await api(url, `/api/jobs/${b.id}`, { token })).body.status).toBe('processing');
    expectError(await api(url, '/api/workers/claim', { token, json: { topics: ['r'], finish: [{ action: 'complete', id: a.id }] } }), 400, ['finish.0.token']);
  });

  it('bad input is a 400 naming the field', async () => {
    const { url, token } = await fx.startSignedIn();
    const cases: [string, unknown, string][] = [
      ['/api/workers/claim', {}, 'topics'],
      ['/api/workers/claim', { topics: [] }, 'topics'],
      ['/api/workers/claim', { topics: ['a'], limit: 0 }, 'limit'],
      ['/api/workers/claim', { topics: ['a'], limit: 101 }, 'limit'],
      ['/api/workers/claim', { topics: ['a'], wait: 30_001 }, 'wait'],
      ['/api/workers/claim', { topics: [''] }, 'topics.0'],
      ['/api/workers/finish', { items: [] }, 'items'],
      ['/api/workers/finish', { items: [{ action: 'explode', id: 'x', token: 't' }] }, 'items.0.action'],
      ['/api/workers/finish', { items: [{ action: 'fail', id: 'x', token: 't' }] }, 'items.0.error'],
      ['/api/jobs/0194455b-5100-7c3a-9f2e-4b8d1a6e0c57/complete', {}, 'token'],
      ['/api/jobs/0194455b-5100-7c3a-9f2e-4b8d1a6e0c57/fail', { token: 't' }, 'error'],
      ['/api/jobs/0194455b-5100-7c3a-9f2e-4b8d1a6e0c57/snooze', { token: 't', ms: -1 }, 'ms'],
      ['/api/jobs/0194455b-5100-7c3a-9f2e-4b8d1a6e0c57/heartbeat', { token: 't', extend_ms: 0 }, 'extend_ms'],
    ];
    for (const [path, json, field] of cases) expectError(await api(url, path, { token, json }), 400, [field]);
    expectError(await api(url, '/api/jobs/0194455b-5100-7c3a-9f2e-4b8d1a6e0c57/complete', { token, json: { token: 't' } }), 404);
    expectError(await api(url, '/api/workers/claim', { json: { topics: ['a'] } }), 401);
  });

  it('a claim with `wait` is answered when a job arrives from another process, woken by the change signal, not the poll', async () => {
    // A poll interval longer than the test: only the store's signal can wake the claim in time.
    const { url, token } = await fx.startSignedIn({ pollInterval: 60_000 });
    const other = await fx.start({ pollInterval: 60_000 });
    const started = Date.now();
    const claim = api(url, '/api/workers/claim', { token, json: { topics: ['late'], wait: 30_000 } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const job = await other.app.jobs.enqueue('late', { x: 1 });
    const res = await claim;
    expect(res.body.items.map((j: { id: string }) => j.id)).toEqual([job.id]);
    expect(Date.now() - started).toBeLessThan(10_000);
    // And an enqueue in the same process wakes it too.
    const again = api(url, '/api/workers/claim', { token, json: { topics: ['late'], wait: 30_000 } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const mine = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'late' } });
    expect((await again).body.items.map((j: { id: string }) => j.id)).toEqual([mine.body.id]);
  });

  it('worker tokens: only their topics, only the worker routes (403 elsewhere), revoked at the next request', async () => {
    const { url, token, app } = await fx.startSignedIn();
    const tokens = new WorkerTokens(app.jobs.store);
    const { token: worker, record } = await tokens.create({ name: 'resizer', topics: ['img'] });
    expect(worker).toMatch(/^jbw_/);
    expect(record).toMatchObject({ name: 'resizer', role: 'worker', topics: ['img'] });
    expect(JSON.stringify(await tokens.list())).not.toContain(worker);

    const img = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'img' } });
    const mail = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'mail' } });
    const refused = await api(url, '/api/workers/claim', { token: `Bearer ${worker}`, json: { topics: ['img', 'mail'] } });
    expectError(refused, 403, ['topic']);
    expect(refused.body.message).toContain('"mail"');
    const [held] = (await api(url, '/api/workers/claim', { token: worker, json: { topics: ['img'] } })).body.items;
    expect(held.id).toBe(img.body.id);

    // A job of another topic, claimed by a superuser: the worker token may not touch it.
    const [other] = (await api(url, '/api/workers/claim', { token, json: { topics: ['mail'] } })).body.items;
    expect(other.id).toBe(mail.body.id);
    expectError(await api(url, `/api/jobs/${other.id}/complete`, { token: worker, json: { token: other.lock_token } }), 403);
    expectError(await api(url, `/api/jobs/${other.id}/heartbeat`, { token: worker, json: { token: other.lock_token } }), 403);
    expect((await api(url, `/api/jobs/${other.id}`, { token })).body.status).toBe('processing');

    for (const [path, method, json] of [
      ['/api/jobs', 'GET', undefined],
      [`/api/jobs/${img.body.id}`, 'GET', undefined],
      [`/api/jobs/${mail.body.id}`, 'DELETE', undefined],
      ['/api/jobs/enqueue', 'POST', { topic: 'img' }],
      ['/api/topics', 'GET', undefined],
      ['/api/schedules', 'GET', undefined],
      [`/api/jobs/${img.body.id}/cancel`, 'POST', undefined],
    ] as const) {
      const res = await api(url, path, { token: worker, method, json });
      expectError(res, 403);
      expect(res.body.message).toMatch(/worker token may only claim, heartbeat and finish jobs/);
    }
    expect((await api(url, '/api/jobs/stats', { token })).body.total).toBe(2);

    const beat = await api(url, `/api/jobs/${held.id}/heartbeat`, { token: worker, json: { token: held.lock_token } });
    expect(beat.status, beat.text).toBe(200);
    expect(await tokens.revoke('resizer')).toBe(1);
    expectError(await api(url, `/api/jobs/${held.id}/complete`, { token: worker, json: { token: held.lock_token } }), 401);
    expectError(await api(url, '/api/workers/claim', { token: worker, json: { topics: ['img'] } }), 401);
    expect((await api(url, `/api/jobs/${held.id}`, { token })).body.status).toBe('processing');
    // A long-poll claim that began before the revocation claims nothing after it.
    const { token: second } = await tokens.create({ name: 'second', topics: ['img'] });
    const waiting = api(url, '/api/workers/claim', { token: second, json: { topics: ['img'], wait: 20_000 } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await tokens.revoke('second');
    const late = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'img' } });
    expect((await waiting).body.items).toEqual([]);
    expect((await api(url, `/api/jobs/${late.body.id}`, { token })).body.status).toBe('pending');
    // A made-up worker token is a 401 too.
    expectError(await api(url, '/api/workers/claim', { token: 'jbw_nothing', json: { topics: ['img'] } }), 401);
  });
});
