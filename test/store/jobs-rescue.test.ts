import type { ClaimedJob } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { insertJobs, jobRow, minutesAgo, minutesFromNow, setLockedUntil, unknownId, useStore } from './fixture.js';

describe.each(dialects())('store: jobGetExpired and jobRescueMany on %s', (dialect) => {
  const fx = useStore(dialect);

  /** One topic per job, so what jobGetExpired reads of each is its own. */
  const topics = Array.from({ length: 10 }, (_, i) => `t${i}`);
  const claimDue = () => fx.store.jobClaim({ topics, limit: 100, lockDuration: 60_000 });

  async function claimed(n: number): Promise<ClaimedJob[]> {
    await insertJobs(fx.store, n, (i) => ({ runAt: minutesAgo(10 - i / 1000), maxRetries: 10 + i, topic: topics[i] }));
    return claimDue();
  }

  it('jobGetExpired returns processing jobs whose lock ran out before `before`, soonest expired first', async () => {
    const [a, b, c, live, boundary, done] = await claimed(6);
    // One retry counted on `b` first, so the answer's retries are read, not assumed.
    await fx.store.jobRetry({ ...b!, runAt: minutesAgo(1), error: 'x' });
    const [b2] = await claimDue();
    const before = new Date();
    await setLockedUntil(fx.store, a!.id, minutesAgo(3));
    await setLockedUntil(fx.store, b2!.id, minutesAgo(1));
    await setLockedUntil(fx.store, c!.id, minutesAgo(5));
    await setLockedUntil(fx.store, live!.id, minutesFromNow(5));
    await setLockedUntil(fx.store, boundary!.id, before); // not before `before`
    await setLockedUntil(fx.store, done!.id, minutesAgo(9));
    await fx.store.jobCompleteMany([done!]);

    expect(await fx.store.jobGetExpired({ before, limit: 10 })).toEqual([
      { id: c!.id, topic: 't2', lockToken: c!.lockToken, retries: 0, maxRetries: 12 },
      { id: a!.id, topic: 't0', lockToken: a!.lockToken, retries: 0, maxRetries: 10 },
      { id: b!.id, topic: 't1', lockToken: b2!.lockToken, retries: 1, maxRetries: 11 },
    ]);
    expect((await fx.store.jobGetExpired({ before, limit: 2 })).map((j) => j.id)).toEqual([c!.id, a!.id]);
    expect(await fx.store.jobGetExpired({ before: minutesAgo(20), limit: 10 })).toEqual([]);
    // Looking later finds the boundary job too: its lock ran out before then.
    const later = await fx.store.jobGetExpired({ before: new Date(before.getTime() + 1), limit: 10 });
    expect(later.map((j) => j.id)).toContain(boundary!.id);
    // Reading changes nothing.
    expect(await fx.store.jobCountByStatus()).toMatchObject({ processing: 5, completed: 1 });
  });

  it('jobGetExpired does not return a job whose lock has not run out', async () => {
    await claimed(3);
    expect(await fx.store.jobGetExpired({ before: new Date(), limit: 10 })).toEqual([]);
  });

  it('jobRescueMany applies each decision: back to pending with one more retry, or failed', async () => {
    const [toRetry, toFail] = await claimed(2);
    const runAt = new Date(Date.now() + 60_123);
    const rescued = await fx.store.jobRescueMany([
      { id: toRetry!.id, lockToken: toRetry!.lockToken, error: 'lock expired', status: 'pending', runAt },
      { id: toFail!.id, lockToken: toFail!.lockToken, error: 'lock expired, no retries left', status: 'failed' },
    ]);
    expect(rescued.sort()).toEqual([toRetry!.id, toFail!.id].sort());
    expect(await jobRow(fx.store, toRetry!.id)).toMatchObject({
      status: 'pending',
      retries: 1,
      runAt,
      lastError: 'lock expired',
      lockToken: null,
      lockedUntil: null,
    });
    expect(await jobRow(fx.store, toFail!.id)).toMatchObject({
      status: 'failed',
      retries: 0,
      runAt: toFail!.runAt,
      lastError: 'lock expired, no retries left',
      lockToken: null,
      lockedUntil: null,
    });
    expect(await fx.store.jobGetExpired({ before: minutesFromNow(60), limit: 10 })).toEqual([]);
  });

  it('jobRescueMany is a compare-and-set per job: a stale token is skipped and its row left alone', async () => {
    const [held, finishedMeanwhile, reclaimedMeanwhile, wrong] = await claimed(4);
    // The job's own worker won the race for two of them.
    await fx.store.jobCompleteMany([finishedMeanwhile!]);
    await fx.store.jobRelease(reclaimedMeanwhile!);
    await claimDue();
    const stale = [
      finishedMeanwhile!,
      reclaimedMeanwhile!,
      { id: wrong!.id, lockToken: held!.lockToken },
      { id: unknownId(), lockToken: held!.lockToken },
    ];
    const untouched = await Promise.all(stale.map((j) => jobRow(fx.store, j.id)));

    const rescued = await fx.store.jobRescueMany([
      { ...stale[0]!, error: 'e', status: 'pending', runAt: minutesAgo(1) },
      { id: held!.id, lockToken: held!.lockToken, error: 'e', status: 'pending', runAt: minutesAgo(1) },
      { ...stale[1]!, error: 'e', status: 'failed' },
      { ...stale[2]!, error: 'e', status: 'pending', runAt: minutesAgo(1) },
      { ...stale[3]!, error: 'e', status: 'failed' },
    ]);
    expect(rescued).toEqual([held!.id]);
    expect(await Promise.all(stale.map((j) => jobRow(fx.store, j.id)))).toEqual(untouched);
  });

  it('rescuing the same jobs twice changes them once', async () => {
    const [a, b] = await claimed(2);
    const items = [
      { id: a!.id, lockToken: a!.lockToken, error: 'e', status: 'pending' as const, runAt: minutesAgo(1) },
      { id: b!.id, lockToken: b!.lockToken, error: 'e', status: 'failed' as const },
    ];
    const [first, second] = await Promise.all([fx.store.jobRescueMany(items), fx.store.jobRescueMany(items)]);
    expect([...first, ...second].sort()).toEqual([a!.id, b!.id].sort());
    expect(await fx.store.jobGet(a!.id)).toMatchObject({ status: 'pending', retries: 1 });
    expect(await fx.store.jobRescueMany([])).toEqual([]);
  });
});
