import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextRuns, type Jobs, type MisfirePolicy } from '@jobbase/server';
import { rawQuery, toDate } from '@jobbase/server/testing';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { waitFor } from './helpers/wait.js';

const HOURLY = '0 * * * *';

/** The engine's clock when it comes back from a downtime that started before 01:00. */
const BACK_AT = new Date('2027-01-01T10:30:00.000Z');
/** The hourly ticks that passed during it: 01:00 to 10:00, each over the one-minute grace. */
const MISSED = Array.from({ length: 10 }, (_, i) => new Date(Date.UTC(2027, 0, 1, i + 1)));

/** Every job the schedule made, oldest tick first, with its tick as ISO text. */
async function jobsOf(jobs: Jobs, name: string) {
  const rows = await rawQuery(jobs.store, 'select id, schedule_name, schedule_tick from jobs where schedule_name = ?', [name]);
  return rows.map((r) => ({ id: String(r.id), tick: r.schedule_tick === null ? null : toDate(r.schedule_tick).toISOString() })).sort((a, b) => String(a.tick).localeCompare(String(b.tick)));
}

describe('nextRuns: croner steps 02:30 Europe/Berlin across both 2027 daylight-saving changes', () => {
  const berlin = { cron: '30 2 * * *', timezone: 'Europe/Berlin' };

  it('spring forward (28 March, 02:00 → 03:00): the missing 02:30 runs once at 03:00 CEST, the first valid time after the gap', () => {
    const runs = nextRuns(berlin, new Date('2027-03-26T00:00:00Z'), 4).map((d) => d.toISOString());
    expect(runs).toEqual(['2027-03-26T01:30:00.000Z', '2027-03-27T01:30:00.000Z', '2027-03-28T01:00:00.000Z', '2027-03-29T00:30:00.000Z']);
  });

  it('fall back (31 October, 03:00 → 02:00): the doubled 02:30 runs once, at its first (CEST) occurrence', () => {
    const runs = nextRuns(berlin, new Date('2027-10-29T12:00:00Z'), 3).map((d) => d.toISOString());
    expect(runs).toEqual(['2027-10-30T00:30:00.000Z', '2027-10-31T00:30:00.000Z', '2027-11-01T01:30:00.000Z']);
  });

  it('an interval job runs through the repeated hour on both occurrences', () => {
    const runs = nextRuns({ cron: '30 * * * *', timezone: 'Europe/Berlin' }, new Date('2027-10-30T23:00:00Z'), 4).map((d) => d.toISOString());
    expect(runs).toEqual(['2027-10-30T23:30:00.000Z', '2027-10-31T00:30:00.000Z', '2027-10-31T01:30:00.000Z', '2027-10-31T02:30:00.000Z']);
  });
});

describe.each(dialects())('schedules in the engine on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(async () => {
    await fx.teardown();
    vi.useRealTimers();
  });

  /** A schedule whose last 10 ticks were missed, fired by a started engine; its jobs once next_run_at is in the future. */
  async function afterDowntime(misfire: MisfirePolicy) {
    // Only Date is faked (and moves on from BACK_AT): the engine's timers and the database run as usual.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(BACK_AT);
    const jobs = await fx.open();
    await jobs.schedule('report', { cron: HOURLY, topic: 'report', misfire });
    // The last process stopped before the 01:00 tick: that is the schedule's next run.
    await rawQuery(jobs.store, 'update schedules set next_run_at = ? where name = ?', [MISSED[0]!.toISOString(), 'report']);
    jobs.start();
    const fired = await waitFor('the schedule to move past now', async () => {
      const s = await jobs.schedules.get('report');
      return s.nextRunAt.getTime() > Date.now() ? s : null;
    });
    return { missed: MISSED, fired, made: await jobsOf(jobs, 'report') };
  }

  it('misfire "skip": none of 10 missed ticks runs; the next run is the next tick from now', async () => {
    const { fired, made } = await afterDowntime('skip');
    expect(made).toEqual([]);
    expect(fired.nextRunAt.toISOString()).toBe('2027-01-01T11:00:00.000Z');
    expect(fired.lastRunAt).toBeNull();
  });

  it('misfire "run_once": one job for all 10 missed ticks, for the latest', async () => {
    const { missed, fired, made } = await afterDowntime('run_once');
    expect(made.map((j) => j.tick)).toEqual([missed[9]!.toISOString()]);
    expect(fired.lastRunAt?.toISOString()).toBe(missed[9]!.toISOString());
    expect(fired.lastJobId).toBe(made[0]!.id);
  });

  it('misfire backfill max 3: the 3 latest missed ticks, each its own job with its own tick', async () => {
    const { missed, made } = await afterDowntime({ backfill: { max: 3 } });
    expect(made.map((j) => j.tick)).toEqual(missed.slice(7).map((t) => t.toISOString()));
  });

  it('misfire backfill max 20 after 10 missed ticks: all 10, no more', async () => {
    const { missed, made } = await afterDowntime({ backfill: { max: 20 } });
    expect(made.map((j) => j.tick)).toEqual(missed.map((t) => t.toISOString()));
  });

  it('a job made by a schedule carries its name and tick through get and list', async () => {
    const { made } = await afterDowntime('run_once');
    const jobs = fx.engines[0]!;
    const job = await jobs.get(made[0]!.id);
    expect(job).toMatchObject({ topic: 'report', scheduleName: 'report', scheduleTick: new Date(made[0]!.tick!) });
    const page = await jobs.list({ topic: 'report' });
    expect(page.items[0]).toMatchObject({ scheduleName: 'report', scheduleTick: new Date(made[0]!.tick!) });
  });

  it('the scheduler fires 02:30 Europe/Berlin once on both 2027 transition days, at croner’s times', async () => {
    // Only Date is faked (and moves on from where it is set): the engine's timers and the database run as usual.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    try {
      vi.setSystemTime(new Date('2027-03-27T12:00:00Z'));
      const jobs = await fx.open({ scheduleInterval: 50 });
      const made = () => jobsOf(jobs, 'berlin');
      const berlin = await jobs.schedule('berlin', { cron: '30 2 * * *', timezone: 'Europe/Berlin', topic: 'berlin' });
      // A witness due at 01:30 UTC every day: once its job for a tick exists, a pass at that time has run.
      await jobs.schedule('witness', { cron: '30 1 * * *', topic: 'witness' });
      // 28 March has no 02:30: croner runs it at the first valid time after the gap, 03:00 CEST.
      expect(berlin.nextRunAt.toISOString()).toBe('2027-03-28T01:00:00.000Z');
      jobs.start();
      vi.setSystemTime(new Date('2027-03-28T01:00:00.200Z'));
      await waitFor('the spring tick', async () => (await made()).length === 1);
      expect((await jobs.schedules.get('berlin')).nextRunAt.toISOString()).toBe('2027-03-29T00:30:00.000Z');
      // Jump to the autumn day (the summer's ticks are missed, misfire "skip"): 02:30 comes twice,
      // at 00:30 and 01:30 UTC; croner runs it once, at the first.
      vi.setSystemTime(new Date('2027-10-31T00:30:00.200Z'));
      await waitFor('the autumn tick', async () => (await made()).length === 2);
      expect((await jobs.schedules.get('berlin')).nextRunAt.toISOString()).toBe('2027-11-01T01:30:00.000Z');
      vi.setSystemTime(new Date('2027-10-31T01:30:00.200Z'));
      await waitFor('a pass at the second 02:30', async () => (await jobsOf(jobs, 'witness')).some((j) => j.tick === '2027-10-31T01:30:00.000Z'));
      expect((await made()).map((j) => j.tick)).toEqual(['2027-03-28T01:00:00.000Z', '2027-10-31T00:30:00.000Z']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a per-second schedule makes one job per tick, consecutive ticks, each due at once', async () => {
    const jobs = await fx.open({ scheduleInterval: 200 });
    await jobs.schedule('tick', { cron: '* * * * * *', topic: 'tick', payload: { hello: 'world' }, priority: 3, maxRetries: 1 });
    jobs.start();
    const made = await waitFor('3 ticks', async () => {
      const m = await jobsOf(jobs, 'tick');
      return m.length >= 3 ? m : null;
    });
    const seconds = made.map((j) => Date.parse(j.tick!) / 1000);
    expect(seconds.every((s, i) => i === 0 || s === seconds[i - 1]! + 1)).toBe(true);
    expect(await jobs.get(made[0]!.id)).toMatchObject({ payload: { hello: 'world' }, priority: 3, maxRetries: 1, status: 'pending' });
  });

  it('overlap "skip": no new job while the last is pending or processing; the skipped ticks are counted', async () => {
    const jobs = await fx.open({ scheduleInterval: 100 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    jobs.register('slow', () => held);
    await jobs.schedule('slow', { cron: '* * * * * *', topic: 'slow', overlap: 'skip' });
    jobs.start();
    await waitFor('two skipped ticks', async () => (await jobs.schedules.get('slow')).skippedTicks >= 2);
    const whileHeld = await jobsOf(jobs, 'slow');
    expect(whileHeld).toHaveLength(1);
    expect((await jobs.schedules.get('slow')).lastSkippedAt).not.toBeNull();
    release();
    await waitFor('a second job once the first completed', async () => (await jobsOf(jobs, 'slow')).length >= 2);
  });

  it('overlap "allow" (default) makes a job per tick while earlier ones wait', async () => {
    const jobs = await fx.open({ scheduleInterval: 100 });
    await jobs.schedule('many', { cron: '* * * * * *', topic: 'nobody-handles-this' });
    jobs.start();
    await waitFor('three waiting jobs', async () => (await jobsOf(jobs, 'many')).length >= 3);
    expect((await jobs.schedules.get('many')).skippedTicks).toBe(0);
  });

  it('engines upserting the same code-defined schedule together make one row and keep its next run', async () => {
    const engines = await Promise.all(
      Array.from({ length: 4 }, () => fx.open({ schedules: [{ name: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', topic: 'nightly' }] })),
    );
    const rows = await rawQuery(engines[0]!.store, `select name, next_run_at from schedules`);
    expect(rows).toHaveLength(1);
    const first = await engines[0]!.schedules.get('nightly');
    expect(first.nextRunAt.toISOString()).toBe(nextRuns({ cron: '0 3 * * *', timezone: 'Europe/Berlin' }, new Date(), 1)[0]!.toISOString());
    // A restart with the same definition keeps next_run_at, even one an outage left in the past.
    await rawQuery(engines[0]!.store, 'update schedules set next_run_at = ?', ['2027-01-01T02:00:00.000Z']);
    await Promise.all(engines.map((e) => e.schedule('nightly', { cron: '0 3 * * *', timezone: 'Europe/Berlin', topic: 'nightly' })));
    expect((await engines[1]!.schedules.get('nightly')).nextRunAt.toISOString()).toBe('2027-01-01T02:00:00.000Z');
    // A new cron moves it to the new expression's next tick.
    const moved = await engines[2]!.schedule('nightly', { cron: '0 4 * * *', timezone: 'Europe/Berlin', topic: 'nightly' });
    expect(moved.nextRunAt.toISOString()).toBe(nextRuns({ cron: '0 4 * * *', timezone: 'Europe/Berlin' }, new Date(), 1)[0]!.toISOString());
  });

  it('pause stops ticks, resume starts from the next tick, trigger makes one job now without counting a tick', async () => {
    const jobs = await fx.open({ scheduleInterval: 100 });
    await jobs.schedule('p', { cron: '* * * * * *', topic: 'p' });
    expect((await jobs.schedules.pause('p')).paused).toBe(true);
    const before = await jobs.schedules.get('p');
    jobs.start();
    const triggered = await jobs.schedules.trigger('p');
    expect(triggered).toMatchObject({ scheduleName: 'p', scheduleTick: null, status: 'pending' });
    // Two passes later a paused per-second schedule has still made nothing but the trigger's job.
    await waitFor('the next run to be in the past', () => Date.now() > before.nextRunAt.getTime() + 300);
    expect(await jobsOf(jobs, 'p')).toEqual([{ id: triggered.id, tick: null }]);
    const paused = await jobs.schedules.get('p');
    expect(paused).toMatchObject({ lastRunAt: null, lastJobId: triggered.id, lastJobStatus: 'pending', nextRunAt: before.nextRunAt });
    const resumed = await jobs.schedules.resume('p');
    expect(resumed.paused).toBe(false);
    expect(resumed.nextRunAt.getTime()).toBeGreaterThan(Date.now() - 1_000);
    await waitFor('a tick after resuming', async () => (await jobsOf(jobs, 'p')).some((j) => j.tick !== null));
  });

  it('create refuses a taken name; update changes fields; delete removes it', async () => {
    const jobs = await fx.open();
    await jobs.schedules.create({ name: 'a', cron: '0 * * * *', topic: 't' });
    await expect(jobs.schedules.create({ name: 'a', cron: '0 * * * *', topic: 't' })).rejects.toMatchObject({
      code: 'validation',
      fields: { name: { code: 'taken' } },
    });
    const updated = await jobs.schedules.update('a', { priority: 5, misfire: { backfill: { max: 2 } }, overlap: 'skip' });
    expect(updated).toMatchObject({ cron: '0 * * * *', priority: 5, misfire: { backfill: { max: 2 } }, overlap: 'skip' });
    expect((await jobs.schedules.list()).map((s) => s.name)).toEqual(['a']);
    await jobs.schedules.delete('a');
    await expect(jobs.schedules.get('a')).rejects.toMatchObject({ code: 'not_found' });
    await expect(jobs.schedules.delete('a')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('refuses a misfire grace shorter than the schedule interval', async () => {
    await expect(fx.open({ scheduleInterval: 5_000, misfireGrace: 1_000 })).rejects.toMatchObject({
      code: 'validation',
      message: 'Option misfireGrace (1000 ms) must be at least scheduleInterval (5000 ms).',
    });
  });

  it.each([
    [{ cron: 'not a cron' }, 'cron'],
    [{ cron: '0 0 30 2 *' }, 'cron'],
    [{ cron: '* * * * * * *' }, 'cron'],
    [{ timezone: 'Mars/Olympus_Mons' }, 'timezone'],
    [{ topic: '' }, 'topic'],
    [{ misfire: 'sometimes' }, 'misfire'],
    [{ misfire: { backfill: { max: 0 } } }, 'misfire'],
    [{ overlap: 'never' }, 'overlap'],
    [{ priority: 1e6 }, 'priority'],
    [{ maxRetries: -1 }, 'max_retries'],
    [{ colour: 'red' }, 'colour'],
  ])('refuses %j, naming %s', async (bad, field) => {
    const jobs = await fx.open();
    const refused = jobs.schedule('bad', { cron: '* * * * *', topic: 't', ...(bad as object) } as never);
    await expect(refused).rejects.toMatchObject({ code: 'validation', fields: { [field]: expect.anything() } });
    expect(await jobs.schedules.list()).toEqual([]);
  });
});
