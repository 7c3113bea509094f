import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobsClient } from '@jobbase/client';
import { AppFixture, EMAIL, PASSWORD, api } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { makeListJobs, matching, walkEveryPage, watchListReads, type ListFilter, type ListPage } from './helpers/list-pages.js';

/**
 * A list page is read from whichever end of the index is nearer its offset (see jobList); these
 * read every page from both ends, at every level, and compare it with the whole list.
 */
const FILTERS: ListFilter[] = [
  {},
  { topic: 'beta' },
  { status: 'pending' },
  { status: 'completed' },
  { status: 'processing' },
  { topic: 'gamma', status: 'pending' },
];

describe.each(dialects())('every list page from the engine on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('45 jobs in 3 topics and 4 statuses: each page, with and without filters, is its slice of the newest-first list, read from the nearer end', async () => {
    const jobs = await fx.open();
    const made = await makeListJobs(jobs);
    const reads = watchListReads(jobs.store);
    const list: ListPage = (query) => jobs.list(query).then((page) => ({ total: page.total, items: page.items.map((j) => ({ id: j.id, created: j.created.getTime() })) }));
    for (const filter of FILTERS) await walkEveryPage(list, filter, matching(made, filter), reads);
    expect(await jobs.list({ topic: 'nobody', limit: 7 })).toMatchObject({ items: [], total: 0 });
  });
});

describe.each(dialects())('every list page over HTTP and the client on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('GET /api/jobs: each page, with and without filters, is its slice of the newest-first list', async () => {
    const { app, url, token } = await fx.startSignedIn();
    const made = await makeListJobs(app.jobs);
    const list: ListPage = async (query) => {
      const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
      const res = await api(url, `/api/jobs?${search}`, { token });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ limit: query.limit, offset: query.offset });
      return { total: res.body.total, items: res.body.items.map((j: { id: string; created: string }) => ({ id: j.id, created: Date.parse(j.created) })) };
    };
    for (const filter of FILTERS) await walkEveryPage(list, filter, matching(made, filter));
  });

  it('client.list: each page, with and without filters, is its slice of the newest-first list', async () => {
    const { app, url } = await fx.startSignedIn();
    const made = await makeListJobs(app.jobs);
    const client = createJobsClient({ baseUrl: url });
    await client.authWithPassword(EMAIL, PASSWORD);
    const list: ListPage = async (query) => {
      const page = await client.list(query);
      expect(page).toMatchObject({ limit: query.limit, offset: query.offset });
      return { total: page.total, items: page.items.map((j) => ({ id: j.id, created: Date.parse(j.created) })) };
    };
    for (const filter of FILTERS) await walkEveryPage(list, filter, matching(made, filter));
  });
});
