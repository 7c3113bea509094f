import { openStore, rawQuery, type Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, dialects, unusedTestDatabase } from '../helpers/databases.js';
import { insertJobs, jobCount, jobParams, useStore } from './fixture.js';
import { undoOperations } from './undo-operations.js';

/**
 * Takes a database back to before the job counts' migration, as a release before it left it:
 * the migration's objects dropped and its record deleted. Returns the migration's name.
 */
async function undoJobCounts(store: Store): Promise<string> {
  const sql = (text: string) => rawQuery(store, text);
  if (store.dialect === 'postgres') {
    for (const t of ['insert', 'update', 'delete', 'truncate']) await sql(`drop trigger jobs_count_${t} on jobs`);
    await sql('drop function jobbase_count_changes()');
    await sql('drop function jobbase_compact_counts()');
    await sql('drop table job_counts');
    await sql(`delete from jb_migrations where name = '0004_job_counts'`);
    return '0004_job_counts';
  }
  for (const t of ['insert', 'update', 'delete']) await sql(`drop trigger jobs_count_${t}`);
  await sql('drop table job_counts');
  await sql(`delete from jb_migrations where name = '0002_job_counts'`);
  return '0002_job_counts';
}

/**
 * Takes a database back to the release before unique keys (the release of job controls): their
 * indexes and columns dropped, the migration's record deleted and, on PostgreSQL, the claim
 * function put back as that release had it (the same, but for the slot it now keeps).
 * Returns the migration's name.
 */
async function undoUniqueKeys(store: Store): Promise<string> {
  const sql = (text: string, params: unknown[] = []) => rawQuery(store, text, params);
  if (store.dialect === 'postgres') {
    const [claim] = await sql(`select prosrc from pg_proc where proname = 'jobbase_claim'`);
    const current = String(claim!.prosrc);
    const before = current.replace(/,\s*unique_slot = case when j\.unique_states & 2 <> 0 then j\.unique_slot end/, '');
    if (before === current) throw new Error('The claim function keeps no slot: this undo is out of date.');
    await sql(`create or replace function jobbase_claim(p_topics text[], p_locked_until timestamptz[], p_limit integer, p_now timestamptz)
      returns setof jobs language plpgsql set enable_bitmapscan = off set enable_sort = off as $$${before}$$`);
  }
  await sql('drop index jobs_unique_slot');
  await sql('drop index jobs_unique_key');
  for (const column of ['unique_key', 'unique_states', 'unique_slot']) await sql(`alter table jobs drop column ${column}`);
  const name = store.dialect === 'postgres' ? '0007_unique_keys' : '0004_unique_keys';
  await sql(`delete from jb_migrations where name = '${name}'`);
  return name;
}

/** The claim function of the release before job controls (PostgreSQL's migration 0005). */
const CLAIM_BEFORE_CONTROLS = `create or replace function jobbase_claim(p_topics text[], p_limit integer, p_now timestamptz, p_locked_until timestamptz)
  returns setof jobs language plpgsql set enable_bitmapscan = off set enable_sort = off as $$
  begin
    return query
    update jobs j set status = 'processing', lock_token = gen_random_uuid()::text, locked_until = p_locked_until, updated = p_now
    where j.id = any(array(
      select id from jobs where status = 'pending' and run_at <= p_now and topic = any(p_topics)
      order by run_at, id limit p_limit for update skip locked
    ))
    returning j.*;
  end
$$`;

/**
 * Takes a database back to the release before job controls: no priority or snoozes columns,
 * the claim index and (PostgreSQL) the claim function as they were. Returns the migration's name.
 */
async function undoJobControls(store: Store): Promise<string> {
  const sql = (text: string) => rawQuery(store, text);
  await sql('drop index jobs_claim');
  await sql('alter table jobs drop column priority');
  await sql('alter table jobs drop column snoozes');
  if (store.dialect === 'postgres') {
    await sql('drop function jobbase_claim(text[], timestamptz[], integer, timestamptz)');
    await sql(`create index jobs_claim on jobs (run_at, id) where status = 'pending'`);
    await sql(CLAIM_BEFORE_CONTROLS);
    await sql(`delete from jb_migrations where name = '0006_job_controls'`);
    return '0006_job_controls';
  }
  await sql('create index jobs_claim on jobs (status, run_at, id)');
  await sql(`delete from jb_migrations where name = '0003_job_controls'`);
  return '0003_job_controls';
}

/** Takes a database back to the release before running jobs (issue 15): its three columns dropped. */
async function undoRunningJobs(store: Store): Promise<string> {
  const sql = (text: string) => rawQuery(store, text);
  for (const column of ['cancel_requested', 'result', 'progress']) await sql(`alter table jobs drop column ${column}`);
  const name = store.dialect === 'postgres' ? '0008_running_jobs' : '0005_running_jobs';
  await sql(`delete from jb_migrations where name = '${name}'`);
  return name;
}

/**
 * Takes a database back to the release before schedules (issue 16): the table and the jobs'
 * schedule columns dropped, the migration's record deleted. Returns the migration's name.
 */
async function undoSchedules(store: Store): Promise<string> {
  const sql = (text: string) => rawQuery(store, text);
  await sql('drop table schedules');
  for (const column of ['schedule_name', 'schedule_tick']) await sql(`alter table jobs drop column ${column}`);
  const name = store.dialect === 'postgres' ? '0009_schedules' : '0006_schedules';
  await sql(`delete from jb_migrations where name = '${name}'`);
  return name;
}

/** Takes a database back to the release before topic control (issue 17): no topics, no start log. */
async function undoTopics(store: Store): Promise<string> {
  await rawQuery(store, 'drop table topic_starts');
  await rawQuery(store, 'drop table topics');
  const name = store.dialect === 'postgres' ? '0010_topics' : '0007_topics';
  await rawQuery(store, `delete from jb_migrations where name = '${name}'`);
  return name;
}

async function migrationNames(store: Store): Promise<string[]> {
  const rows = await rawQuery(store, 'select name from jb_migrations order by name');
  return rows.map((r) => r.name as string);
}

describe.each(dialects())('store: migrate on %s', (dialect) => {
  const fx = useStore(dialect);

  it('a new database opens with every table the store uses, empty', async () => {
    expect(await fx.store.jobCountByStatus()).toEqual({ pending: 0, processing: 0, completed: 0, failed: 0, cancelled: 0 });
    expect(await fx.store.jobList({ limit: 10, offset: 0 })).toEqual({ items: [], total: 0 });
    expect(await fx.store.superuserCount()).toBe(0);
    expect(await fx.store.settingGet('any')).toBeNull();
    expect((await migrationNames(fx.store)).length).toBeGreaterThan(0);
  });

  it('migrate again is a no-op: the same migrations recorded, the data kept', async () => {
    const before = await migrationNames(fx.store);
    const jobs = await insertJobs(fx.store, 3);
    await fx.store.settingInsertIfAbsent('k', 'v');
    await fx.store.migrate();
    await fx.store.migrate();
    expect(await migrationNames(fx.store)).toEqual(before);
    expect(await jobCount(fx.store)).toBe(3);
    expect(await fx.store.jobGet(jobs[0]!.id)).toEqual(jobs[0]);
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 3 });
    expect(await fx.store.settingGet('k')).toBe('v');
  });

  it('opening a database that does not exist creates it, and says so with the migrations it applied', async () => {
    const db = await unusedTestDatabase(dialect);
    try {
      const store = await openStore(db.url);
      let applied: string[];
      try {
        applied = store.opening.migrationsApplied;
        expect(store.opening.databaseCreated).toBe(true);
        expect(applied).toEqual(await migrationNames(store));
        expect(applied.length).toBeGreaterThan(0);
        expect(await store.migrate()).toEqual([]);
      } finally {
        await store.close();
      }
      const again = await openStore(db.url);
      try {
        expect(again.opening).toEqual({ databaseCreated: false, migrationsApplied: [] });
      } finally {
        await again.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('a database of an earlier release is upgraded in place: the missing migration applied, its counts backfilled', async () => {
    const db = await createTestDatabase(dialect);
    try {
      const old = await openStore(db.url);
      const all = await migrationNames(old);
      const missing = await undoJobCounts(old);
      // Jobs written by that release, without the counting triggers.
      const jobs = await insertJobs(old, 3);
      await old.close();

      const upgraded = await openStore(db.url);
      try {
        expect(upgraded.opening.migrationsApplied).toEqual([missing]);
        expect(await migrationNames(upgraded)).toEqual(all);
        expect(await upgraded.jobCountByStatus()).toMatchObject({ pending: 3 });
        expect(await upgraded.jobGet(jobs[0]!.id)).toEqual(jobs[0]);
        await insertJobs(upgraded, 1);
        expect(await upgraded.jobCountByStatus()).toMatchObject({ pending: 4 });
      } finally {
        await upgraded.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('a database of the release before job controls is upgraded in place: its jobs get priority 0 and no snoozes, and claim by priority', async () => {
    const db = await createTestDatabase(dialect);
    try {
      const old = await openStore(db.url);
      const all = await migrationNames(old);
      // That release came before unique keys and issue 18's operations too.
      const latest = await undoOperations(old);
      const later = await undoUniqueKeys(old);
      const missing = await undoJobControls(old);
      // Jobs written by that release, with its columns only.
      const ids = ['01900000-0000-7000-8000-000000000001', '01900000-0000-7000-8000-000000000002'];
      const now = new Date().toISOString();
      for (const id of ids) {
        await rawQuery(
          old,
          `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, created, updated)
           values (?, 'old', '{}', 'pending', ?, 1, 3, ?, ?)`,
          [id, new Date(Date.now() - 60_000).toISOString(), now, now],
        );
      }
      await old.close();

      const upgraded = await openStore(db.url);
      try {
        expect(upgraded.opening.migrationsApplied).toEqual([missing, later, latest]);
        expect(await migrationNames(upgraded)).toEqual(all);
        for (const id of ids) expect(await upgraded.jobGet(id)).toMatchObject({ priority: 0, snoozes: 0, retries: 1, status: 'pending' });
        const [urgent] = await insertJobs(upgraded, 1, () => ({ topic: 'old', priority: -1, runAt: new Date(Date.now() - 1_000) }));
        const claimed = await upgraded.jobClaim({ topics: ['old'], limit: 10, lockDuration: 60_000 });
        expect(claimed.map((j) => j.id)).toEqual([urgent!.id, ...ids]);
        if (dialect === 'postgres') {
          const functions = await rawQuery(upgraded, `select count(*) as n from pg_proc where proname = 'jobbase_claim'`);
          expect(Number(functions[0]!.n)).toBe(1);
        }
      } finally {
        await upgraded.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('a database of the release before unique keys is upgraded in place: its jobs keep, without keys, and keys work', async () => {
    const db = await createTestDatabase(dialect);
    try {
      const old = await openStore(db.url);
      const all = await migrationNames(old);
      const missing = await undoUniqueKeys(old);
      // A job as that release wrote it (the store's own insert now returns the new columns).
      const id = jobParams().id;
      const at = new Date().toISOString();
      await rawQuery(
        old,
        `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, created, updated)
         values (?, 'old', '{"n":1}', 'pending', ?, 0, 3, ?, ?)`,
        [id, at, at, at],
      );
      await old.close();

      const upgraded = await openStore(db.url);
      try {
        expect(upgraded.opening.migrationsApplied).toEqual([missing]);
        expect(await migrationNames(upgraded)).toEqual(all);
        expect(await upgraded.jobGet(id)).toMatchObject({ topic: 'old', payload: { n: 1 }, uniqueKey: null, uniqueStates: null });
        expect(await upgraded.jobCountByStatus()).toMatchObject({ pending: 1 });
        const unique = { key: 'k', states: ['pending'] as const, onConflict: 'existing' as const };
        const first = await upgraded.jobInsertUnique({ ...jobParams({ runAt: new Date(0) }), unique: { ...unique, states: [...unique.states] } });
        expect(first.outcome).toBe('created');
        const again = await upgraded.jobInsertUnique({ ...jobParams(), unique: { ...unique, states: [...unique.states] } });
        expect(again).toEqual({ outcome: 'existing', job: first.job });
        // The claim in place keeps the slot: with ["pending"] it lets the key go.
        const claimed = await upgraded.jobClaim({ topics: ['default', 'old'], limit: 1, lockDuration: 60_000 });
        expect(claimed.map((j) => j.id)).toEqual([first.job.id]);
        const rows = await rawQuery(upgraded, 'select unique_slot from jobs where id = ?', [first.job.id]);
        expect(rows[0]!.unique_slot ?? null).toBeNull();
      } finally {
        await upgraded.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('a database of the release before running jobs is upgraded in place: its jobs keep, and can be cancelled, completed with a result, and report progress', async () => {
    const db = await createTestDatabase(dialect);
    try {
      const old = await openStore(db.url);
      const all = await migrationNames(old);
      // That release had no change feed either (issue 18's triggers read progress): undone first.
      const operations = await undoOperations(old);
      const missing = await undoRunningJobs(old);
      // Jobs as that release wrote them: one waiting, one running.
      const [waiting, running] = [jobParams().id, jobParams().id];
      const at = new Date(Date.now() - 1_000).toISOString();
      for (const id of [waiting, running]) {
        await rawQuery(
          old,
          `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, created, updated)
           values (?, 'old', '{"n":1}', 'pending', ?, 0, 3, ?, ?)`,
          [id, at, at, at],
        );
      }
      await rawQuery(old, `update jobs set status = 'processing', lock_token = 'tok', locked_until = ? where id = ?`, [
        new Date(Date.now() + 60_000).toISOString(),
        running,
      ]);
      await old.close();

      const upgraded = await openStore(db.url);
      try {
        expect(upgraded.opening.migrationsApplied).toEqual([missing, operations]);
        expect(await migrationNames(upgraded)).toEqual(all);
        expect(await upgraded.jobGet(waiting)).toMatchObject({ status: 'pending', cancelRequested: false, result: null, progress: null });
        expect(await upgraded.jobCancel(waiting)).toMatchObject({ outcome: 'cancelled', job: { status: 'cancelled' } });
        expect(await upgraded.jobSetProgress({ id: running, lockToken: 'tok', progressJson: '{"done":1}' })).toEqual({ id: running, cancelRequested: false });
        expect(await upgraded.jobCompleteMany([{ id: running, lockToken: 'tok', resultJson: '[1,2]' }])).toEqual([{ id: running, status: 'completed' }]);
        expect(await upgraded.jobGet(running)).toMatchObject({ status: 'completed', result: [1, 2], progress: { done: 1 } });
        expect(await upgraded.jobCountByStatus()).toMatchObject({ cancelled: 1, completed: 1 });
      } finally {
        await upgraded.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('a database of the release before schedules is upgraded in place: its jobs keep, with no schedule, and schedules fire', async () => {
    const db = await createTestDatabase(dialect);
    try {
      const old = await openStore(db.url);
      const all = await migrationNames(old);
      const missing = await undoSchedules(old);
      // A job as that release wrote and claimed it (the store's own statements now return the new columns).
      const job = jobParams();
      const now = new Date().toISOString();
      await rawQuery(
        old,
        `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, lock_token, locked_until, created, updated)
         values (?, 'default', '{}', 'processing', ?, 0, 3, 'token', ?, ?, ?)`,
        [job.id, now, new Date(Date.now() + 60_000).toISOString(), now, now],
      );
      await old.close();

      const upgraded = await openStore(db.url);
      try {
        expect(upgraded.opening.migrationsApplied).toEqual([missing]);
        expect(await migrationNames(upgraded)).toEqual(all);
        expect(await upgraded.jobGet(job.id)).toMatchObject({ status: 'processing', scheduleName: null, scheduleTick: null });
        const tick = new Date('2026-01-01T00:00:00.000Z');
        await upgraded.scheduleInsert({
          name: 's',
          cron: '* * * * *',
          timezone: 'UTC',
          topic: 'default',
          payloadJson: '{}',
          maxRetries: null,
          priority: null,
          misfire: 'skip',
          overlap: 'allow',
          nextRunAt: tick,
          paused: false,
        });
        const fired = await upgraded.scheduleFire({
          name: 's',
          expectedNextRunAt: tick,
          nextRunAt: new Date('2026-01-01T00:01:00.000Z'),
          jobs: [{ ...jobParams(), schedule: { name: 's', tick } }],
          overlap: 'allow',
        });
        expect(fired.outcome === 'fired' && fired.jobs[0]).toMatchObject({ scheduleName: 's', scheduleTick: tick });
        // The claim (PostgreSQL's function returns whole rows) hands out the new columns too.
        const [made] = await upgraded.jobClaim({ topics: ['default'], limit: 1, lockDuration: 60_000 });
        expect(made).toMatchObject({ scheduleName: 's', scheduleTick: tick });
      } finally {
        await upgraded.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('a database of the release before topic control is upgraded in place: its jobs stay plain until a topic gets settings', async () => {
    const db = await createTestDatabase(dialect);
    try {
      const old = await openStore(db.url);
      const all = await migrationNames(old);
      const missing = await undoTopics(old);
      const jobs = await insertJobs(old, 4, () => ({ topic: 'old', runAt: new Date(Date.now() - 1_000) }));
      await old.close();

      const upgraded = await openStore(db.url);
      try {
        expect(upgraded.opening.migrationsApplied).toEqual([missing]);
        expect(await migrationNames(upgraded)).toEqual(all);
        expect(await upgraded.topicSettingsList()).toEqual([]);
        const [overview] = await upgraded.topicOverview('old');
        expect(overview).toMatchObject({ topic: 'old', counts: { pending: 4 }, settings: null });
        await upgraded.topicSettingsUpdate('old', { maxRunning: 1, rateLimit: { max: 2, perMs: 60_000 } });
        const claim = await upgraded.jobClaimControlled({ topic: 'old', limit: 10, lockDuration: 60_000 });
        expect(claim.jobs.map((j) => j.id)).toEqual([jobs[0]!.id]);
        expect(claim.heldBack).toBe('cap');
        await upgraded.topicSettingsUpdate('old', { paused: true });
        expect(await upgraded.jobClaimControlled({ topic: 'old', limit: 10, lockDuration: 60_000 })).toMatchObject({ jobs: [], heldBack: 'paused' });
      } finally {
        await upgraded.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('two stores opening one new database at once both succeed', async () => {
    const db = await createTestDatabase(dialect);
    const opened = await Promise.allSettled([openStore(db.url), openStore(db.url)]);
    const stores = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    try {
      expect(opened.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok']);
      const [a, b] = stores as [Store, Store];
      expect(await migrationNames(a)).toEqual(await migrationNames(fx.store));
      const [job] = await insertJobs(a, 1);
      expect(await b.jobGet(job!.id)).toEqual(job);
      expect(await b.jobCountByStatus()).toMatchObject({ pending: 1 });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await db.drop();
    }
  });
});
