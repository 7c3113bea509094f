import { rawQuery, type Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { claimAll, insertJobs, jobParams, jobRow, minutesAgo, minutesFromNow, unknownId, useStore } from './fixture.js';

/** The stored priority and snoozes of a job (jobRow reads the columns every release had). */
async function controls(store: Store, id: string) {
  const [row] = await rawQuery(store, 'select priority, snoozes from jobs where id = ?', [id]);
  return { priority: Number(row!.priority), snoozes: Number(row!.snoozes) };
}

describe.each(dialects())('store: priority, snooze and per-topic locks on %s', (dialect) => {
  const fx = useStore(dialect);

  it('jobInsert and jobInsertMany store each job’s priority, from -32768 to 32767, with no snoozes', async () => {
    const one = await fx.store.jobInsert(jobParams({ priority: -32_768 }));
    const many = await insertJobs(fx.store, 3, (i) => ({ priority: [32_767, 0, -1][i]! }));
    expect([one, ...many].map((j) => [j.priority, j.snoozes])).toEqual([
      [-32_768, 0],
      [32_767, 0],
      [0, 0],
      [-1, 0],
    ]);
    for (const job of [one, ...many]) {
      expect(await controls(fx.store, job.id)).toEqual({ priority: job.priority, snoozes: 0 });
      expect(await fx.store.jobGet(job.id)).toEqual(job);
    }
  });

  it('claims the lowest priority first, then the oldest run_at, then the lowest id, and answers in that order', async () => {
    const runAt = minutesAgo(1);
    const made = await insertJobs(fx.store, 7, (i) => [
      { priority: 5, runAt: minutesAgo(9) },
      { priority: -2, runAt },
      { priority: 0, runAt: minutesAgo(3) },
      { priority: -2, runAt: minutesAgo(2) },
      { priority: 0, runAt },
      { priority: -2, runAt },
      { priority: 32_767, runAt: minutesAgo(60) },
    ][i]!);
    const [old9, lowA, mid3, low2, mid1, lowB, last] = made;
    const lowByRunAtThenId = [low2!, ...[lowA!, lowB!].sort((a, b) => (a.id < b.id ? -1 : 1))];

    const first = await fx.store.jobClaim({ topics: ['default'], limit: 4, lockDuration: 60_000 });
    expect(first.map((j) => j.id)).toEqual([...lowByRunAtThenId, mid3!].map((j) => j.id));
    const rest = await claimAll(fx.store);
    expect(rest.map((j) => j.id)).toEqual([mid1!, old9!, last!].map((j) => j.id));
  });

  it('only due jobs compete: jobs not yet due at a lower priority number hold back none that are due', async () => {
    // Many jobs scheduled for later at the most urgent priority, and due ones behind them.
    await insertJobs(fx.store, 300, (i) => ({ priority: -10 - (i % 3), runAt: minutesFromNow(60) }));
    const due = await insertJobs(fx.store, 3, (i) => ({ priority: [7, 0, 7][i]!, runAt: minutesAgo(1) }));
    const claimed = await fx.store.jobClaim({ topics: ['default'], limit: 10, lockDuration: 60_000 });
    expect(claimed.map((j) => j.id)).toEqual([due[1]!, due[0]!, due[2]!].map((j) => j.id));
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 300, processing: 3 });
  });

  it('a claim takes due jobs across priorities until it has `limit`, skipping other topics', async () => {
    const jobs = await insertJobs(fx.store, 6, (i) => ({
      priority: [1, 2, 3, 1, 2, 3][i]!,
      topic: ['a', 'a', 'a', 'b', 'b', 'b'][i]!,
      runAt: minutesAgo(6 - i),
    }));
    const [a1, a2, a3] = jobs;
    expect((await fx.store.jobClaim({ topics: ['a'], limit: 2, lockDuration: 60_000 })).map((j) => j.id)).toEqual([a1!.id, a2!.id]);
    expect((await fx.store.jobClaim({ topics: ['a'], limit: 2, lockDuration: 60_000 })).map((j) => j.id)).toEqual([a3!.id]);
    expect(await fx.store.jobList({ topic: 'b', status: 'pending', limit: 10, offset: 0 })).toMatchObject({ total: 3 });
  });

  it('locks each claimed job for its topic’s own duration, the claim’s for the others', async () => {
    const [a, b, c] = await insertJobs(fx.store, 3, (i) => ({ topic: ['a', 'b', 'c'][i]!, runAt: minutesAgo(3 - i) }));
    const before = Date.now();
    const claimed = await fx.store.jobClaim({
      topics: ['a', 'b', 'c'],
      limit: 10,
      lockDuration: 60_000,
      lockDurationByTopic: new Map([
        ['a', 1_000],
        ['c', 3_600_000],
      ]),
    });
    expect(claimed.map((j) => j.id)).toEqual([a!.id, b!.id, c!.id]);
    const claimedAt = claimed[0]!.updated.getTime();
    expect(claimedAt).toBeGreaterThanOrEqual(before);
    const expected = [1_000, 60_000, 3_600_000];
    claimed.forEach((job, i) => {
      expect(job.updated.getTime()).toBe(claimedAt);
      expect(job.lockedUntil.getTime() - claimedAt).toBe(expected[i]);
    });
    for (const job of claimed) expect((await jobRow(fx.store, job.id))!.lockedUntil).toEqual(job.lockedUntil);
  });

  it('jobSnooze: back to pending at runAt, one more snooze, retries and last_error kept, lock cleared', async () => {
    const [job] = await insertJobs(fx.store, 1, () => ({ priority: 4, maxRetries: 5 }));
    const [first] = await claimAll(fx.store);
    await fx.store.jobRetry({ id: job!.id, lockToken: first!.lockToken, runAt: minutesAgo(1), error: 'timeout talking to the API' });
    const [held] = await claimAll(fx.store);
    const runAt = minutesFromNow(15);
    const now = new Date(Date.now() + 5);

    expect(await fx.store.jobSnooze({ id: job!.id, lockToken: held!.lockToken, runAt, now })).toBe(true);
    expect(await jobRow(fx.store, job!.id)).toEqual({
      ...(await jobRow(fx.store, job!.id)),
      status: 'pending',
      runAt,
      retries: 1,
      maxRetries: 5,
      lastError: 'timeout talking to the API',
      lockToken: null,
      lockedUntil: null,
      updated: now,
    });
    expect(await controls(fx.store, job!.id)).toEqual({ priority: 4, snoozes: 1 });
    expect(await fx.store.jobGet(job!.id)).toMatchObject({ status: 'pending', runAt, retries: 1, snoozes: 1, priority: 4 });
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 1, processing: 0 });
    // Not due until runAt: nothing to claim; a second snooze counts again.
    expect(await claimAll(fx.store)).toEqual([]);
    await rawQuery(fx.store, 'update jobs set run_at = ? where id = ?', [minutesAgo(1).toISOString(), job!.id]);
    const [again] = await claimAll(fx.store);
    expect(await fx.store.jobSnooze({ id: job!.id, lockToken: again!.lockToken, runAt })).toBe(true);
    expect(await controls(fx.store, job!.id)).toEqual({ priority: 4, snoozes: 2 });
    expect((await jobRow(fx.store, job!.id))!.retries).toBe(1);
  });

  it('jobSnooze is compare-and-set: a stale token, another job’s, or a job no longer processing changes nothing', async () => {
    const [a, b] = await insertJobs(fx.store, 2, (i) => ({ runAt: minutesAgo(2 - i) }));
    const [heldA, heldB] = await claimAll(fx.store);
    const runAt = minutesFromNow(5);
    const rowA = await jobRow(fx.store, a!.id);

    expect(await fx.store.jobSnooze({ id: a!.id, lockToken: 'not-the-token', runAt })).toBe(false);
    expect(await fx.store.jobSnooze({ id: a!.id, lockToken: heldB!.lockToken, runAt })).toBe(false);
    expect(await fx.store.jobSnooze({ id: unknownId(), lockToken: heldA!.lockToken, runAt })).toBe(false);
    expect(await jobRow(fx.store, a!.id)).toEqual(rowA);
    expect(await controls(fx.store, a!.id)).toEqual({ priority: 0, snoozes: 0 });

    await fx.store.jobCompleteMany([{ id: b!.id, lockToken: heldB!.lockToken }]);
    const rowB = await jobRow(fx.store, b!.id);
    expect(await fx.store.jobSnooze({ id: b!.id, lockToken: heldB!.lockToken, runAt })).toBe(false);
    expect(await jobRow(fx.store, b!.id)).toEqual(rowB);
    expect(await controls(fx.store, b!.id)).toEqual({ priority: 0, snoozes: 0 });
  });

  it('jobList filters by priority, counting the matches, with and without other filters', async () => {
    await insertJobs(fx.store, 7, (i) => ({ priority: [1, 2, 1, 1, 2, 3, 1][i]!, topic: i < 4 ? 'a' : 'b' }));
    const page = await fx.store.jobList({ priority: 1, limit: 2, offset: 0 });
    expect(page.total).toBe(4);
    expect(page.items.map((j) => j.priority)).toEqual([1, 1]);
    expect((await fx.store.jobList({ priority: 1, topic: 'a', limit: 10, offset: 0 })).items).toHaveLength(3);
    expect(await fx.store.jobList({ priority: 2, status: 'pending', topic: 'b', limit: 10, offset: 0 })).toMatchObject({ total: 1 });
    expect(await fx.store.jobList({ priority: 2, status: 'failed', limit: 10, offset: 0 })).toEqual({ items: [], total: 0 });
    expect(await fx.store.jobList({ priority: 9, limit: 10, offset: 0 })).toEqual({ items: [], total: 0 });
  });

  it('jobList sort=priority pages through jobs in run order, from either end', async () => {
    const made = await insertJobs(fx.store, 9, (i) => ({ priority: [3, -1, 3, 0, -1, 3, 0, 2, -1][i]!, runAt: minutesAgo(i % 4) }));
    const runOrder = [...made]
      .sort((a, b) => a.priority - b.priority || a.runAt.getTime() - b.runAt.getTime() || (a.id < b.id ? -1 : 1))
      .map((j) => j.id);
    const pages: string[] = [];
    for (let offset = 0; offset < 9; offset += 2) {
      const page = await fx.store.jobList({ sort: 'priority', status: 'pending', limit: 2, offset });
      expect(page.total).toBe(9);
      pages.push(...page.items.map((j) => j.id));
    }
    expect(pages).toEqual(runOrder);
    // The same rows without a status filter, and the last page read from the far end.
    expect((await fx.store.jobList({ sort: 'priority', limit: 9, offset: 0 })).items.map((j) => j.id)).toEqual(runOrder);
    expect((await fx.store.jobList({ sort: 'priority', limit: 3, offset: 7 })).items.map((j) => j.id)).toEqual(runOrder.slice(7));
    // The default stays newest first.
    const newest = (await fx.store.jobList({ limit: 9, offset: 0 })).items.map((j) => j.id);
    expect(newest).toEqual((await fx.store.jobList({ sort: '-created', limit: 9, offset: 0 })).items.map((j) => j.id));
    expect(newest).not.toEqual(runOrder);
  });
});
