import type { ClaimedJob, Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { claimAll, countedByStatus, insertJobs, jobParams, jobRow, minutesAgo, minutesFromNow, unknownId, useStore } from './fixture.js';

/** Each statement that ends an attempt, as "did it take?": on a job marked for cancellation each must make it cancelled. */
const enders: Record<string, (store: Store, job: ClaimedJob) => Promise<boolean>> = {
  jobCompleteMany: async (store, job) => (await store.jobCompleteMany([{ ...job, resultJson: '{"kept":false}' }])).length === 1,
  jobCompleteManyWithoutResult: async (store, job) => (await store.jobCompleteMany([job])).length === 1,
  jobRetry: (store, job) => store.jobRetry({ ...job, runAt: minutesFromNow(5), error: 'boom' }),
  jobFail: (store, job) => store.jobFail({ ...job, error: 'boom' }),
  jobSnooze: (store, job) => store.jobSnooze({ ...job, runAt: minutesFromNow(5) }),
  jobRelease: (store, job) => store.jobRelease(job),
  jobRescueMany: async (store, job) =>
    (await store.jobRescueMany([{ id: job.id, lockToken: job.lockToken, error: 'rescued', status: 'pending', runAt: minutesFromNow(1) }])).length === 1,
};

describe.each(dialects())('store: running jobs on %s', (dialect) => {
  const fx = useStore(dialect);

  async function claimOne(): Promise<ClaimedJob> {
    await insertJobs(fx.store, 1, () => ({ runAt: minutesAgo(1) }));
    const [job] = await claimAll(fx.store);
    return job!;
  }

  it('jobCancel: a pending job becomes cancelled at once, counted as such', async () => {
    const [job] = await insertJobs(fx.store, 1);
    const answer = await fx.store.jobCancel(job!.id);
    expect(answer).toMatchObject({ outcome: 'cancelled', job: { id: job!.id, status: 'cancelled', cancelRequested: false } });
    expect(await fx.store.jobClaim({ topics: ['default'], limit: 10, lockDuration: 60_000 })).toEqual([]);
    expect(await fx.store.jobCountByStatus()).toEqual(await countedByStatus(fx.store));
    expect(await fx.store.jobCountByStatus()).toMatchObject({ cancelled: 1, pending: 0 });
  });

  it('jobCancel: a processing job is marked and stays processing; a final one answers finished; an unknown id null', async () => {
    const job = await claimOne();
    expect(await fx.store.jobCancel(job.id)).toMatchObject({ outcome: 'marked', job: { status: 'processing', cancelRequested: true } });
    expect(await fx.store.jobCancel(job.id)).toMatchObject({ outcome: 'marked' });
    await fx.store.jobCompleteMany([job]);
    expect(await fx.store.jobCancel(job.id)).toMatchObject({ outcome: 'finished', job: { status: 'cancelled' } });
    const other = await claimOne();
    await fx.store.jobCompleteMany([other]);
    expect(await fx.store.jobCancel(other.id)).toMatchObject({ outcome: 'finished', job: { status: 'completed' } });
    expect(await fx.store.jobCancel(unknownId())).toBeNull();
  });

  it.each(Object.keys(enders))('%s makes a job marked for cancellation cancelled, with no result and no retry counted', async (name) => {
    const job = await claimOne();
    await fx.store.jobCancel(job.id);
    expect(await enders[name]!(fx.store, job)).toBe(true);
    const row = await fx.store.jobGet(job.id);
    expect(row).toMatchObject({ status: 'cancelled', retries: 0, snoozes: 0, result: null, runAt: job.runAt });
    expect(await jobRow(fx.store, job.id)).toMatchObject({ lockToken: null, lockedUntil: null });
    expect(await fx.store.jobCountByStatus()).toEqual(await countedByStatus(fx.store));
  });

  it('jobCompleteMany stores each result in the statement that completes it; a job without one keeps null', async () => {
    const a = await claimOne();
    const b = await claimOne();
    const done = await fx.store.jobCompleteMany([{ ...a, resultJson: '{"sent":true,"n":[1,2]}' }, b]);
    expect(done.map((j) => j.id).sort()).toEqual([a.id, b.id].sort());
    expect(await fx.store.jobGet(a.id)).toMatchObject({ status: 'completed', result: { sent: true, n: [1, 2] } });
    expect(await fx.store.jobGet(b.id)).toMatchObject({ status: 'completed', result: null });
    // A stale token stores nothing.
    const c = await claimOne();
    expect(await fx.store.jobCompleteMany([{ id: c.id, lockToken: a.lockToken, resultJson: '1' }])).toEqual([]);
    expect(await fx.store.jobGet(c.id)).toMatchObject({ status: 'processing', result: null });
  });

  it('a list page without payloads leaves result and progress out, as the payload', async () => {
    const job = await claimOne();
    await fx.store.jobSetProgress({ ...job, progressJson: '"half"' });
    await fx.store.jobCompleteMany([{ ...job, resultJson: '"ok"' }]);
    const full = await fx.store.jobList({ limit: 10, offset: 0 });
    expect(full.items[0]).toMatchObject({ result: 'ok', progress: 'half' });
    const bare = await fx.store.jobList({ limit: 10, offset: 0, payloads: false });
    expect(bare.items[0]).toMatchObject({ payload: undefined, result: undefined, progress: undefined, status: 'completed' });
  });

  it('a page’s payload budget counts results and progress too, which a page with payloads carries', async () => {
    // Payloads, result and progress as JSON strings: the same bytes as text on both dialects.
    await insertJobs(fx.store, 1, () => ({ payload: 'a'.repeat(48), runAt: minutesAgo(1) }));
    const [job] = await claimAll(fx.store);
    await fx.store.jobSetProgress({ ...job!, progressJson: JSON.stringify('p'.repeat(98)) });
    await fx.store.jobCompleteMany([{ ...job!, resultJson: JSON.stringify('r'.repeat(198)) }]);
    await insertJobs(fx.store, 1, () => ({ payload: 'b'.repeat(48) }));
    const all = 50 + 100 + 200 + 50;
    expect((await fx.store.jobList({ limit: 10, offset: 0, payloadBudget: all })).items).toHaveLength(2);
    expect(await fx.store.jobList({ limit: 10, offset: 0, payloadBudget: all - 1 })).toMatchObject({ items: [], overBudget: true });
  });

  it('jobHeartbeatMany renews the locks asked for, reads the others, and leaves out jobs no longer held', async () => {
    const [renewed, checked, marked, lost] = [await claimOne(), await claimOne(), await claimOne(), await claimOne()];
    const until = minutesFromNow(2);
    await fx.store.jobCancel(marked.id);
    await fx.store.jobCompleteMany([lost]);
    const before = await jobRow(fx.store, checked.id);
    const held = await fx.store.jobHeartbeatMany([
      { ...renewed, lockedUntil: until },
      checked,
      { ...marked, lockedUntil: until },
      lost,
      { id: checked.id, lockToken: renewed.lockToken },
    ]);
    expect(held.sort((x, y) => (x.id < y.id ? -1 : 1))).toEqual(
      [
        { id: renewed.id, cancelRequested: false },
        { id: checked.id, cancelRequested: false },
        { id: marked.id, cancelRequested: true },
      ].sort((x, y) => (x.id < y.id ? -1 : 1)),
    );
    expect((await jobRow(fx.store, renewed.id))!.lockedUntil).toEqual(until);
    expect((await jobRow(fx.store, checked.id))!.lockedUntil).toEqual(before!.lockedUntil);
    expect(await fx.store.jobHeartbeatMany([])).toEqual([]);
  });

  it('jobSetProgress stores the value and renews the lock only for the holder', async () => {
    const job = await claimOne();
    const until = minutesFromNow(3);
    expect(await fx.store.jobSetProgress({ ...job, progressJson: '{"done":3,"of":10}', lockedUntil: until })).toEqual({
      id: job.id,
      cancelRequested: false,
    });
    expect(await fx.store.jobGet(job.id)).toMatchObject({ progress: { done: 3, of: 10 } });
    expect((await jobRow(fx.store, job.id))!.lockedUntil).toEqual(until);
    expect(await fx.store.jobSetProgress({ id: job.id, lockToken: 'not-the-token', progressJson: '1' })).toBeNull();
    expect(await fx.store.jobGet(job.id)).toMatchObject({ progress: { done: 3, of: 10 } });
  });

  it('jobGetFinal answers only the final jobs among those asked for', async () => {
    const [pending] = await insertJobs(fx.store, 1, () => ({ runAt: minutesFromNow(60) }));
    const running = await claimOne();
    const completed = await claimOne();
    await fx.store.jobCompleteMany([completed]);
    const failed = await claimOne();
    await fx.store.jobFail({ ...failed, error: 'x' });
    const [cancelled] = await insertJobs(fx.store, 1, () => ({ runAt: minutesFromNow(60) }));
    await fx.store.jobCancel(cancelled!.id);
    const final = await fx.store.jobGetFinal([pending!.id, running.id, completed.id, failed.id, cancelled!.id, unknownId()]);
    expect(final.map((j) => j.id).sort()).toEqual([completed.id, failed.id, cancelled!.id].sort());
    expect(await fx.store.jobGetFinal([])).toEqual([]);
  });

  it('jobGetMany answers the jobs that exist among those asked for, with or without their payload, result and progress', async () => {
    const [pending] = await insertJobs(fx.store, 1, () => ({ runAt: minutesFromNow(60), payload: { big: 'x' } }));
    const running = await claimOne();
    await fx.store.jobSetProgress({ ...running, progressJson: '{"step":2}' });
    const ids = [pending!.id, running.id, unknownId()];
    const full = await fx.store.jobGetMany(ids);
    expect(full.map((j) => j.id).sort()).toEqual([pending!.id, running.id].sort());
    expect(full.find((j) => j.id === pending!.id)).toMatchObject({ status: 'pending', payload: { big: 'x' } });
    expect(full.find((j) => j.id === running.id)).toMatchObject({ status: 'processing', progress: { step: 2 } });
    const lean = await fx.store.jobGetMany(ids, { payloads: false });
    expect(lean.find((j) => j.id === running.id)).toMatchObject({ id: running.id, topic: running.topic, status: 'processing', retries: 0 });
    for (const job of lean) expect([job.payload, job.result, job.progress]).toEqual([undefined, undefined, undefined]);
    expect(await fx.store.jobGetMany([])).toEqual([]);
  });

  it('a cancelled job is requeued (cleared of its mark, result and progress) and deleted like a failed one', async () => {
    const job = await claimOne();
    await fx.store.jobSetProgress({ ...job, progressJson: '5' });
    await fx.store.jobCancel(job.id);
    await fx.store.jobFail({ ...job, error: 'cancelled' });
    const requeued = await fx.store.jobRequeue(job.id);
    expect(requeued).toMatchObject({ status: 'pending', cancelRequested: false, progress: null, result: null, lastError: null });
    const [other] = await insertJobs(fx.store, 1, () => ({ runAt: minutesFromNow(60) }));
    await fx.store.jobCancel(other!.id);
    expect(await fx.store.jobDelete(other!.id)).toBe('deleted');
  });

  it('a unique key held while pending is let go when the job is cancelled, and kept while cancelled is one of its states', async () => {
    const states = ['pending', 'processing'] as const;
    const first = await fx.store.jobInsertUnique({
      ...jobParams(),
      unique: { key: 'k', states: [...states], onConflict: 'existing' },
    });
    await fx.store.jobCancel(first.job.id);
    const second = await fx.store.jobInsertUnique({ ...jobParams(), unique: { key: 'k', states: ['pending', 'cancelled'], onConflict: 'existing' } });
    expect(second.outcome).toBe('created');
    await fx.store.jobCancel(second.job.id);
    const third = await fx.store.jobInsertUnique({ ...jobParams(), unique: { key: 'k', states: ['pending'], onConflict: 'existing' } });
    expect(third).toMatchObject({ outcome: 'existing', job: { id: second.job.id, status: 'cancelled' } });
  });
});
