import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createJobsClient, JobsApiError } from '@jobbase/client';
import { AppFixture, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';

const DAILY = { name: 'nightly', cron: '30 2 * * *', timezone: 'Europe/Berlin', topic: 'report', payload: { to: 'team' } };

describe.each(dialects())('schedules over HTTP and the SDK on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('create, get, list, patch, pause, resume, trigger and delete', async () => {
    const { url, token, app } = await fx.startSignedIn();
    const created = await api(url, '/api/schedules', { token, json: { ...DAILY, misfire: { backfill: { max: 3 } }, overlap: 'skip' } });
    expect(created.status, created.text).toBe(200);
    expect(created.body).toMatchObject({
      ...DAILY,
      max_retries: null,
      priority: null,
      misfire: { backfill: { max: 3 } },
      overlap: 'skip',
      paused: false,
      last_run_at: null,
      last_job_id: null,
      last_job_status: null,
      skipped_ticks: 0,
    });
    expect(Date.parse(created.body.next_run_at)).toBeGreaterThan(Date.now());

    expect((await api(url, '/api/schedules/nightly', { token })).body).toEqual(created.body);
    expect((await api(url, '/api/schedules', { token })).body).toEqual({ items: [created.body] });

    const patched = await api(url, '/api/schedules/nightly', { token, method: 'PATCH', json: { priority: -5, misfire: 'run_once' } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ priority: -5, misfire: 'run_once', cron: DAILY.cron, next_run_at: created.body.next_run_at });

    const paused = await api(url, '/api/schedules/nightly/pause', { token, method: 'POST' });
    expect(paused.body.paused).toBe(true);
    const triggered = await api(url, '/api/schedules/nightly/trigger', { token, method: 'POST' });
    expect(triggered.status, triggered.text).toBe(200);
    expect(triggered.body).toMatchObject({ topic: 'report', payload: { to: 'team' }, priority: -5, schedule_name: 'nightly', schedule_tick: null });
    const job = await api(url, `/api/jobs/${triggered.body.id}`, { token });
    expect(job.body).toMatchObject({ schedule_name: 'nightly', schedule_tick: null });
    const after = await api(url, '/api/schedules/nightly/resume', { token, method: 'POST' });
    expect(after.body).toMatchObject({ paused: false, last_job_id: triggered.body.id, last_job_status: 'pending' });

    const deleted = await api(url, '/api/schedules/nightly', { token, method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expectError(await api(url, '/api/schedules/nightly', { token }), 404);
    expect(await app.jobs.schedules.list()).toEqual([]);
  });

  it('answers 400 naming the field, never a 500', async () => {
    const { url, token } = await fx.startSignedIn();
    const bad: [Record<string, unknown>, string][] = [
      [{ cron: 'every day' }, 'cron'],
      [{ cron: '0 0 30 2 *' }, 'cron'],
      [{ cron: 42 }, 'cron'],
      [{ timezone: 'Europe/Atlantis' }, 'timezone'],
      [{ topic: '' }, 'topic'],
      [{ misfire: 'later' }, 'misfire'],
      [{ misfire: { backfill: { max: 5000 } } }, 'misfire'],
      [{ overlap: 'sometimes' }, 'overlap'],
      [{ priority: 40_000 }, 'priority'],
      [{ colour: 'red' }, 'colour'],
      [{ name: 'has spaces' }, 'name'],
    ];
    for (const [change, field] of bad) {
      const res = await api(url, '/api/schedules', { token, json: { ...DAILY, ...change } });
      expectError(res, 400, [field]);
    }
    expect((await api(url, '/api/schedules', { token })).body.items).toEqual([]);

    expect((await api(url, '/api/schedules', { token, json: DAILY })).status).toBe(200);
    const clash = await api(url, '/api/schedules', { token, json: DAILY });
    expectError(clash, 400, ['name']);
    expect(clash.body.data.name.code).toBe('taken');

    for (const [change, field] of bad.filter(([c]) => !('name' in c))) {
      expectError(await api(url, '/api/schedules/nightly', { token, method: 'PATCH', json: change }), 400, [field]);
    }
    expectError(await api(url, '/api/schedules/nightly', { token, method: 'PATCH', json: { name: 'other' } }), 400, ['name']);
    expectError(await api(url, '/api/schedules/nobody', { token, method: 'PATCH', json: { priority: 1 } }), 404);
    expectError(await api(url, '/api/schedules/nobody/trigger', { token, method: 'POST' }), 404);
    expectError(await api(url, '/api/schedules/nobody/pause', { token, method: 'POST' }), 404);
    expectError(await api(url, '/api/schedules/nobody', { token, method: 'DELETE' }), 404);
    expectError(await api(url, `/api/schedules/${encodeURIComponent('not a name')}`, { token }), 404);
  });

  it('is for superusers only', async () => {
    const { url } = await fx.startSignedIn();
    expectError(await api(url, '/api/schedules'), 401);
    expectError(await api(url, '/api/schedules', { json: DAILY }), 401);
    expectError(await api(url, '/api/schedules/nightly/trigger', { method: 'POST' }), 401);
  });

  it('the SDK has every route', async () => {
    const { url, token } = await fx.startSignedIn();
    const client = createJobsClient({ baseUrl: url, token });
    const created = await client.schedules.create({ name: 'sdk', cron: '*/5 * * * *', topic: 'sdk' });
    expect(created).toMatchObject({ name: 'sdk', timezone: 'UTC', misfire: 'skip', overlap: 'allow' });
    expect((await client.schedules.list()).map((s) => s.name)).toEqual(['sdk']);
    expect((await client.schedules.update('sdk', { overlap: 'skip' })).overlap).toBe('skip');
    expect((await client.schedules.pause('sdk')).paused).toBe(true);
    expect((await client.schedules.resume('sdk')).paused).toBe(false);
    expect((await client.schedules.trigger('sdk')).schedule_name).toBe('sdk');
    expect((await client.schedules.get('sdk')).last_job_status).toBe('pending');
    await client.schedules.delete('sdk');
    const missing = client.schedules.get('sdk');
    await expect(missing).rejects.toBeInstanceOf(JobsApiError);
    await expect(missing).rejects.toMatchObject({ status: 404 });
  });
});

describe('schedule bodies, fuzzed', () => {
  const fx = new AppFixture('sqlite');
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('any JSON in any field is answered 200 or a 400 naming a field, never a 500', async () => {
    const { url, token } = await fx.startSignedIn();
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('* * * * *', '0 0 30 2 *', '*/0 * * * *', '61 * * * *', '* * * * * * *', 'UTC', 'Europe/Berlin', 'Nowhere/Else', 'skip', 'run_once'),
      fc.string({ maxLength: 30 }),
    );
    const field = fc.constantFrom('name', 'cron', 'timezone', 'topic', 'payload', 'max_retries', 'priority', 'misfire', 'overlap', 'paused', 'extra');
    expect((await api(url, '/api/schedules', { token, json: { name: 'fixed', cron: '0 * * * *', topic: 'fuzz' } })).status).toBe(200);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.dictionary(field, value, { maxKeys: 4 }), async (changes) => {
        const body = { name: `f${n++}`, cron: '*/5 * * * *', topic: 'fuzz', ...changes };
        const created = await api(url, '/api/schedules', { token, json: body });
        expect([200, 400], created.text).toContain(created.status);
        if (created.status === 400) expect(Object.keys(created.body.data).length, created.text).toBeGreaterThan(0);
        const patched = await api(url, '/api/schedules/fixed', { token, method: 'PATCH', json: changes });
        expect([200, 400], patched.text).toContain(patched.status);
        if (patched.status === 400) expect(Object.keys(patched.body.data).length, patched.text).toBeGreaterThan(0);
      }),
      { numRuns: 300, seed: 20_261_129 },
    );
  });
});
