import { rawQuery, type Store } from '@jobbase/server/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { insertJobs, minutesAgo, minutesFromNow, useStore } from './fixture.js';

const LOCK = 60_000;

/** The jobs of `topic` processing now, as stored. */
async function processing(store: Store, topic: string): Promise<number> {
  const [row] = await rawQuery(store, `select count(*) as n from jobs where status = 'processing' and topic = ?`, [topic]);
  return Number(row!.n);
}

describe.each(dialects())('store: topic settings and the controlled claim on %s', (dialect) => {
  const fx = useStore(dialect);
  beforeEach(async () => {
    for (const table of ['topics', 'topic_starts']) await rawQuery(fx.store, `delete from ${table}`);
  });

  it('topicSettingsUpdate makes the row, applies only the fields given, and null clears them', async () => {
    expect(await fx.store.topicSettingsList()).toEqual([]);
    const capped = await fx.store.topicSettingsUpdate('mail', { maxRunning: 3 });
    expect(capped).toMatchObject({ topic: 'mail', paused: false, maxRunning: 3, rateLimit: null, registeredAt: null });
    const limited = await fx.store.topicSettingsUpdate('mail', { rateLimit: { max: 5, perMs: 1_000 } });
    expect(limited).toMatchObject({ paused: false, maxRunning: 3, rateLimit: { max: 5, perMs: 1_000 } });
    const paused = await fx.store.topicSettingsUpdate('mail', { paused: true });
    expect(paused).toMatchObject({ paused: true, maxRunning: 3, rateLimit: { max: 5, perMs: 1_000 } });
    expect(paused.updated.getTime()).toBeGreaterThanOrEqual(capped.updated.getTime());
    const cleared = await fx.store.topicSettingsUpdate('mail', { paused: false, maxRunning: null, rateLimit: null });
    expect(cleared).toMatchObject({ paused: false, maxRunning: null, rateLimit: null });
    await fx.store.topicSettingsUpdate('a-first', { paused: true });
    expect((await fx.store.topicSettingsList()).map((t) => [t.topic, t.paused])).toEqual([
      ['a-first', true],
      ['mail', false],
    ]);
  });

  it('topicRecordRegistered stamps registered_at and keeps the settings', async () => {
    await fx.store.topicSettingsUpdate('mail', { maxRunning: 2 });
    const before = Date.now();
    await fx.store.topicRecordRegistered(['mail', 'sms']);
    const rows = await fx.store.topicSettingsList();
    expect(rows.map((r) => [r.topic, r.maxRunning])).toEqual([
      ['mail', 2],
      ['sms', null],
    ]);
    for (const row of rows) expect(row.registeredAt!.getTime()).toBeGreaterThanOrEqual(before - 5);
  });

  it('topicOverview: counts by status, the oldest due job, settings; topics with jobs, a row, or both', async () => {
    await insertJobs(fx.store, 3, (i) => ({ topic: 'mail', runAt: [minutesAgo(5), minutesAgo(1), minutesFromNow(5)][i]! }));
    await insertJobs(fx.store, 1, () => ({ topic: 'sms', runAt: minutesFromNow(1) }));
    await fx.store.jobClaim({ topics: ['mail'], limit: 1, lockDuration: LOCK });
    await fx.store.topicSettingsUpdate('idle', { paused: true });
    const overview = await fx.store.topicOverview();
    expect(overview.map((t) => t.topic)).toEqual(['idle', 'mail', 'sms']);
    const [idle, mail, sms] = overview;
    expect(idle).toMatchObject({ counts: { pending: 0, processing: 0, completed: 0, failed: 0 }, oldestDueAt: null, settings: { paused: true } });
    expect(mail).toMatchObject({ counts: { pending: 2, processing: 1, completed: 0, failed: 0 }, settings: null });
    // The job due 5 minutes ago was claimed; the oldest still waiting was due a minute ago.
    expect(Date.now() - mail!.oldestDueAt!.getTime()).toBeGreaterThanOrEqual(60_000);
    expect(Date.now() - mail!.oldestDueAt!.getTime()).toBeLessThan(120_000);
    expect(sms).toMatchObject({ counts: { pending: 1 }, oldestDueAt: null });
    expect(await fx.store.topicOverview('mail')).toEqual([mail]);
    expect(await fx.store.topicOverview('nothing')).toEqual([]);
  });

  it('a paused topic claims nothing and says so; resumed, it claims again', async () => {
    await insertJobs(fx.store, 2, () => ({ topic: 'mail' }));
    await fx.store.topicSettingsUpdate('mail', { paused: true });
    expect(await fx.store.jobClaimControlled({ topic: 'mail', limit: 10, lockDuration: LOCK })).toEqual({ jobs: [], heldBack: 'paused', retryAt: null });
    await fx.store.topicSettingsUpdate('mail', { paused: false });
    const claim = await fx.store.jobClaimControlled({ topic: 'mail', limit: 10, lockDuration: LOCK });
    expect(claim.jobs.map((j) => j.status)).toEqual(['processing', 'processing']);
    expect(claim.heldBack).toBeNull();
  });

  it('max_running: claims never take the topic past its cap, counting jobs other stores claimed', async () => {
    await insertJobs(fx.store, 10, () => ({ topic: 'mail', runAt: minutesAgo(1) }));
    await insertJobs(fx.store, 3, () => ({ topic: 'other', runAt: minutesAgo(1) }));
    await fx.store.jobClaim({ topics: ['other'], limit: 3, lockDuration: LOCK });
    await fx.store.topicSettingsUpdate('mail', { maxRunning: 3 });
    const other = await fx.openAnother();
    const first = await fx.store.jobClaimControlled({ topic: 'mail', limit: 2, lockDuration: LOCK });
    expect(first).toMatchObject({ heldBack: null });
    expect(first.jobs).toHaveLength(2);
    const second = await other.jobClaimControlled({ topic: 'mail', limit: 10, lockDuration: LOCK });
    expect(second.jobs).toHaveLength(1);
    expect(second.heldBack).toBe('cap');
    expect(await other.jobClaimControlled({ topic: 'mail', limit: 10, lockDuration: LOCK })).toMatchObject({ jobs: [], heldBack: 'cap' });
    expect(await processing(fx.store, 'mail')).toBe(3);
    // One finishes: one more may start.
    await fx.store.jobCompleteMany([{ id: first.jobs[0]!.id, lockToken: first.jobs[0]!.lockToken }]);
    expect((await other.jobClaimControlled({ topic: 'mail', limit: 10, lockDuration: LOCK })).jobs).toHaveLength(1);
    expect(await processing(fx.store, 'mail')).toBe(3);
  });

  it('max_running holds under racing claims from several stores', async () => {
    await insertJobs(fx.store, 40, () => ({ topic: 'mail', runAt: minutesAgo(1) }));
    await fx.store.topicSettingsUpdate('mail', { maxRunning: 5 });
    const stores = [fx.store, ...(await Promise.all([1, 2, 3].map(() => fx.openAnother())))];
    const claims = await Promise.all(stores.flatMap((s) => [1, 2, 3].map(() => s.jobClaimControlled({ topic: 'mail', limit: 4, lockDuration: LOCK }))));
    expect(claims.reduce((n, c) => n + c.jobs.length, 0)).toBe(5);
    expect(await processing(fx.store, 'mail')).toBe(5);
  });

  it('rate_limit: at most max starts in a window, across stores; the next start is due when the first leaves the window', async () => {
    await insertJobs(fx.store, 10, () => ({ topic: 'mail', runAt: minutesAgo(1) }));
    await fx.store.topicSettingsUpdate('mail', { rateLimit: { max: 3, perMs: 60_000 } });
    const other = await fx.openAnother();
    const before = Date.now();
    const first = await fx.store.jobClaimControlled({ topic: 'mail', limit: 2, lockDuration: LOCK });
    expect(first.jobs).toHaveLength(2);
    const second = await other.jobClaimControlled({ topic: 'mail', limit: 10, lockDuration: LOCK });
    expect(second.jobs).toHaveLength(1);
    expect(second.heldBack).toBe('rate');
    // Finishing does not give a start back: the limit counts starts, not running jobs.
    await fx.store.jobCompleteMany(first.jobs.map((j) => ({ id: j.id, lockToken: j.lockToken })));
    const third = await fx.store.jobClaimControlled({ topic: 'mail', limit: 10, lockDuration: LOCK });
    expect(third.jobs).toEqual([]);
    expect(third.heldBack).toBe('rate');
    expect(third.retryAt!.getTime()).toBeGreaterThanOrEqual(before + 60_000);
    expect(third.retryAt!.getTime()).toBeLessThanOrEqual(Date.now() + 60_001);
    // The window's starts moved a minute back: they left it, so three more may start.
    await rawQuery(fx.store, 'update topic_starts set started_at = ?', [minutesAgo(2).toISOString()]);
    const fourth = await other.jobClaimControlled({ topic: 'mail', limit: 10, lockDuration: LOCK });
    expect(fourth.jobs).toHaveLength(3);
    // The claim pruned the starts that left the window: only the three of this window are kept.
    const [kept] = await rawQuery(fx.store, `select count(*) as n from topic_starts where topic = 'mail'`);
    expect(Number(kept!.n)).toBe(3);
  });

  it('a rate-limited claim that finds fewer due jobs than it may start is not held back, and logs only its starts', async () => {
    await insertJobs(fx.store, 1, () => ({ topic: 'mail', runAt: minutesAgo(1) }));
    await fx.store.topicSettingsUpdate('mail', { rateLimit: { max: 5, perMs: 60_000 }, maxRunning: 4 });
    const claim = await fx.store.jobClaimControlled({ topic: 'mail', limit: 10, lockDuration: LOCK });
    expect(claim.jobs).toHaveLength(1);
    expect(claim.heldBack).toBeNull();
    const [kept] = await rawQuery(fx.store, `select count(*) as n from topic_starts where topic = 'mail'`);
    expect(Number(kept!.n)).toBe(1);
  });

  it('a topic without a row is claimed as jobClaim would, with its lock', async () => {
    await insertJobs(fx.store, 3, () => ({ topic: 'plain', runAt: minutesAgo(1) }));
    const before = Date.now();
    const claim = await fx.store.jobClaimControlled({ topic: 'plain', limit: 2, lockDuration: 5_000 });
    expect(claim.heldBack).toBeNull();
    expect(claim.jobs).toHaveLength(2);
    for (const job of claim.jobs) {
      expect(job.lockedUntil.getTime()).toBeGreaterThanOrEqual(before + 5_000);
      expect(job.lockedUntil.getTime()).toBeLessThanOrEqual(Date.now() + 5_000);
    }
  });
});
