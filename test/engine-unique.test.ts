import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobsError, type Jobs } from '@jobbase/server';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { waitFor } from './helpers/wait.js';

/** A handler that holds each job until the test lets it go. */
function gate() {
  const running = new Map<string, () => void>();
  return {
    running,
    handler: (job: { id: string }) => new Promise<void>((resolve) => running.set(job.id, resolve)),
    release(id: string) {
      running.get(id)!();
      running.delete(id);
    },
  };
}

const conflict = (holderId: string, field = 'unique_key') =>
  expect.objectContaining({
    code: 'unique_conflict',
    message: expect.stringContaining(`Job "${holderId}" holds the unique key`),
    fields: { [field]: { code: 'conflict', message: expect.stringContaining(holderId) } },
  });

describe.each(dialects())('unique keys in the engine on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  let jobs: Jobs;
  beforeEach(async () => {
    await fx.setup();
    jobs = await fx.open();
  });
  afterEach(() => fx.teardown());

  it('an enqueue says whether it created the job; a second with the key answers the first and writes nothing', async () => {
    const first = await jobs.enqueueWithOptions('mail', { n: 1 }, { uniqueKey: 'welcome:1' });
    expect(first).toMatchObject({ enqueued: 'created', uniqueKey: 'welcome:1', uniqueStates: ['pending', 'processing'] });
    const second = await jobs.enqueueWithOptions('mail', { n: 2 }, { uniqueKey: 'welcome:1' });
    const { enqueued, ...stored } = first;
    expect(second).toEqual({ ...stored, enqueued: 'existing' });
    expect(await jobs.stats()).toMatchObject({ pending: 1, total: 1 });
    // The job as read has no `enqueued`: that belongs to the enqueue's answer.
    expect(await jobs.get(first.id)).toEqual(stored);
    expect(enqueued).toBe('created');
    // Without a key, every enqueue creates.
    expect((await jobs.enqueue('mail', { n: 3 })).enqueued).toBe('created');
  });

  it('onConflict "error" throws a unique_conflict naming the holder', async () => {
    const first = await jobs.enqueueWithOptions('mail', {}, { uniqueKey: 'k' });
    const refused = jobs.enqueueWithOptions('mail', {}, { uniqueKey: 'k', onConflict: 'error' });
    await expect(refused).rejects.toEqual(conflict(first.id));
    await expect(refused).rejects.toBeInstanceOf(JobsError);
    await expect(refused).rejects.toThrow(`Job "${first.id}" holds the unique key "k" (pending).`);
    expect((await jobs.stats()).total).toBe(1);
  });

  it('onConflict "replace" updates a pending holder, and refuses one that is processing: never a second job', async () => {
    const g = gate();
    const first = await jobs.enqueueWithOptions('slow', { v: 1 }, { uniqueKey: 'k', runAt: new Date(Date.now() + 3_600_000), maxRetries: 1 });
    const runAt = new Date(Date.now() - 1_000);
    const replaced = await jobs.enqueueWithOptions('slow', { v: 2 }, { uniqueKey: 'k', onConflict: 'replace', runAt, maxRetries: 4 });
    expect(replaced).toMatchObject({ id: first.id, enqueued: 'replaced', payload: { v: 2 }, runAt, maxRetries: 4 });

    // Now due: a worker picks it up (the replace woke it) and holds it.
    jobs.register('slow', g.handler);
    jobs.start();
    await waitFor('the job to run', () => g.running.has(first.id));
    await expect(jobs.enqueueWithOptions('slow', { v: 3 }, { uniqueKey: 'k', onConflict: 'replace' })).rejects.toEqual(conflict(first.id));
    expect(await jobs.get(first.id)).toMatchObject({ status: 'processing', payload: { v: 2 } });
    expect((await jobs.stats()).total).toBe(1);

    g.release(first.id);
    await waitFor('completion', async () => (await jobs.get(first.id)).status === 'completed');
    // Completed is not among the default states: the key is free again.
    const next = await jobs.enqueueWithOptions('slow', { v: 4 }, { uniqueKey: 'k', onConflict: 'replace' });
    expect(next.enqueued).toBe('created');
    expect(next.id).not.toBe(first.id);
  });

  it('uniqueStates ["pending"]: one job waits per key, even while another with the key runs', async () => {
    const g = gate();
    jobs.register('digest', g.handler);
    jobs.start();
    const running = await jobs.enqueueWithOptions('digest', {}, { uniqueKey: 'user:1', uniqueStates: ['pending'] });
    await waitFor('the first to run', () => g.running.has(running.id));
    const waiting = await jobs.enqueueWithOptions('digest', {}, { uniqueKey: 'user:1', uniqueStates: ['pending'], runAt: new Date(Date.now() + 60_000) });
    expect(waiting.enqueued).toBe('created');
    const third = await jobs.enqueueWithOptions('digest', {}, { uniqueKey: 'user:1', uniqueStates: ['pending'] });
    expect(third).toMatchObject({ id: waiting.id, enqueued: 'existing' });
    g.release(running.id);
    await waitFor('completion', async () => (await jobs.get(running.id)).status === 'completed');
  });

  it('uniqueStates with "completed": a key used once is never enqueued again', async () => {
    jobs.register('once', async () => undefined);
    jobs.start();
    const states = ['pending', 'processing', 'completed'] as const;
    const first = await jobs.enqueueWithOptions('once', {}, { uniqueKey: 'invoice:7', uniqueStates: [...states] });
    await waitFor('completion', async () => (await jobs.get(first.id)).status === 'completed');
    const again = await jobs.enqueueWithOptions('once', {}, { uniqueKey: 'invoice:7', uniqueStates: [...states] });
    expect(again).toMatchObject({ id: first.id, status: 'completed', enqueued: 'existing' });
  });

  it('enqueueMany answers each job with enqueued; a key repeated in the batch meets the job made for it', async () => {
    await jobs.enqueueWithOptions('t', { stored: true }, { uniqueKey: 'stored' });
    const made = await jobs.enqueueMany([
      { topic: 't', payload: 1, uniqueKey: 'a' },
      { topic: 't', payload: 2 },
      { topic: 't', payload: 3, uniqueKey: 'a' },
      { topic: 't', payload: 4, uniqueKey: 'stored' },
      { topic: 't', payload: 5, uniqueKey: 'a', onConflict: 'replace' },
    ]);
    expect(made.map((j) => j.enqueued)).toEqual(['created', 'created', 'existing', 'existing', 'replaced']);
    expect(made[0]!.id).toBe(made[2]!.id);
    expect(made[4]!.id).toBe(made[0]!.id);
    // Every answer for the job shows it as it stands after the batch.
    expect(made.filter((j) => j.id === made[0]!.id).map((j) => j.payload)).toEqual([5, 5, 5]);
    expect(made[3]!.payload).toEqual({ stored: true });
    expect((await jobs.stats()).total).toBe(3);
    // Without keys, the plain batch answers created for each.
    expect((await jobs.enqueueMany([{ topic: 't' }, { topic: 't' }])).map((j) => j.enqueued)).toEqual(['created', 'created']);
  });

  it('enqueueMany with a conflict in "error" mode refuses the whole batch, naming the job', async () => {
    const stored = await jobs.enqueueWithOptions('t', {}, { uniqueKey: 'k' });
    const batch = jobs.enqueueMany([
      { topic: 't', uniqueKey: 'fresh' },
      { topic: 't', uniqueKey: 'k', onConflict: 'error' },
      { topic: 't' },
    ]);
    await expect(batch).rejects.toEqual(conflict(stored.id, 'jobs.1.unique_key'));
    await expect(batch).rejects.toThrow(/^jobs\.1\.unique_key: Job "/);
    expect((await jobs.stats()).total).toBe(1);
    expect((await jobs.list({ uniqueKey: 'fresh' })).total).toBe(0);
  });

  it('requeue of a failed job whose key another job took is a unique_conflict naming it', async () => {
    jobs.register('fails', async () => {
      throw new Error('no');
    });
    jobs.start();
    const failing = await jobs.enqueueWithOptions('fails', {}, { uniqueKey: 'k', maxRetries: 0 });
    await waitFor('failure', async () => (await jobs.get(failing.id)).status === 'failed');
    await jobs.stop();
    const other = await jobs.enqueueWithOptions('fails', {}, { uniqueKey: 'k' });
    expect(other.enqueued).toBe('created');
    await expect(jobs.requeue(failing.id)).rejects.toEqual(
      expect.objectContaining({ code: 'unique_conflict', message: expect.stringContaining(`Job "${other.id}" holds the unique key`) }),
    );
    expect(await jobs.get(failing.id)).toMatchObject({ status: 'failed' });
    await jobs.delete(other.id);
    expect(await jobs.requeue(failing.id)).toMatchObject({ status: 'pending', uniqueKey: 'k' });
  });

  it('list filters by unique key', async () => {
    const a = await jobs.enqueueWithOptions('t', {}, { uniqueKey: 'a' });
    await jobs.enqueueWithOptions('t', {}, { uniqueKey: 'b' });
    await jobs.enqueue('t');
    const page = await jobs.list({ uniqueKey: 'a' });
    expect(page).toMatchObject({ total: 1, items: [{ id: a.id, uniqueKey: 'a' }] });
    expect((await jobs.list({ uniqueKey: 'a', status: 'failed' })).total).toBe(0);
    expect((await jobs.list({})).total).toBe(3);
  });
});

/** What the library refuses before the database; the checks do not depend on the dialect. */
describe('unique key input checks', () => {
  const fx = new EngineFixture('sqlite');
  let jobs: Jobs;
  beforeEach(async () => {
    await fx.setup();
    jobs = await fx.open();
  });
  afterEach(() => fx.teardown());

  const refused = (field: string, message: string) =>
    expect.objectContaining({ code: 'validation', message, fields: { [field]: expect.objectContaining({ message }) } });

  it('unique_key: 1 to 255 characters, a string, no NUL', async () => {
    expect((await jobs.enqueueWithOptions('t', {}, { uniqueKey: 'x'.repeat(255) })).uniqueKey).toHaveLength(255);
    expect((await jobs.enqueueWithOptions('t', {}, { uniqueKey: 'é' })).uniqueKey).toBe('é');
    const cases: [unknown, string][] = [
      ['', 'unique_key must not be empty.'],
      ['x'.repeat(256), 'unique_key must be at most 255 characters.'],
      ['a\u0000b', 'unique_key must be valid Unicode without NUL (\\u0000) characters.'],
      [7, 'unique_key must be a string.'],
    ];
    for (const [uniqueKey, message] of cases) {
      await expect(jobs.enqueueWithOptions('t', {}, { uniqueKey: uniqueKey as string }), String(uniqueKey)).rejects.toEqual(refused('unique_key', message));
    }
  });

  it('unique_states: a non-empty list of statuses; repeats are one', async () => {
    const job = await jobs.enqueueWithOptions('t', {}, { uniqueKey: 'k', uniqueStates: ['failed', 'pending', 'failed'] });
    expect(job.uniqueStates).toEqual(['pending', 'failed']);
    const message = 'unique_states must be a non-empty list of job statuses (pending, processing, completed, failed, cancelled).';
    for (const uniqueStates of [[], ['done'], 'pending', [null]]) {
      await expect(jobs.enqueueWithOptions('t', {}, { uniqueKey: 'k2', uniqueStates: uniqueStates as [] }), JSON.stringify(uniqueStates)).rejects.toEqual(
        refused('unique_states', message),
      );
    }
  });

  it('on_conflict: existing, replace or error', async () => {
    await expect(jobs.enqueueWithOptions('t', {}, { uniqueKey: 'k', onConflict: 'skip' as 'error' })).rejects.toEqual(
      refused('on_conflict', 'on_conflict must be one of existing, replace, error.'),
    );
  });

  it('unique_states and on_conflict need a unique_key', async () => {
    await expect(jobs.enqueueWithOptions('t', {}, { uniqueStates: ['pending'] })).rejects.toEqual(refused('unique_states', 'unique_states needs a unique_key.'));
    await expect(jobs.enqueueWithOptions('t', {}, { onConflict: 'error' })).rejects.toEqual(refused('on_conflict', 'on_conflict needs a unique_key.'));
    expect((await jobs.stats()).total).toBe(0);
  });

  it('in a batch the field names the job', async () => {
    await expect(jobs.enqueueMany([{ topic: 't', uniqueKey: 'ok' }, { topic: 't', uniqueKey: '' }])).rejects.toEqual(
      expect.objectContaining({ code: 'validation', fields: { 'jobs.1.unique_key': expect.objectContaining({ message: 'unique_key must not be empty.' }) } }),
    );
    expect((await jobs.stats()).total).toBe(0);
  });
});
