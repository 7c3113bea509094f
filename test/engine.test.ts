import { rawQuery } from '@jobbase/server/testing';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_MAX_PAYLOAD_SIZE, JobsError, type JobContext } from '@jobbase/server';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { watchClaims, withoutPush } from './helpers/claims.js';
import { deferred, waitFor } from './helpers/wait.js';

describe.each(dialects())('engine on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('runs a job and marks it completed', async () => {
    const jobs = await fx.open();
    const seen: JobContext[] = [];
    jobs.register('send_email', (job) => {
      seen.push(job);
    });
    jobs.start();
    const job = await jobs.enqueue('send_email', { to: 'a@b.c' });
    expect(job).toMatchObject({ topic: 'send_email', status: 'pending', retries: 0, maxRetries: 3, lastError: null });
    await waitFor('completion', async () => (await jobs.get(job.id)).status === 'completed');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ id: job.id, payload: { to: 'a@b.c' }, status: 'processing' });
    expect(seen[0]!.signal.aborted).toBe(false);
  });

  it('max_retries 2 with a throwing handler: 3 executions, then failed with retries 2 and last_error', async () => {
    const jobs = await fx.open();
    let executions = 0;
    jobs.register('flaky', () => {
      executions++;
      throw new Error(`attempt ${executions} broke`);
    });
    jobs.start();
    const failed = once(jobs.events, 'job:failed');
    const job = await jobs.enqueueWithOptions('flaky', {}, { maxRetries: 2 });
    await failed;
    const final = await jobs.get(job.id);
    expect(final).toMatchObject({ status: 'failed', retries: 2, maxRetries: 2, lastError: 'attempt 3 broke' });
    expect(executions).toBe(3);
  });

  it('max_retries 0 runs once', async () => {
    const jobs = await fx.open();
    let executions = 0;
    jobs.register('once', () => {
      executions++;
      throw new Error('no');
    });
    jobs.start();
    const failed = once(jobs.events, 'job:failed');
    const job = await jobs.enqueueWithOptions('once', null, { maxRetries: 0 });
    await failed;
    expect(await jobs.get(job.id)).toMatchObject({ status: 'failed', retries: 0, lastError: 'no', payload: null });
    expect(executions).toBe(1);
  });

  it('a retry is scheduled by the backoff and keeps the error until it succeeds', async () => {
    const jobs = await fx.open({ backoff: () => 300 });
    const starts: number[] = [];
    jobs.register('second_time_lucky', () => {
      starts.push(Date.now());
      if (starts.length === 1) throw new Error('first');
    });
    jobs.start();
    const retried = once(jobs.events, 'job:retried');
    const job = await jobs.enqueue('second_time_lucky');
    await retried;
    const waiting = await jobs.get(job.id);
    expect(waiting).toMatchObject({ status: 'pending', retries: 1, lastError: 'first' });
    expect(waiting.runAt.getTime()).toBeGreaterThanOrEqual(starts[0]! + 300);
    await waitFor('completion', async () => (await jobs.get(job.id)).status === 'completed');
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(300);
    expect(await jobs.get(job.id)).toMatchObject({ retries: 1, lastError: 'first' });
  });

  it('a job due in 2 s does not run early', async () => {
    const jobs = await fx.open();
    let startedAt = 0;
    jobs.register('later', () => {
      startedAt = Date.now();
    });
    jobs.start();
    const runAt = new Date(Date.now() + 2_000);
    const done = once(jobs.events, 'job:completed');
    const job = await jobs.enqueueAt('later', {}, runAt);
    expect(job.runAt.toISOString()).toBe(runAt.toISOString());
    await done;
    expect(startedAt).toBeGreaterThanOrEqual(runAt.getTime());
  });

  it('a topic without a handler stays pending', async () => {
    const jobs = await fx.open();
    jobs.register('known', () => {});
    jobs.start();
    const orphan = await jobs.enqueue('unknown');
    const done = once(jobs.events, 'job:completed');
    await jobs.enqueue('known');
    await done;
    // The poller has claimed since the orphan was enqueued; give it a few more rounds.
    for (let i = 0; i < 3; i++) {
      const next = once(jobs.events, 'job:completed');
      await jobs.enqueue('known');
      await next;
    }
    expect(await jobs.get(orphan.id)).toMatchObject({ status: 'pending', retries: 0 });
  });

  it('wakes at once when this process enqueues a due job (no poll wait)', async () => {
    const jobs = await fx.open({ pollInterval: 60_000 });
    let ran = false;
    jobs.register('instant', () => {
      ran = true;
    });
    withoutPush(jobs);
    const claims = watchClaims(jobs);
    jobs.start();
    // Enqueued while a claim is under way, the job would be taken by that claim: wait for sleep.
    await claims.asleep();
    const sleptAfter = claims.claims;
    await jobs.enqueue('instant');
    // A poll would take 60 s; the deadline is generous but far below it.
    await waitFor('the woken worker to run the job', () => ran, { timeout: 10_000 });
    expect(claims.claims).toBeGreaterThan(sleptAfter);
  });

  it('claims the oldest run_at first, and jobs due together in the order they were enqueued', async () => {
    const jobs = await fx.open({ workerPoolSize: 1, batchSize: 1 });
    const past = Date.now() - 60_000;
    // Four due times, three jobs each, enqueued shuffled: neither the enqueue (id) order nor its
    // reverse is the run_at order, and every due time has jobs enqueued early and late.
    const dueSlots = [2, 0, 3, 1, 0, 2, 3, 1, 1, 3, 0, 2];
    const made = [];
    for (const [i, slot] of dueSlots.entries()) {
      made.push(await jobs.enqueueWithOptions('ordered', { i }, { runAt: new Date(past + slot * 1_000) }));
    }
    // Enqueue order is id order (UUIDv7), the tie-break the claim must follow.
    expect(made.map((j) => j.id).sort()).toEqual(made.map((j) => j.id));
    const ran: string[] = [];
    jobs.register('ordered', (job) => {
      ran.push(job.id);
    });
    jobs.start();
    await waitFor('all ran', () => ran.length === made.length);
    const expected = made
      .map((job, i) => ({ id: job.id, slot: dueSlots[i]!, i }))
      .sort((a, b) => a.slot - b.slot || a.i - b.i)
      .map((j) => j.id);
    expect(ran).toEqual(expected);
  });

  it('never runs more handlers than the pool has slots', async () => {
    const jobs = await fx.open({ workerPoolSize: 3, batchSize: 10 });
    let running = 0;
    let peak = 0;
    const gate = deferred();
    jobs.register('slow', async () => {
      running++;
      peak = Math.max(peak, running);
      await gate.promise;
      running--;
    });
    for (let i = 0; i < 10; i++) await jobs.enqueue('slow');
    jobs.start();
    await waitFor('three running', () => running === 3);
    expect((await jobs.stats()).processing).toBe(3);
    gate.resolve();
    await waitFor('all done', async () => (await jobs.stats()).completed === 10);
    expect(peak).toBe(3);
  });

  it('a hung handler loses its lock, is aborted, and the job is retried', async () => {
    const jobs = await fx.open({ lockDuration: 400 });
    let attempts = 0;
    let abortReason: unknown;
    jobs.register('hangs_once', async (job) => {
      attempts++;
      if (attempts === 1) {
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve()));
        abortReason = job.signal.reason;
        await new Promise(() => {}); // ignores the abort: the engine must not wait for it
      }
    });
    jobs.start();
    const job = await jobs.enqueue('hangs_once');
    await waitFor('completion after retry', async () => (await jobs.get(job.id)).status === 'completed');
    expect(attempts).toBe(2);
    expect(abortReason).toBeInstanceOf(JobsError);
    const final = await jobs.get(job.id);
    expect(final.retries).toBe(1);
    expect(final.lastError).toMatch(/lock expired/i);
  });

  it('one rescue pass rescues every expired job, more than one batch of them', async () => {
    const jobs = await fx.open({ rescueInterval: 60_000 });
    await jobs.enqueueMany(Array.from({ length: 250 }, (_, i) => ({ topic: 'abandoned', payload: { i } })));
    const claimed = await jobs.store.jobClaim({ topics: ['abandoned'], limit: 250, lockDuration: 1 });
    expect(claimed).toHaveLength(250);
    await waitFor('every lock to expire', () => Date.now() > Math.max(...claimed.map((j) => j.lockedUntil.getTime())));
    // The first pass runs at start; the next one only after 60 s. No handler, so nothing re-claims them.
    jobs.start();
    await waitFor('all 250 rescued by the first pass', async () => (await jobs.stats()).pending === 250, { timeout: 10_000 });
    expect(await jobs.stats()).toMatchObject({ processing: 0, pending: 250 });
  });

  it('a late finisher whose lock was taken cannot overwrite the new result', async () => {
    const jobs = await fx.open();
    const first = await jobs.enqueueWithOptions('cas', { n: 1 }, { maxRetries: 0 });
    const store = jobs.store;
    const [stale] = await store.jobClaim({ topics: ['cas'], limit: 1, lockDuration: 1 });
    expect(stale!.id).toBe(first.id);
    await waitFor('lock to expire', () => Date.now() > stale!.lockedUntil.getTime());
    const expired = await store.jobGetExpired({ before: new Date(), limit: 10 });
    expect(expired).toEqual([{ id: first.id, topic: 'cas', lockToken: stale!.lockToken, retries: 0, maxRetries: 0 }]);
    expect(await store.jobRescueMany([{ ...expired[0]!, error: 'rescued', status: 'failed' }])).toEqual([first.id]);
    expect(await jobs.get(first.id)).toMatchObject({ status: 'failed', lastError: 'rescued' });
    await jobs.requeue(first.id);
    const [fresh] = await store.jobClaim({ topics: ['cas'], limit: 1, lockDuration: 60_000 });
    expect(fresh!.lockToken).not.toBe(stale!.lockToken);
    // The first worker comes back late: none of its writes may land.
    expect(await store.jobCompleteMany([{ id: first.id, lockToken: stale!.lockToken }])).toEqual([]);
    expect(await store.jobFail({ id: first.id, lockToken: stale!.lockToken, error: 'late' })).toBe(false);
    expect(await store.jobRetry({ id: first.id, lockToken: stale!.lockToken, error: 'late', runAt: new Date() })).toBe(false);
    expect(await store.jobRelease({ id: first.id, lockToken: stale!.lockToken })).toBe(false);
    expect(await jobs.get(first.id)).toMatchObject({ status: 'processing', lastError: null });
    expect(await store.jobCompleteMany([{ id: first.id, lockToken: fresh!.lockToken }])).toEqual([{ id: first.id, status: 'completed' }]);
    expect((await jobs.get(first.id)).status).toBe('completed');
  });

  it('the rescuer retries a job whose worker vanished, counting the attempt', async () => {
    const crashed = await fx.open();
    const job = await crashed.enqueueWithOptions('orphaned', {}, { maxRetries: 1 });
    await crashed.store.jobClaim({ topics: ['orphaned'], limit: 1, lockDuration: 200 });
    const jobs = await fx.open({ rescueInterval: 100, lockDuration: 60_000 });
    let ran = 0;
    jobs.register('orphaned', () => {
      ran++;
    });
    jobs.start();
    await waitFor('rescue and completion', async () => (await jobs.get(job.id)).status === 'completed');
    expect(ran).toBe(1);
    expect(await jobs.get(job.id)).toMatchObject({ retries: 1, lastError: expect.stringMatching(/lock expired/i) });
  });

  it('close and reopen: nothing lost, in-flight jobs run again without an attempt counted', async () => {
    const first = await fx.open({ shutdownTimeout: 200 });
    const started: string[] = [];
    let aborted = 0;
    first.register('long', async (job) => {
      started.push(job.id);
      await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve()));
      aborted++;
    });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await first.enqueue('long', { i })).id);
    first.start();
    await waitFor('all five running', () => started.length === 5);
    await first.close();
    expect(aborted).toBe(5);
    await expect(first.enqueue('long')).rejects.toMatchObject({ code: 'closed' });

    const second = await fx.open();
    const page = await second.list({ topic: 'long' });
    expect(page.total).toBe(5);
    expect(page.items.every((j) => j.status === 'pending' && j.retries === 0)).toBe(true);
    const ran = new Set<string>();
    second.register('long', (job) => {
      ran.add(job.id);
    });
    second.start();
    await waitFor('all five completed', async () => (await second.stats()).completed === 5);
    expect([...ran].sort()).toEqual([...ids].sort());
  });

  it('close waits for in-flight handlers that finish in time', async () => {
    const jobs = await fx.open({ shutdownTimeout: 5_000 });
    const gate = deferred();
    const running = deferred();
    jobs.register('finishes', async () => {
      running.resolve();
      await gate.promise;
    });
    const job = await jobs.enqueue('finishes');
    jobs.start();
    await running.promise;
    const closing = jobs.close();
    gate.resolve();
    await closing;
    const reopened = await fx.open();
    expect((await reopened.get(job.id)).status).toBe('completed');
  });

  it('accepts a payload of exactly 1 MiB and rejects one byte more', async () => {
    const jobs = await fx.open();
    const exact = 'x'.repeat(DEFAULT_MAX_PAYLOAD_SIZE - 2); // JSON adds the two quotes
    const job = await jobs.enqueue('big', exact);
    expect((await jobs.get(job.id)).payload).toBe(exact);
    await expect(jobs.enqueue('big', `${exact}x`)).rejects.toMatchObject({
      code: 'payload_too_large',
      fields: { payload: { code: 'too_large' } },
    });
    // Multi-byte characters count in UTF-8 bytes, not characters.
    await expect(jobs.enqueue('big', 'é'.repeat(DEFAULT_MAX_PAYLOAD_SIZE / 2))).rejects.toMatchObject({
      code: 'payload_too_large',
    });
    expect((await jobs.stats()).total).toBe(1);
  });

  it('validates enqueue input with typed errors', async () => {
    const jobs = await fx.open();
    const cases: [() => Promise<unknown>, string][] = [
      [() => jobs.enqueue(''), 'topic'],
      [() => jobs.enqueue('t'.repeat(256)), 'topic'],
      [() => jobs.enqueue(42 as unknown as string), 'topic'],
      [() => jobs.enqueueWithOptions('t', {}, { maxRetries: -1 }), 'max_retries'],
      [() => jobs.enqueueWithOptions('t', {}, { maxRetries: 1.5 }), 'max_retries'],
      [() => jobs.enqueueAt('t', {}, new Date('nope')), 'run_at'],
      [() => jobs.enqueueAt('t', {}, 'yesterday'), 'run_at'],
      [() => jobs.enqueue('t', { n: 10n }), 'payload'],
    ];
    for (const [call, field] of cases) {
      const err = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, field).toBeInstanceOf(JobsError);
      expect((err as JobsError).code).toBe('validation');
      expect(Object.keys((err as JobsError).fields)).toEqual([field]);
    }
    expect(await jobs.enqueue('t'.repeat(255))).toMatchObject({ topic: 't'.repeat(255) });
    expect(await jobs.enqueueWithOptions('t', {}, { maxRetries: 0 })).toMatchObject({ maxRetries: 0 });
    expect((await jobs.stats()).total).toBe(2);
  });

  it('enqueueMany inserts all in order, and runs them', async () => {
    const jobs = await fx.open();
    const items = Array.from({ length: 1_203 }, (_, i) => ({ topic: i % 3 ? 'bulk' : 'other', payload: { i } }));
    const later = new Date(Date.now() + 3_600_000);
    items.push({ topic: 'bulk', payload: { i: -1 }, runAt: later, maxRetries: 0 } as (typeof items)[number]);
    const made = await jobs.enqueueMany(items);
    expect(made).toHaveLength(1_204);
    expect(made.map((j) => j.payload)).toEqual(items.map((i) => i.payload));
    expect(new Set(made.map((j) => j.id)).size).toBe(1_204);
    expect(made.at(-1)).toMatchObject({ runAt: later, maxRetries: 0, status: 'pending' });
    expect(made[0]).toMatchObject({ topic: 'other', maxRetries: 3, retries: 0, lastError: null });
    // What enqueueMany returns is what was stored, field for field (payload keys in stored order).
    const odd = await jobs.enqueueMany([{ topic: 'kept', payload: { zeta: 1, a: [2, { y: null, b: 'c' }] } }]);
    for (const { enqueued, ...job } of [made[0]!, made[700]!, made.at(-1)!, odd[0]!]) {
      expect(enqueued).toBe('created');
      expect(job).toEqual(await jobs.get(job.id));
    }
    let ran = 0;
    jobs.register('bulk', () => {
      ran++;
    });
    jobs.start();
    await waitFor('bulk jobs done', async () => (await jobs.stats()).completed === 802);
    expect(ran).toBe(802);
    expect(await jobs.enqueueMany([])).toEqual([]);
  });

  it('enqueueMany is all or nothing and names the bad items', async () => {
    const jobs = await fx.open();
    const err = await jobs
      .enqueueMany([
        { topic: 'ok', payload: {} },
        { topic: '', payload: {} },
        { topic: 'ok', payload: {}, maxRetries: -2 },
        { topic: 'ok', payload: 'x'.repeat(DEFAULT_MAX_PAYLOAD_SIZE) },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobsError);
    expect((err as JobsError).code).toBe('validation');
    expect(Object.keys((err as JobsError).fields).sort()).toEqual([
      'jobs.1.topic',
      'jobs.2.max_retries',
      'jobs.3.payload',
    ]);
    expect((err as JobsError).message).toContain('jobs.1.topic');
    expect((await jobs.stats()).total).toBe(0);
  });

  it('register of a taken topic throws', async () => {
    const jobs = await fx.open();
    jobs.register('one', () => {});
    expect(() => jobs.register('one', () => {})).toThrow(expect.objectContaining({ code: 'topic_taken' }));
    expect(() => jobs.register('', () => {})).toThrow(expect.objectContaining({ code: 'validation' }));
  });

  it('unmarshalPayload returns the payload, typed by an optional zod schema', async () => {
    const jobs = await fx.open({ backoff: () => 0 });
    const results: unknown[] = [];
    const schema = z.object({ to: z.string().email(), subject: z.string() });
    jobs.register('typed', (job) => {
      results.push(job.unmarshalPayload());
      const p = job.unmarshalPayload(schema);
      results.push(p.to);
    });
    jobs.start();
    const ok = await jobs.enqueue('typed', { to: 'ann@example.com', subject: 'hi' });
    const bad = await jobs.enqueueWithOptions('typed', { to: 'nope' }, { maxRetries: 0 });
    await waitFor('both finished', async () => (await jobs.stats()).pending + (await jobs.stats()).processing === 0);
    expect((await jobs.get(ok.id)).status).toBe('completed');
    expect(await jobs.get(bad.id)).toMatchObject({ status: 'failed', lastError: expect.stringContaining('to:') });
    expect(results).toContainEqual({ to: 'ann@example.com', subject: 'hi' });
    expect(results).toContain('ann@example.com');
  });

  it('requeue: only failed jobs, back to pending with retries 0, run_at now, last_error cleared', async () => {
    const jobs = await fx.open();
    jobs.register('fails', () => {
      throw new Error('bad');
    });
    jobs.start();
    const failed = once(jobs.events, 'job:failed');
    const job = await jobs.enqueueWithOptions('fails', {}, { maxRetries: 1, runAt: new Date(Date.now() - 60_000) });
    await failed;
    await jobs.stop();
    const before = Date.now();
    const requeued = await jobs.requeue(job.id);
    expect(requeued).toMatchObject({ status: 'pending', retries: 0, lastError: null });
    expect(requeued.runAt.getTime()).toBeGreaterThanOrEqual(before - 5);
    await expect(jobs.requeue(job.id)).rejects.toMatchObject({ code: 'conflict' });
    await expect(jobs.requeue('01936d3c-0000-7000-8000-000000000000')).rejects.toMatchObject({ code: 'not_found' });
    await expect(jobs.requeue('not-a-uuid')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('requeue of a completed, pending or processing job is a conflict and leaves the job as it was', async () => {
    const jobs = await fx.open();
    const store = jobs.store;
    for (const topic of ['retried', 'running', 'done']) await jobs.enqueueWithOptions(topic, { topic }, { maxRetries: 5 });
    // A pending job that has failed once: a wrongly accepted requeue would reset its retries,
    // error and due time.
    const [first] = await store.jobClaim({ topics: ['retried'], limit: 1, lockDuration: 60_000 });
    await store.jobRetry({ id: first!.id, lockToken: first!.lockToken, error: 'first try', runAt: new Date(Date.now() + 3_600_000) });
    const [running] = await store.jobClaim({ topics: ['running'], limit: 1, lockDuration: 60_000 });
    const [done] = await store.jobClaim({ topics: ['done'], limit: 1, lockDuration: 60_000 });
    expect(await store.jobCompleteMany([{ id: done!.id, lockToken: done!.lockToken }])).toEqual([{ id: done!.id, status: 'completed' }]);
    const locks = (id: string) => rawQuery(store, 'select lock_token, locked_until from jobs where id = ?', [id]);

    const stats = await jobs.stats();
    expect(stats).toMatchObject({ pending: 1, processing: 1, completed: 1, failed: 0 });
    for (const [id, status] of [[first!.id, 'pending'], [running!.id, 'processing'], [done!.id, 'completed']] as const) {
      const before = await jobs.get(id);
      expect(before.status).toBe(status);
      const lockBefore = await locks(id);
      const err = await jobs.requeue(id).then(() => undefined, (e: unknown) => e);
      expect(err, status).toBeInstanceOf(JobsError);
      expect(err, status).toMatchObject({ code: 'conflict', message: 'Only failed or cancelled jobs can be requeued.' });
      expect(await jobs.get(id), status).toEqual(before);
      expect(await locks(id), status).toEqual(lockBefore);
    }
    expect(await jobs.stats()).toEqual(stats);
    // The processing job's worker still holds its lock and can finish it.
    expect(await store.jobCompleteMany([{ id: running!.id, lockToken: running!.lockToken }])).toEqual([{ id: running!.id, status: 'completed' }]);
  });

  it('delete: pending and failed only', async () => {
    const jobs = await fx.open();
    const pending = await jobs.enqueue('x');
    const processing = await jobs.enqueue('y');
    const completed = await jobs.enqueue('z');
    const failed = await jobs.enqueueWithOptions('w', {}, { maxRetries: 0 });
    const store = jobs.store;
    const [claimedY] = await store.jobClaim({ topics: ['y'], limit: 1, lockDuration: 60_000 });
    const [claimedZ] = await store.jobClaim({ topics: ['z'], limit: 1, lockDuration: 60_000 });
    await store.jobCompleteMany([{ id: claimedZ!.id, lockToken: claimedZ!.lockToken }]);
    const [claimedW] = await store.jobClaim({ topics: ['w'], limit: 1, lockDuration: 60_000 });
    await store.jobFail({ id: claimedW!.id, lockToken: claimedW!.lockToken, error: 'x' });
    expect(claimedY!.id).toBe(processing.id);

    await jobs.delete(pending.id);
    await jobs.delete(failed.id);
    await expect(jobs.delete(processing.id)).rejects.toMatchObject({ code: 'conflict' });
    await expect(jobs.delete(completed.id)).rejects.toMatchObject({ code: 'conflict' });
    await expect(jobs.delete(pending.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(jobs.get(pending.id)).rejects.toMatchObject({ code: 'not_found' });
    expect(await jobs.stats()).toEqual({
      pending: 0,
      processing: 1,
      completed: 1,
      failed: 0,
      cancelled: 0,
      total: 2,
      success_rate: 1,
    });
  });

  it('lists newest first with filters, paging and total', async () => {
    const jobs = await fx.open();
    const made = [];
    for (let i = 0; i < 7; i++) made.push(await jobs.enqueue(i % 2 ? 'odd' : 'even', { i }));
    const page = await jobs.list({ limit: 3, offset: 1 });
    expect(page.total).toBe(7);
    expect(page.items.map((j) => j.payload)).toEqual([{ i: 5 }, { i: 4 }, { i: 3 }]);
    const odd = await jobs.list({ topic: 'odd' });
    expect(odd.total).toBe(3);
    expect(odd.items.map((j) => j.id)).toEqual([made[5]!.id, made[3]!.id, made[1]!.id]);
    expect((await jobs.list({ status: 'completed' })).total).toBe(0);
    expect((await jobs.list({ topic: 'odd', status: 'pending', offset: 2 })).items).toHaveLength(1);
  });

  it('every page, read from the newer or the older end, is the same slice of the whole list', async () => {
    const jobs = await fx.open();
    // A batch shares one created time, so ties are broken by id, in both directions.
    const made = await jobs.enqueueMany(Array.from({ length: 9 }, (_, i) => ({ topic: i % 3 ? 'a' : 'b', payload: { i } })));
    for (let i = 9; i < 23; i++) made.push(await jobs.enqueue(i % 3 ? 'a' : 'b', { i }));
    await jobs.delete(made[4]!.id);
    const left = made.filter((_, i) => i !== 4);
    const newestFirst = (list: typeof made) =>
      [...list].sort((x, y) => y.created.getTime() - x.created.getTime() || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0)).map((j) => j.id);
    for (const filter of [{}, { topic: 'a' }, { topic: 'b', status: 'pending' as const }, { status: 'failed' as const }]) {
      const expected = newestFirst(left.filter((j) => (!('topic' in filter) || j.topic === filter.topic) && (!('status' in filter) || filter.status === 'pending')));
      for (const limit of [1, 2, 5, 7, 30]) {
        for (let offset = 0; offset <= expected.length + 1; offset++) {
          const page = await jobs.list({ ...filter, limit, offset });
          expect(page.total).toBe(expected.length);
          expect(page.items.map((j) => j.id), `${JSON.stringify(filter)} limit ${limit} offset ${offset}`).toEqual(expected.slice(offset, offset + limit));
        }
      }
    }
  });

  it('the kept counts match the table through enqueues, runs, retries, failures, requeues, deletes and retention', async () => {
    const jobs = await fx.open({ cleanupInterval: 50 });
    const counted = async () => {
      const rows: { topic: string; status: string; n: number | string }[] = await rawQuery(jobs.store, 'select topic, status, count(*) as n from jobs group by topic, status');
      return rows.map((r) => ({ topic: r.topic, status: r.status, n: Number(r.n) }));
    };
    const expectCountsMatch = async () => {
      const rows = await counted();
      const byStatus = (status: string, list = rows) => list.filter((r) => r.status === status).reduce((sum, r) => sum + r.n, 0);
      const stats = await jobs.stats();
      for (const status of ['pending', 'processing', 'completed', 'failed'] as const) expect(stats[status], status).toBe(byStatus(status));
      for (const r of rows) expect((await jobs.list({ topic: r.topic, status: r.status as 'pending', limit: 1 })).total).toBe(r.n);
      for (const topic of new Set(rows.map((r) => r.topic))) {
        expect((await jobs.list({ topic, limit: 1 })).total).toBe(rows.filter((r) => r.topic === topic).reduce((sum, r) => sum + r.n, 0));
      }
      expect((await jobs.list({ limit: 1 })).total).toBe(stats.total);
    };

    jobs.register('ok', () => undefined);
    jobs.register('broken', () => {
      throw new Error('no');
    });
    await jobs.enqueueMany(Array.from({ length: 150 }, (_, i) => ({ topic: i % 5 ? 'ok' : 'broken', payload: { i }, maxRetries: 1 })));
    for (let i = 0; i < 20; i++) await jobs.enqueue('idle', { i });
    await expectCountsMatch();
    jobs.start();
    await waitFor('all ran', async () => {
      const s = await jobs.stats();
      return s.completed === 120 && s.failed === 30;
    });
    await expectCountsMatch();
    const failed = (await jobs.list({ status: 'failed', limit: 10 })).items;
    for (const job of failed.slice(0, 5)) await jobs.requeue(job.id);
    for (const job of failed.slice(5)) await jobs.delete(job.id);
    for (const job of (await jobs.list({ topic: 'idle', limit: 7 })).items) await jobs.delete(job.id);
    await waitFor('requeued jobs failed again', async () => (await jobs.stats()).failed === 25);
    await expectCountsMatch();
    await jobs.close();

    const cleaning = await fx.open({ retention: { completed: 0 }, cleanupInterval: 50 });
    cleaning.start();
    await waitFor('completed jobs deleted', async () => (await cleaning.stats()).completed === 0);
    await cleaning.close();
    const reopened = await fx.open();
    expect(await reopened.stats()).toMatchObject({ pending: 13, processing: 0, completed: 0, failed: 25, total: 38 });
    if ('compactCounts' in reopened.store) {
      const deltas = async () => Number((await rawQuery(reopened.store, 'select count(*) as n from job_counts'))[0]!.n);
      // A compaction already under way (the store's own, every few seconds) makes this one skip.
      const compact = () => (reopened.store as unknown as { compactCounts(): Promise<void> }).compactCounts();
      await waitFor('the deltas to be compacted', async () => (await compact(), (await deltas()) === 2));
      expect(await deltas()).toBe(2); // idle/pending and broken/failed; the zero rows are gone
      expect(await reopened.stats()).toMatchObject({ pending: 13, failed: 25, total: 38 });
      await rawQuery(reopened.store, 'truncate jobs');
      expect(await reopened.stats()).toMatchObject({ pending: 0, failed: 0, total: 0 });
    }
  });

  it('stats: success_rate is 0 when nothing finished', async () => {
    const jobs = await fx.open();
    expect(await jobs.stats()).toEqual({
      pending: 0,
      processing: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
      total: 0,
      success_rate: 0,
    });
  });

  it('several engines starting on a new database at once all migrate it', async () => {
    const engines = await Promise.all([fx.open(), fx.open(), fx.open()]);
    const job = await engines[0]!.enqueue('shared');
    for (const jobs of engines) expect((await jobs.get(job.id)).topic).toBe('shared');
  });

  it('retention deletes finished jobs past their age, in batches, and keeps the rest', async () => {
    const keeper = await fx.open();
    const old = await keeper.enqueueMany(Array.from({ length: 2_500 }, (_, i) => ({ topic: 'done', payload: { i } })));
    const claimed = await keeper.store.jobClaim({ topics: ['done'], limit: 3_000, lockDuration: 60_000 });
    expect(await keeper.store.jobCompleteMany(claimed.map((j) => ({ id: j.id, lockToken: j.lockToken })))).toHaveLength(2_500);
    const failed = await keeper.enqueueWithOptions('broken', {}, { maxRetries: 0 });
    const [f] = await keeper.store.jobClaim({ topics: ['broken'], limit: 1, lockDuration: 60_000 });
    await keeper.store.jobFail({ id: f!.id, lockToken: f!.lockToken, error: 'x' });
    const pending = await keeper.enqueue('waiting');
    await keeper.close();

    // A long retention deletes nothing.
    const patient = await fx.open({ retention: { completed: 3_600_000, failed: 3_600_000 }, cleanupInterval: 50 });
    patient.start();
    await patient.stop();
    expect((await patient.stats()).completed).toBe(2_500);
    await patient.close();

    const jobs = await fx.open({ retention: { completed: 0 }, cleanupInterval: 50 });
    jobs.start();
    await waitFor('completed jobs deleted', async () => (await jobs.stats()).completed === 0);
    expect(await jobs.stats()).toMatchObject({ completed: 0, failed: 1, pending: 1, total: 2 });
    expect((await jobs.get(failed.id)).status).toBe('failed');
    expect((await jobs.get(pending.id)).status).toBe('pending');
    await expect(jobs.get(old[0]!.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(fx.open({ retention: { completed: -1 } })).rejects.toMatchObject({ code: 'validation' });
  });

  it('rejects bad options', async () => {
    await expect(fx.open({ workerPoolSize: 0 })).rejects.toMatchObject({ code: 'validation' });
    await expect(fx.open({ lockDuration: 2 ** 40 })).rejects.toMatchObject({ code: 'validation' });
    await expect(fx.open({ maxRetries: -1 })).rejects.toMatchObject({ code: 'validation' });
  });
});
