import { rawQuery, type ScheduleDefinition, type Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { jobParams, minutesAgo, minutesFromNow, useStore } from './fixture.js';

const at = (iso: string) => new Date(iso);

function definition(overrides: Partial<ScheduleDefinition> = {}): ScheduleDefinition {
  return {
    name: 'every-minute',
    cron: '* * * * *',
    timezone: 'UTC',
    topic: 'tick',
    payloadJson: '{"a":1}',
    maxRetries: null,
    priority: null,
    misfire: 'skip',
    overlap: 'allow',
    ...overrides,
  };
}

/** The job of one tick, as the engine would make it. */
const tickJob = (name: string, tick: Date) => ({ ...jobParams({ topic: 'tick' }), schedule: { name, tick } });

async function create(store: Store, overrides: Partial<ScheduleDefinition> = {}, nextRunAt = minutesAgo(1)) {
  expect(await store.scheduleInsert({ ...definition(overrides), nextRunAt, paused: false })).toBe('created');
}

describe.each(dialects())('store: schedules on %s', (dialect) => {
  const fx = useStore(dialect);
  const reset = () => rawQuery(fx.store, 'delete from schedules');

  it('insert, get, list, update, pause, resume and delete', async () => {
    await reset();
    const next = at('2030-01-01T00:00:00.000Z');
    await create(fx.store, { misfire: { backfill: { max: 4 } }, priority: -3, maxRetries: 0 }, next);
    expect(await fx.store.scheduleInsert({ ...definition(), nextRunAt: next, paused: false })).toBe('duplicate');
    const got = await fx.store.scheduleGet('every-minute');
    expect(got).toMatchObject({
      name: 'every-minute',
      payload: { a: 1 },
      misfire: { backfill: { max: 4 } },
      priority: -3,
      maxRetries: 0,
      paused: false,
      nextRunAt: next,
      lastRunAt: null,
      lastJobId: null,
      lastJobStatus: null,
      skippedTicks: 0,
    });
    expect(await fx.store.scheduleUpdate({ ...definition({ cron: '0 * * * *', overlap: 'skip' }), nextRunAt: at('2031-01-01T00:00:00Z') })).toBe(true);
    expect(await fx.store.scheduleGet('every-minute')).toMatchObject({ cron: '0 * * * *', overlap: 'skip', misfire: 'skip', priority: null });
    expect(await fx.store.scheduleSetPaused('every-minute', true, at('2040-01-01T00:00:00Z'))).toBe(true);
    expect(await fx.store.scheduleGet('every-minute')).toMatchObject({ paused: true, nextRunAt: at('2031-01-01T00:00:00Z') });
    expect(await fx.store.scheduleSetPaused('every-minute', false, at('2032-01-01T00:00:00Z'))).toBe(true);
    expect(await fx.store.scheduleGet('every-minute')).toMatchObject({ paused: false, nextRunAt: at('2032-01-01T00:00:00Z') });
    // Resuming a running schedule leaves its next run alone.
    await fx.store.scheduleSetPaused('every-minute', false, at('2033-01-01T00:00:00Z'));
    expect((await fx.store.scheduleGet('every-minute'))!.nextRunAt).toEqual(at('2032-01-01T00:00:00Z'));
    await create(fx.store, { name: 'Another' });
    expect((await fx.store.scheduleList()).map((s) => s.name)).toEqual(['Another', 'every-minute']);
    expect(await fx.store.scheduleDelete('every-minute')).toBe(true);
    expect(await fx.store.scheduleDelete('every-minute')).toBe(false);
    expect(await fx.store.scheduleGet('every-minute')).toBeNull();
  });

  it('upsert creates, then keeps next_run_at and paused unless the cron or time zone changed', async () => {
    await reset();
    await fx.store.scheduleUpsert({ ...definition(), nextRunAt: at('2030-01-01T00:00:00Z') });
    await fx.store.scheduleSetPaused('every-minute', true, new Date());
    await fx.store.scheduleUpsert({ ...definition({ payloadJson: '{"b":2}' }), nextRunAt: at('2035-01-01T00:00:00Z') });
    expect(await fx.store.scheduleGet('every-minute')).toMatchObject({ payload: { b: 2 }, paused: true, nextRunAt: at('2030-01-01T00:00:00Z') });
    await fx.store.scheduleUpsert({ ...definition({ timezone: 'Europe/Berlin' }), nextRunAt: at('2035-01-01T00:00:00Z') });
    expect((await fx.store.scheduleGet('every-minute'))!.nextRunAt).toEqual(at('2035-01-01T00:00:00Z'));
  });

  it('due: unpaused schedules whose next run has come, soonest first', async () => {
    await reset();
    await create(fx.store, { name: 'b' }, minutesAgo(1));
    await create(fx.store, { name: 'a' }, minutesAgo(2));
    await create(fx.store, { name: 'later' }, minutesFromNow(5));
    await create(fx.store, { name: 'paused' }, minutesAgo(3));
    await fx.store.scheduleSetPaused('paused', true, new Date());
    expect((await fx.store.scheduleGetDue(new Date(), 10)).map((s) => s.name)).toEqual(['a', 'b']);
    expect((await fx.store.scheduleGetDue(new Date(), 1)).map((s) => s.name)).toEqual(['a']);
  });

  it('fire: the jobs carry the name and tick; a second fire of the same tick is lost, even after its job was deleted', async () => {
    await reset();
    const tick = at('2026-01-01T00:00:00.000Z');
    await create(fx.store, {}, tick);
    const next = at('2026-01-01T00:01:00.000Z');
    const fired = await fx.store.scheduleFire({ name: 'every-minute', expectedNextRunAt: tick, nextRunAt: next, jobs: [tickJob('every-minute', tick)], overlap: 'allow' });
    expect(fired.outcome).toBe('fired');
    const [job] = fired.outcome === 'fired' ? fired.jobs : [];
    expect(job).toMatchObject({ topic: 'tick', scheduleName: 'every-minute', scheduleTick: tick, status: 'pending' });
    expect(await fx.store.jobGet(job!.id)).toEqual(job);
    expect(await fx.store.scheduleGet('every-minute')).toMatchObject({ nextRunAt: next, lastRunAt: tick, lastJobId: job!.id, lastJobStatus: 'pending' });
    // Retention deletes the tick's job: the tick still cannot fire again.
    await rawQuery(fx.store, 'delete from jobs');
    const again = await fx.store.scheduleFire({ name: 'every-minute', expectedNextRunAt: tick, nextRunAt: next, jobs: [tickJob('every-minute', tick)], overlap: 'allow' });
    expect(again).toEqual({ outcome: 'lost' });
    expect(Number((await rawQuery(fx.store, 'select count(*) as n from jobs'))[0]!.n)).toBe(0);
    expect((await fx.store.scheduleGet('every-minute'))!.lastJobStatus).toBeNull();
  });

  it('fire from several stores at once: one makes the tick’s job, the others are lost', async () => {
    await reset();
    const tick = at('2026-01-01T00:00:00.000Z');
    await create(fx.store, {}, tick);
    const stores = [fx.store, await fx.openAnother(), await fx.openAnother(), await fx.openAnother()];
    const outcomes = await Promise.all(
      stores.map((s) =>
        s.scheduleFire({ name: 'every-minute', expectedNextRunAt: tick, nextRunAt: at('2026-01-01T00:01:00Z'), jobs: [tickJob('every-minute', tick)], overlap: 'allow' }),
      ),
    );
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['fired', 'lost', 'lost', 'lost']);
    expect(Number((await rawQuery(fx.store, 'select count(*) as n from jobs'))[0]!.n)).toBe(1);
  });

  it('fire with overlap "skip" while the last job is pending: no job, the ticks counted; once it finished, a job', async () => {
    await reset();
    const t1 = at('2026-01-01T00:00:00.000Z');
    const t2 = at('2026-01-01T00:01:00.000Z');
    const t3 = at('2026-01-01T00:02:00.000Z');
    await create(fx.store, { overlap: 'skip' }, t1);
    const first = await fx.store.scheduleFire({ name: 'every-minute', expectedNextRunAt: t1, nextRunAt: t2, jobs: [tickJob('every-minute', t1)], overlap: 'skip' });
    expect(first.outcome).toBe('fired');
    const skipped = await fx.store.scheduleFire({ name: 'every-minute', expectedNextRunAt: t2, nextRunAt: t3, jobs: [tickJob('every-minute', t2)], overlap: 'skip' });
    expect(skipped).toEqual({ outcome: 'overlap' });
    expect(await fx.store.scheduleGet('every-minute')).toMatchObject({ nextRunAt: t3, skippedTicks: 1, lastSkippedAt: t2, lastRunAt: t1 });
    await rawQuery(fx.store, `update jobs set status = 'completed'`);
    const third = await fx.store.scheduleFire({ name: 'every-minute', expectedNextRunAt: t3, nextRunAt: at('2026-01-01T00:03:00Z'), jobs: [tickJob('every-minute', t3)], overlap: 'skip' });
    expect(third.outcome).toBe('fired');
  });

  it('a paused or deleted schedule does not fire; trigger makes a job without a tick, paused or not', async () => {
    await reset();
    const tick = minutesAgo(1);
    await create(fx.store, {}, tick);
    await fx.store.scheduleSetPaused('every-minute', true, new Date());
    expect(await fx.store.scheduleFire({ name: 'every-minute', expectedNextRunAt: tick, nextRunAt: new Date(), jobs: [tickJob('every-minute', tick)], overlap: 'allow' })).toEqual({
      outcome: 'lost',
    });
    const job = await fx.store.scheduleTrigger('every-minute', jobParams({ topic: 'tick' }));
    expect(job).toMatchObject({ scheduleName: 'every-minute', scheduleTick: null });
    expect(await fx.store.scheduleGet('every-minute')).toMatchObject({ lastJobId: job!.id, lastRunAt: null, nextRunAt: tick });
    await fx.store.scheduleDelete('every-minute');
    expect(await fx.store.scheduleTrigger('every-minute', jobParams())).toBeNull();
  });
});
