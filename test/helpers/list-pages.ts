import { expect } from 'vitest';
import type { JobStatus } from '@jobbase/contract';
import type { Jobs } from '@jobbase/server';
import type { Store } from '@jobbase/server/testing';

export const LIST_TOPICS = ['alpha', 'beta', 'gamma'] as const;

export interface ListFilter {
  topic?: string;
  status?: JobStatus;
}

/** What a page shows of a job, enough to check the order. */
export interface Listed {
  id: string;
  /** ms since the epoch */
  created: number;
}

/** One list call, at whichever level (engine, HTTP, client). */
export type ListPage = (query: ListFilter & { limit: number; offset: number }) => Promise<{ items: Listed[]; total: number }>;

/**
 * 45 jobs for the paging tests, made through the engine with no worker running: 12 in one
 * batch (one created time, so the id breaks the ties), then 33 one by one; 15 in each topic.
 * 18 of them are claimed, in an order scattered over the list (their due times are a
 * permutation of the enqueue order), and of those 8 completed, 6 failed and 4 left processing.
 * Returns each job's topic and final status, by id.
 */
export async function makeListJobs(jobs: Jobs): Promise<Map<string, { topic: string; status: JobStatus }>> {
  const base = Date.now() - 60_000;
  const item = (i: number) => ({ topic: LIST_TOPICS[i % 3]!, payload: { i }, runAt: new Date(base - ((i * 17) % 45) * 1000) });
  const made = await jobs.enqueueMany(Array.from({ length: 12 }, (_, i) => item(i)));
  for (let i = 12; i < 45; i++) {
    const { topic, payload, runAt } = item(i);
    made.push(await jobs.enqueueWithOptions(topic, payload, { runAt }));
  }
  const jobsById = new Map(made.map((j) => [j.id, { topic: j.topic, status: j.status }]));

  const store = jobs.store;
  const claimed = await store.jobClaim({ topics: [...LIST_TOPICS], limit: 18, lockDuration: 3_600_000 });
  expect(claimed).toHaveLength(18);
  for (const job of claimed) jobsById.get(job.id)!.status = 'processing';
  const completed = claimed.slice(0, 8).map((j) => ({ id: j.id, lockToken: j.lockToken }));
  expect(await store.jobCompleteMany(completed)).toHaveLength(8);
  for (const { id } of completed) jobsById.get(id)!.status = 'completed';
  for (const job of claimed.slice(8, 14)) {
    expect(await store.jobFail({ id: job.id, lockToken: job.lockToken, error: 'made to fail' })).toBe(true);
    jobsById.get(job.id)!.status = 'failed';
  }
  expect(await jobs.stats()).toMatchObject({ pending: 27, processing: 4, completed: 8, failed: 6, total: 45 });
  return jobsById;
}

/** The ids `filter` matches among the jobs `makeListJobs` made. */
export function matching(jobsById: Map<string, { topic: string; status: JobStatus }>, filter: ListFilter): string[] {
  return [...jobsById]
    .filter(([, j]) => (filter.topic === undefined || j.topic === filter.topic) && (filter.status === undefined || j.status === filter.status))
    .map(([id]) => id);
}

/**
 * Counts the index entries each list query walks (its limit plus its offset), from the
 * statement `jobList` binds them to: a page read from the far end gives the same rows, so only
 * the statement shows that the store read 45 entries for a page of 7. Call before listing.
 */
export function watchListReads(store: Store): () => number | undefined {
  const target = store as unknown as { all(sql: string, params?: unknown[]): Promise<unknown[]> };
  const all = target.all.bind(target);
  let entries: number | undefined;
  target.all = (sql, params = []) => {
    if (/\blimit \? offset \?/i.test(sql)) entries = Number(params.at(-2)) + Number(params.at(-1));
    return all(sql, params);
  };
  return () => {
    const last = entries;
    entries = undefined;
    return last;
  };
}

/**
 * Reads the list under `filter` page by page and checks every page against one big page
 * (limit 500), which must hold exactly `expected`, newest first (created, then id,
 * descending): every page of 7, the last one partial; pages of 1 at both ends; and every offset
 * around the middle, where a page may be read from either end of the index. With `reads`
 * (see `watchListReads`), also that no page walks more than half the matching entries plus half
 * a page. Returns how many pages it read.
 */
export async function walkEveryPage(
  list: ListPage,
  filter: ListFilter,
  expected: string[],
  reads?: () => number | undefined,
): Promise<number> {
  const where = JSON.stringify(filter);
  const whole = await list({ ...filter, limit: 500, offset: 0 });
  const order = whole.items.map((j) => j.id);
  expect(whole.total, where).toBe(expected.length);
  expect([...order].sort(), `${where}: the jobs listed`).toEqual([...expected].sort());
  for (let i = 1; i < whole.items.length; i++) {
    const [newer, older] = [whole.items[i - 1]!, whole.items[i]!];
    const inOrder = newer.created > older.created || (newer.created === older.created && newer.id > older.id);
    expect(inOrder, `${where}: ${newer.id} (${newer.created}) listed before ${older.id} (${older.created})`).toBe(true);
  }
  reads?.();

  const total = order.length;
  const pages: [limit: number, offset: number][] = [];
  for (let offset = 0; offset <= total; offset += 7) pages.push([7, offset]);
  for (const offset of [0, 1, total - 2, total - 1, total, total + 1]) pages.push([1, offset]);
  for (const limit of [1, 7]) {
    const middle = Math.floor((total - limit) / 2);
    for (let offset = middle - 3; offset <= middle + 3; offset++) pages.push([limit, offset]);
  }
  pages.push([7, total - 3], [500, 1], [500, total - 1]);

  let read = 0;
  for (const [limit, offset] of pages) {
    if (offset < 0) continue;
    const at = `${where} limit ${limit} offset ${offset} of ${total}`;
    const page = await list({ ...filter, limit, offset });
    read++;
    expect(page.total, at).toBe(total);
    expect(page.items.map((j) => j.id), at).toEqual(order.slice(offset, offset + limit));
    if (reads && offset < total) {
      const entries = reads();
      expect(entries, `${at}: no list statement seen`).toBeDefined();
      expect(entries!, `${at}: index entries walked`).toBeLessThanOrEqual(total / 2 + limit / 2);
    }
  }
  return read;
}
