import { createJobsClient, JobsApiError } from '@jobbase/client';
import { DEFAULT_MAX_LIST_PAYLOAD_SIZE, JobsError, type Jobs } from '@jobbase/server';
import type { Store } from '@jobbase/server/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture, EMAIL, PASSWORD, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';

/**
 * A list page holds its jobs' payloads, so without a bound one `GET /api/jobs?limit=500` of
 * 1 MiB payloads built a 524 MB answer (21.5 s; four at once took the server to 4.25 GB). The
 * page's payloads now have a byte budget (`maxListPayloadSize`, 8 MiB by default), measured in
 * the database before any payload is read; past it the list answers 422, and `payload=false`
 * leaves the payloads out.
 */

/** A payload whose JSON text takes about `bytes` bytes (on both dialects: PostgreSQL adds a space). */
function payloadOf(bytes: number, i: number): { i: number; data: string } {
  return { i, data: 'x'.repeat(bytes - 30) };
}

async function enqueueBig(jobs: Jobs, count: number, bytes: number): Promise<string[]> {
  const ids: string[] = [];
  for (let from = 0; from < count; from += 8) {
    const batch = Array.from({ length: Math.min(8, count - from) }, (_, k) => ({ topic: 'big', payload: payloadOf(bytes, from + k) }));
    ids.push(...(await jobs.enqueueMany(batch)).map((j) => j.id));
  }
  return ids.reverse(); // newest first, as the list answers
}

/** The rows every statement of the store returned, to see which columns it read. */
function watchRows(store: Store): () => Record<string, unknown>[] {
  const target = store as unknown as { all(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]> };
  const all = target.all.bind(target);
  const seen: Record<string, unknown>[] = [];
  target.all = async (sql, params) => {
    const rows = await all(sql, params);
    seen.push(...rows);
    return rows;
  };
  return () => seen.splice(0);
}

describe.each(dialects())('the list payload budget in the engine on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('is 8 MiB by default: 8 payloads of about 1 MB list, 9 are refused without reading any payload', async () => {
    expect(DEFAULT_MAX_LIST_PAYLOAD_SIZE).toBe(8 * 1024 * 1024);
    const jobs = await fx.open();
    const ids = await enqueueBig(jobs, 40, 1_000_000);
    const rows = watchRows(jobs.store);

    const started = Date.now();
    const refused = await jobs.list({ limit: 40 }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(JobsError);
    expect(refused).toMatchObject({ code: 'page_too_large', fields: {} });
    expect((refused as JobsError).message).toBe(
      "This page's payloads take more than the 8MB one list page may carry: ask for fewer jobs (limit), " +
        'or leave the payloads out (payload=false) and read each job by its id.',
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(rows().filter((r) => 'payload' in r)).toEqual([]);
    await expect(jobs.list({ limit: 9 })).rejects.toMatchObject({ code: 'page_too_large' });
    await expect(jobs.list({ limit: 9, offset: 31 })).rejects.toMatchObject({ code: 'page_too_large' });

    const page = await jobs.list({ limit: 8, offset: 4 });
    expect(page.items.map((j) => j.id)).toEqual(ids.slice(4, 12));
    expect(page.items.map((j) => (j.payload as { i: number }).i)).toEqual([35, 34, 33, 32, 31, 30, 29, 28]);
    expect(page).toMatchObject({ total: 40, limit: 8, offset: 4 });
    // The last page is as small as what is left.
    expect((await jobs.list({ limit: 20, offset: 35 })).items.map((j) => j.id)).toEqual(ids.slice(35));
  });

  it('payload: false lists every job of any size without its payload, reading none', async () => {
    const jobs = await fx.open({ maxListPayloadSize: 100_000 });
    const ids = await enqueueBig(jobs, 12, 50_000);
    const rows = watchRows(jobs.store);
    const page = await jobs.list({ limit: 500, payload: false });
    expect(page.items.map((j) => j.id)).toEqual(ids);
    for (const job of page.items) {
      expect(job.payload).toBeUndefined();
      expect(job).toMatchObject({ topic: 'big', status: 'pending', retries: 0, lastError: null });
    }
    expect(rows().filter((r) => 'payload' in r)).toEqual([]);
    // The default is every payload.
    expect((await jobs.list({ limit: 2, payload: true })).items.map((j) => (j.payload as { i: number }).i)).toEqual([11, 10]);
    expect((await jobs.list({ limit: 2 })).items.map((j) => (j.payload as { i: number }).i)).toEqual([11, 10]);
  });

  it('a page of one job is always answered, whatever its payload; the option is checked', async () => {
    const jobs = await fx.open({ maxListPayloadSize: 1_000 });
    const [newest, older] = await enqueueBig(jobs, 2, 5_000);
    expect((await jobs.list({ limit: 1 })).items.map((j) => [j.id, (j.payload as { i: number }).i])).toEqual([[newest, 1]]);
    expect((await jobs.list({ limit: 1, offset: 1 })).items.map((j) => j.id)).toEqual([older]);
    await expect(jobs.list({ limit: 2 })).rejects.toMatchObject({ code: 'page_too_large' });
    // A page whose offset leaves one job is still a page that could hold more: ask for limit 1.
    await expect(jobs.list({ limit: 2, offset: 1 })).rejects.toMatchObject({ code: 'page_too_large' });
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(fx.open({ maxListPayloadSize: bad })).rejects.toThrow(/maxListPayloadSize/);
    }
  });

  it('an empty page and a filter matching nothing are no trouble', async () => {
    const jobs = await fx.open({ maxListPayloadSize: 1_000 });
    await enqueueBig(jobs, 3, 5_000);
    expect(await jobs.list({ limit: 10, offset: 3 })).toMatchObject({ items: [], total: 3 });
    expect(await jobs.list({ topic: 'none', limit: 10 })).toMatchObject({ items: [], total: 0 });
  });
});

describe.each(dialects())('the list payload budget over HTTP and the client on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('GET /api/jobs answers 422 past the budget, 200 within it, and payload=false leaves payloads out', async () => {
    const { app, url, token } = await fx.startSignedIn({ maxListPayloadSize: 64 * 1024 });
    const ids = await enqueueBig(app.jobs, 40, 10_000);

    const refused = await api(url, '/api/jobs?limit=500', { token });
    expectError(refused, 422);
    expect(refused.body).toEqual({
      status: 422,
      message:
        "This page's payloads take more than the 64KB one list page may carry: ask for fewer jobs (limit), " +
        'or leave the payloads out (payload=false) and read each job by its id.',
      data: {},
    });

    const fits = await api(url, '/api/jobs?limit=6&offset=2', { token });
    expect(fits.status, fits.text).toBe(200);
    expect(fits.body.items.map((j: { id: string }) => j.id)).toEqual(ids.slice(2, 8));
    expect(fits.body.items[0].payload).toEqual(payloadOf(10_000, 37));

    for (const query of ['payload=false&limit=500', 'topic=&payload=false&limit=500', 'limit=500&payload=false']) {
      const lean = await api(url, `/api/jobs?${query}`, { token });
      expect(lean.status, lean.text).toBe(200);
      expect(lean.body.items.map((j: { id: string }) => j.id)).toEqual(ids);
      for (const job of lean.body.items) expect(Object.keys(job)).not.toContain('payload');
    }
    for (const query of ['payload=true&limit=2', 'payload=&limit=2']) {
      const full = await api(url, `/api/jobs?${query}`, { token });
      expect(full.status, full.text).toBe(200);
      expect(full.body.items[1].payload).toEqual(payloadOf(10_000, 38));
    }
    for (const bad of ['payload=no', 'payload=0', 'payload=FALSE']) {
      const res = await api(url, `/api/jobs?${bad}`, { token });
      expectError(res, 400, ['payload']);
      expect(res.body.data.payload.message).toBe('payload must be true or false.');
    }
  });

  it('client.list: a JobsApiError 422 past the budget; payload: false lists without payloads', async () => {
    const { app, url } = await fx.startSignedIn({ maxListPayloadSize: 64 * 1024 });
    const ids = await enqueueBig(app.jobs, 20, 10_000);
    const client = createJobsClient({ baseUrl: url });
    await client.authWithPassword(EMAIL, PASSWORD);
    const refused = await client.list({ limit: 20 }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(JobsApiError);
    expect(refused).toMatchObject({ status: 422 });
    const lean = await client.list({ limit: 20, payload: false });
    expect(lean.items.map((j) => j.id)).toEqual(ids);
    expect(lean.items.every((j) => !('payload' in j))).toBe(true);
    expect((await client.list({ limit: 3 })).items.map((j) => j.payload)).toEqual([19, 18, 17].map((i) => payloadOf(10_000, i)));
  });
});
