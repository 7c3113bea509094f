import type { JobListParams } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { byIdDesc, claimAll, jobParams, setTimes, useStore, type JobStatus } from './fixture.js';

const TOPICS = ['a', 'b', 'c'];
const STATUSES: JobStatus[] = ['pending', 'processing', 'completed', 'failed'];

interface Listed {
  id: string;
  topic: string;
  status: JobStatus;
  created: Date;
}

describe.each(dialects())('store: jobList on %s', (dialect) => {
  const fx = useStore(dialect);

  /**
   * 29 jobs over three topics and four statuses (all reached through the store's own methods),
   * inserted in an order unrelated to their ids, with `created` instants shared by several jobs
   * so that the id breaks ties. Answers them as the list should: created desc, then id desc.
   */
  async function seed(): Promise<Listed[]> {
    const made = Array.from({ length: 29 }, (_, i) => jobParams({ topic: TOPICS[i % 3]!, payload: { i } }));
    const shuffled = made.map((_, i) => made[(i * 11) % made.length]!); // 11 and 29 coprime: a permutation
    await fx.store.jobInsertMany(shuffled.slice(0, 20));
    for (const p of shuffled.slice(20)) await fx.store.jobInsert(p);

    const base = Date.UTC(2030, 0, 1);
    const jobs: Listed[] = shuffled.map((p, i) => ({
      id: p.id,
      topic: p.topic,
      status: STATUSES[i % 4]!,
      created: new Date(base + (i % 7) * 1_000 + (i % 2)),
    }));
    for (const job of jobs) await setTimes(fx.store, job.id, { created: job.created });

    const planned = new Map(jobs.map((j) => [j.id, j.status]));
    for (const topic of TOPICS) {
      for (const held of await claimAll(fx.store, topic)) {
        const status = planned.get(held.id);
        if (status === 'pending') await fx.store.jobRelease(held);
        else if (status === 'completed') await fx.store.jobCompleteMany([held]);
        else if (status === 'failed') await fx.store.jobFail({ ...held, error: 'x' });
      }
    }
    return jobs.sort((x, y) => y.created.getTime() - x.created.getTime() || byIdDesc(x.id, y.id));
  }

  const matching = (jobs: Listed[], { topic, status }: Omit<JobListParams, 'limit' | 'offset'>) =>
    jobs.filter((j) => (topic === undefined || j.topic === topic) && (status === undefined || j.status === status));

  const ids = async (params: JobListParams) => {
    const page = await fx.store.jobList(params);
    return { ids: page.items.map((j) => j.id), total: page.total };
  };

  it('lists newest first (created desc, then id desc), each item the full record', async () => {
    const jobs = await seed();
    const page = await fx.store.jobList({ limit: 100, offset: 0 });
    expect(page.total).toBe(29);
    expect(page.items.map((j) => j.id)).toEqual(jobs.map((j) => j.id));
    for (const item of page.items.slice(0, 5)) expect(item).toEqual(await fx.store.jobGet(item.id));
    expect(page.items.map((j) => j.status)).toEqual(jobs.map((j) => j.status));
  });

  it('filters by topic, by status and by both, the total counting only what matches', async () => {
    const jobs = await seed();
    const filters = [
      ...TOPICS.map((topic) => ({ topic })),
      ...STATUSES.map((status) => ({ status })),
      ...TOPICS.flatMap((topic) => STATUSES.map((status) => ({ topic, status }))),
      { topic: 'absent' },
    ];
    for (const filter of filters) {
      const expected = matching(jobs, filter).map((j) => j.id);
      const page = await ids({ ...filter, limit: 100, offset: 0 });
      expect(page, JSON.stringify(filter)).toEqual({ ids: expected, total: expected.length });
    }
  });

  it('pages at the edges: the first, the last, a partial last page, offset at and past the total', async () => {
    const jobs = (await seed()).map((j) => j.id);
    expect(await ids({ limit: 10, offset: 0 })).toEqual({ ids: jobs.slice(0, 10), total: 29 });
    expect(await ids({ limit: 10, offset: 10 })).toEqual({ ids: jobs.slice(10, 20), total: 29 });
    expect(await ids({ limit: 10, offset: 20 })).toEqual({ ids: jobs.slice(20), total: 29 }); // 9 of 10
    expect(await ids({ limit: 1, offset: 28 })).toEqual({ ids: [jobs[28]], total: 29 });
    expect(await ids({ limit: 10, offset: 28 })).toEqual({ ids: [jobs[28]], total: 29 });
    expect(await ids({ limit: 10, offset: 29 })).toEqual({ ids: [], total: 29 });
    expect(await ids({ limit: 10, offset: 1_000 })).toEqual({ ids: [], total: 29 });
    expect(await ids({ limit: 29, offset: 0 })).toEqual({ ids: jobs, total: 29 });
    expect(await ids({ limit: 1_000, offset: 0 })).toEqual({ ids: jobs, total: 29 });
  });

  // The store walks from whichever end of the list is nearer the offset: every page, from
  // either half, must be the same rows as the one long list cut at that place.
  it('every page, read from either end, is the one long list sliced', async () => {
    const jobs = await seed();
    const filters = [{}, { topic: 'b' }, { status: 'processing' as const }, { topic: 'a', status: 'failed' as const }];
    for (const filter of filters) {
      const all = matching(jobs, filter).map((j) => j.id);
      for (const limit of [1, 2, 5, 7, all.length, 50]) {
        for (let offset = 0; offset <= all.length + 1; offset++) {
          const page = await ids({ ...filter, limit, offset });
          const expected = { ids: all.slice(offset, offset + limit), total: all.length };
          expect(page, `${JSON.stringify(filter)} limit ${limit} offset ${offset}`).toEqual(expected);
        }
      }
    }
  });

  it('an empty table lists nothing, total 0', async () => {
    expect(await fx.store.jobList({ limit: 20, offset: 0 })).toEqual({ items: [], total: 0 });
    expect(await fx.store.jobList({ topic: 'a', status: 'failed', limit: 20, offset: 5 })).toEqual({ items: [], total: 0 });
  });
});
