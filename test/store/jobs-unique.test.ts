import { rawQuery, type ClaimedJob, type JobInsertParams, type Store, type UniqueInsert } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { claimAll, insertJobs, jobCount, jobParams, minutesAgo, minutesFromNow, useStore, type JobStatus } from './fixture.js';

/** Insert params with a unique key (default states and mode unless given). */
function keyed(key: string, unique: Partial<UniqueInsert> = {}, overrides: Partial<JobInsertParams> & { payload?: unknown } = {}) {
  return jobParams({
    runAt: minutesAgo(1),
    ...overrides,
    unique: { key, states: ['pending', 'processing'], onConflict: 'existing', ...unique },
  }) as JobInsertParams & { unique: UniqueInsert };
}

/** The job holding `key` (its slot), or null. */
async function holderOf(store: Store, key: string): Promise<string | null> {
  const rows = await rawQuery(store, 'select id from jobs where unique_slot = ?', [key]);
  expect(rows.length).toBeLessThanOrEqual(1);
  return (rows[0]?.id as string | undefined) ?? null;
}

async function slotOf(store: Store, id: string): Promise<string | null> {
  const rows = await rawQuery(store, 'select unique_slot from jobs where id = ?', [id]);
  return (rows[0]!.unique_slot as string | null) ?? null;
}

describe.each(dialects())('store: unique keys on %s', (dialect) => {
  const fx = useStore(dialect);

  const insert = (p: JobInsertParams & { unique: UniqueInsert }) => fx.store.jobInsertUnique(p);

  /** Inserts a keyed job and claims it. */
  async function claimedKeyed(key: string, states: JobStatus[]): Promise<ClaimedJob> {
    const { job } = await insert(keyed(key, { states }));
    const [claimed] = await claimAll(fx.store);
    expect(claimed!.id).toBe(job.id);
    return claimed!;
  }

  it('jobInsertUnique creates a job that holds its key, with the key and its states on the record', async () => {
    const p = keyed('k', { states: ['processing', 'pending'] }, { topic: 'mail', payload: { n: 1 } });
    const { outcome, job } = await insert(p);
    expect(outcome).toBe('created');
    expect(job).toMatchObject({ id: p.id, topic: 'mail', payload: { n: 1 }, status: 'pending', uniqueKey: 'k' });
    expect(job.uniqueStates).toEqual(['pending', 'processing']);
    expect(await fx.store.jobGet(p.id)).toEqual(job);
    expect(await holderOf(fx.store, 'k')).toBe(p.id);
    const [plain] = await insertJobs(fx.store, 1);
    expect(plain).toMatchObject({ uniqueKey: null, uniqueStates: null });
    expect(await slotOf(fx.store, plain!.id)).toBeNull();
  });

  it('existing: a second job with a held key is not written; the answer is the holder, unchanged', async () => {
    const first = await insert(keyed('k', {}, { payload: 'first' }));
    const second = await insert(keyed('k', {}, { payload: 'second', topic: 'other' }));
    expect(second).toEqual({ outcome: 'existing', job: first.job });
    expect(await jobCount(fx.store)).toBe(1);
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 1 });
    // Another key is another job.
    expect((await insert(keyed('k2'))).outcome).toBe('created');
  });

  it('error: a conflict answering the holder; nothing written', async () => {
    const first = await insert(keyed('k'));
    expect(await insert(keyed('k', { onConflict: 'error' }))).toEqual({ outcome: 'conflict', job: first.job });
    expect(await jobCount(fx.store)).toBe(1);
  });

  it('replace of a pending holder: its topic, payload, run_at, max_retries and priority replaced; id, created and retries kept', async () => {
    const first = await insert(keyed('k', {}, { topic: 'a', payload: 'old', maxRetries: 1, priority: 5, runAt: minutesFromNow(60) }));
    const runAt = minutesAgo(2);
    const replacing = keyed('k', { onConflict: 'replace' }, { topic: 'b', payload: { v: 2 }, maxRetries: 7, priority: -3, runAt });
    const { outcome, job } = await insert(replacing);
    expect(outcome).toBe('replaced');
    expect(job).toMatchObject({ id: first.job.id, topic: 'b', payload: { v: 2 }, maxRetries: 7, priority: -3, runAt, status: 'pending', retries: 0 });
    expect(job.created).toEqual(first.job.created);
    expect(await fx.store.jobGet(first.job.id)).toEqual(job);
    expect(await jobCount(fx.store)).toBe(1);
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 1 });
    expect(await fx.store.jobList({ topic: 'b', limit: 5, offset: 0 })).toMatchObject({ total: 1 });
    expect(await fx.store.jobList({ topic: 'a', limit: 5, offset: 0 })).toMatchObject({ total: 0 });
  });

  it('replace of a pending job that failed an attempt keeps its retries and last error', async () => {
    const claimed = await claimedKeyed('k', ['pending', 'processing']);
    expect(await fx.store.jobRetry({ ...claimed, runAt: minutesFromNow(5), error: 'boom' })).toBe(true);
    const { outcome, job } = await insert(keyed('k', { onConflict: 'replace' }, { payload: 'new' }));
    expect(outcome).toBe('replaced');
    expect(job).toMatchObject({ id: claimed.id, payload: 'new', retries: 1, lastError: 'boom' });
  });

  it('replace of a processing holder is a conflict: no second job, the holder untouched', async () => {
    const claimed = await claimedKeyed('k', ['pending', 'processing']);
    const before = await fx.store.jobGet(claimed.id);
    const answer = await insert(keyed('k', { onConflict: 'replace' }, { payload: 'new' }));
    expect(answer).toEqual({ outcome: 'conflict', job: before });
    expect(await fx.store.jobGet(claimed.id)).toEqual(before);
    expect(await jobCount(fx.store)).toBe(1);
  });

  it('with the default states the key is held while pending and processing, and freed on completion', async () => {
    const claimed = await claimedKeyed('k', ['pending', 'processing']);
    expect(await slotOf(fx.store, claimed.id)).toBe('k');
    expect((await insert(keyed('k'))).outcome).toBe('existing');
    expect(await fx.store.jobCompleteMany([claimed])).toEqual([{ id: claimed.id, status: 'completed' }]);
    expect(await slotOf(fx.store, claimed.id)).toBeNull();
    const next = await insert(keyed('k'));
    expect(next.outcome).toBe('created');
    expect(next.job.id).not.toBe(claimed.id);
    expect(await holderOf(fx.store, 'k')).toBe(next.job.id);
    // The completed job keeps its key as a record.
    expect(await fx.store.jobGet(claimed.id)).toMatchObject({ status: 'completed', uniqueKey: 'k' });
  });

  it('the key is freed when the job fails for good (failed not among its states)', async () => {
    const claimed = await claimedKeyed('k', ['pending', 'processing']);
    expect(await fx.store.jobFail({ ...claimed, error: 'x' })).toBe(true);
    expect(await holderOf(fx.store, 'k')).toBeNull();
  });

  it('a retry keeps the key (pending and processing both held)', async () => {
    const claimed = await claimedKeyed('k', ['pending', 'processing']);
    expect(await fx.store.jobRetry({ ...claimed, runAt: minutesFromNow(1), error: 'x' })).toBe(true);
    expect(await holderOf(fx.store, 'k')).toBe(claimed.id);
  });

  it('["pending"]: the claim frees the key, so a new job can wait while the first runs', async () => {
    const claimed = await claimedKeyed('k', ['pending']);
    expect(await slotOf(fx.store, claimed.id)).toBeNull();
    const second = await insert(keyed('k', { states: ['pending'] }, { runAt: minutesFromNow(60) }));
    expect(second.outcome).toBe('created');
    expect(await holderOf(fx.store, 'k')).toBe(second.job.id);
    // The first is retried while the second holds the key: it goes back to pending without it.
    expect(await fx.store.jobRetry({ ...claimed, runAt: minutesFromNow(1), error: 'x' })).toBe(true);
    expect(await fx.store.jobGet(claimed.id)).toMatchObject({ status: 'pending', retries: 1 });
    expect(await holderOf(fx.store, 'k')).toBe(second.job.id);
  });

  it('["pending"]: a retry, or a release, takes the key back when nobody holds it', async () => {
    const claimed = await claimedKeyed('k', ['pending']);
    expect(await fx.store.jobRetry({ ...claimed, runAt: minutesAgo(1), error: 'x' })).toBe(true);
    expect(await holderOf(fx.store, 'k')).toBe(claimed.id);
    const [again] = await claimAll(fx.store);
    expect(await holderOf(fx.store, 'k')).toBeNull();
    expect(await fx.store.jobRelease(again!)).toBe(true);
    expect(await holderOf(fx.store, 'k')).toBe(claimed.id);
  });

  it('a snooze keeps the key with ["pending", "processing"], lets it go with ["processing"], takes it back with ["pending"]', async () => {
    const both = await claimedKeyed('both', ['pending', 'processing']);
    expect(await fx.store.jobSnooze({ ...both, runAt: minutesFromNow(5) })).toBe(true);
    expect(await holderOf(fx.store, 'both')).toBe(both.id);

    const running = await claimedKeyed('running', ['processing']);
    expect(await holderOf(fx.store, 'running')).toBe(running.id);
    expect(await fx.store.jobSnooze({ ...running, runAt: minutesFromNow(5) })).toBe(true);
    expect(await holderOf(fx.store, 'running')).toBeNull();

    const waiting = await claimedKeyed('waiting', ['pending']);
    expect(await holderOf(fx.store, 'waiting')).toBeNull();
    expect(await fx.store.jobSnooze({ ...waiting, runAt: minutesFromNow(5) })).toBe(true);
    expect(await holderOf(fx.store, 'waiting')).toBe(waiting.id);
    expect(await fx.store.jobGet(waiting.id)).toMatchObject({ status: 'pending', snoozes: 1 });
  });

  it('["processing"]: jobs wait without the key; the first claimed takes it, and a rescue frees it', async () => {
    const a = await insert(keyed('k', { states: ['processing'] }));
    const b = await insert(keyed('k', { states: ['processing'] }, { runAt: minutesAgo(0.5) }));
    expect([a.outcome, b.outcome]).toEqual(['created', 'created']);
    expect(await holderOf(fx.store, 'k')).toBeNull();
    const claimed = await claimAll(fx.store);
    expect(claimed.map((j) => j.id)).toEqual([a.job.id, b.job.id]);
    // Both run; one holds the key, whichever the store gave it to first.
    const holder = await holderOf(fx.store, 'k');
    expect([a.job.id, b.job.id]).toContain(holder);
    expect((await insert(keyed('k', { states: ['processing'] }))).outcome).toBe('existing');
    const held = claimed.find((j) => j.id === holder)!;
    expect(await fx.store.jobRescueMany([{ ...held, error: 'lock expired', status: 'pending', runAt: minutesFromNow(1) }])).toEqual([held.id]);
    expect(await holderOf(fx.store, 'k')).toBeNull();
  });

  it('["completed"]: the completion takes the key, and later enqueues meet the completed job', async () => {
    const claimed = await claimedKeyed('k', ['completed']);
    expect(await holderOf(fx.store, 'k')).toBeNull();
    await fx.store.jobCompleteMany([claimed]);
    expect(await holderOf(fx.store, 'k')).toBe(claimed.id);
    const again = await insert(keyed('k', { states: ['completed'] }));
    expect(again.outcome).toBe('existing');
    expect(again.job).toMatchObject({ id: claimed.id, status: 'completed' });
    // A completed holder cannot be replaced.
    expect((await insert(keyed('k', { onConflict: 'replace' }))).outcome).toBe('conflict');
  });

  it('["failed"]: a failure takes the key; a second failure with the key held does without', async () => {
    const a = await insert(keyed('k', { states: ['failed'] }));
    const b = await insert(keyed('k', { states: ['failed'] }));
    expect(b.outcome).toBe('created');
    const [ca, cb] = await claimAll(fx.store);
    expect(await fx.store.jobFail({ ...ca!, error: 'x' })).toBe(true);
    expect(await holderOf(fx.store, 'k')).toBe(a.job.id);
    expect(await fx.store.jobFail({ ...cb!, error: 'y' })).toBe(true);
    expect(await holderOf(fx.store, 'k')).toBe(a.job.id);
    expect(await fx.store.jobGet(b.job.id)).toMatchObject({ status: 'failed', lastError: 'y' });
  });

  it('jobRequeue takes the key back, or names the job holding it and changes nothing', async () => {
    const claimed = await claimedKeyed('k', ['pending', 'processing']);
    await fx.store.jobFail({ ...claimed, error: 'x' });
    const other = await insert(keyed('k'));
    expect(other.outcome).toBe('created');
    const failedRow = await fx.store.jobGet(claimed.id);
    expect(await fx.store.jobRequeue(claimed.id)).toEqual({ keyHeldBy: other.job.id });
    expect(await fx.store.jobGet(claimed.id)).toEqual(failedRow);
    expect(await holderOf(fx.store, 'k')).toBe(other.job.id);

    await rawQuery(fx.store, 'delete from jobs where id = ?', [other.job.id]);
    const requeued = await fx.store.jobRequeue(claimed.id);
    expect(requeued).toMatchObject({ id: claimed.id, status: 'pending', retries: 0, uniqueKey: 'k' });
    expect(await holderOf(fx.store, 'k')).toBe(claimed.id);
  });

  it('jobRequeue of a job whose states leave out pending does not take the key', async () => {
    const claimed = await claimedKeyed('k', ['processing', 'failed']);
    await fx.store.jobFail({ ...claimed, error: 'x' });
    expect(await holderOf(fx.store, 'k')).toBe(claimed.id);
    expect(await fx.store.jobRequeue(claimed.id)).toMatchObject({ status: 'pending' });
    expect(await holderOf(fx.store, 'k')).toBeNull();
  });

  it('deleting the holder frees the key', async () => {
    const first = await insert(keyed('k'));
    expect(await fx.store.jobDelete(first.job.id)).toBe('deleted');
    expect((await insert(keyed('k'))).outcome).toBe('created');
  });

  it('with states that leave out pending, the insert still meets a holder', async () => {
    const first = await insert(keyed('k'));
    const second = await insert(keyed('k', { states: ['completed'] }));
    expect(second).toEqual({ outcome: 'existing', job: first.job });
  });

  it('concurrent inserts of one key from two stores make one job', async () => {
    const other = await fx.openAnother();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? other : fx.store).jobInsertUnique(keyed('race', {}, { payload: { i } }))),
    );
    const created = answers.filter((a) => a.outcome === 'created');
    expect(created).toHaveLength(1);
    expect(new Set(answers.map((a) => a.job.id))).toEqual(new Set([created[0]!.job.id]));
    expect(await jobCount(fx.store)).toBe(1);
  });

  describe('jobInsertManyUnique', () => {
    it('mixes plain and keyed jobs; a key repeated in the batch meets the job made earlier in it', async () => {
      const items = [keyed('b', {}, { payload: 1 }), jobParams(), keyed('a'), keyed('b', {}, { payload: 2 })];
      const result = await fx.store.jobInsertManyUnique(items);
      expect(Array.isArray(result)).toBe(true);
      const outcomes = result as Exclude<typeof result, { conflictIndex: number }>;
      expect(outcomes.map((o) => o.outcome)).toEqual(['created', 'created', 'created', 'existing']);
      expect(outcomes.map((o) => o.job.id)).toEqual([items[0]!.id, items[1]!.id, items[2]!.id, items[0]!.id]);
      expect(outcomes[3]!.job).toEqual(outcomes[0]!.job);
      expect(outcomes[0]!.job.payload).toBe(1);
      expect(outcomes[1]!.job.uniqueKey).toBeNull();
      expect(await jobCount(fx.store)).toBe(3);
      for (const o of outcomes) expect(await fx.store.jobGet(o.job.id)).toEqual(o.job);
    });

    it('replace in a batch: the job made earlier takes the later one, and both answers show it as stored', async () => {
      const items = [keyed('k', {}, { payload: 'one' }), keyed('k', { onConflict: 'replace' }, { payload: 'two', maxRetries: 9 })];
      const outcomes = (await fx.store.jobInsertManyUnique(items)) as { outcome: string; job: { id: string; payload: unknown } }[];
      expect(outcomes.map((o) => o.outcome)).toEqual(['created', 'replaced']);
      expect(outcomes[0]!.job).toEqual(outcomes[1]!.job);
      expect(outcomes[0]!.job).toMatchObject({ id: items[0]!.id, payload: 'two', maxRetries: 9 });
      expect(await fx.store.jobGet(items[0]!.id)).toEqual(outcomes[0]!.job);
    });

    it('a conflict with a stored job refuses the whole batch: nothing written, the conflicting job named', async () => {
      const stored = await insert(keyed('k'));
      const items = [jobParams(), keyed('a'), keyed('k', { onConflict: 'error' }), keyed('z')];
      expect(await fx.store.jobInsertManyUnique(items)).toEqual({ conflictIndex: 2, holder: stored.job });
      expect(await jobCount(fx.store)).toBe(1);
      expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 1 });
      expect(await holderOf(fx.store, 'a')).toBeNull();
    });

    it('a conflict inside the batch refuses it too', async () => {
      const items = [keyed('k'), keyed('k', { onConflict: 'error' })];
      const result = await fx.store.jobInsertManyUnique(items);
      expect(result).toMatchObject({ conflictIndex: 1, holder: { id: items[0]!.id } });
      expect(await jobCount(fx.store)).toBe(0);
    });

    it('of [] is []', async () => {
      expect(await fx.store.jobInsertManyUnique([])).toEqual([]);
    });
  });

  it('jobList filters by unique key, whether the job holds it or not', async () => {
    const claimed = await claimedKeyed('k', ['pending', 'processing']);
    await fx.store.jobCompleteMany([claimed]);
    const second = await insert(keyed('k'));
    await insert(keyed('other'));
    await insertJobs(fx.store, 2);
    const page = await fx.store.jobList({ uniqueKey: 'k', limit: 10, offset: 0 });
    expect(page.total).toBe(2);
    expect(page.items.map((j) => j.id).sort()).toEqual([claimed.id, second.job.id].sort());
    expect(await fx.store.jobList({ uniqueKey: 'k', status: 'completed', limit: 10, offset: 0 })).toMatchObject({
      total: 1,
      items: [{ id: claimed.id }],
    });
    expect(await fx.store.jobList({ uniqueKey: 'k', topic: 'nope', limit: 10, offset: 0 })).toEqual({ items: [], total: 0 });
    expect((await fx.store.jobList({ uniqueKey: 'k', limit: 1, offset: 1 })).items).toHaveLength(1);
  });
});
