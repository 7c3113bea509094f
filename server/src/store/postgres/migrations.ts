import { Migration } from '@mikro-orm/migrations';

/**
 * - jobs_claim is partial on exactly the rows the claim reads (`status = 'pending'`, an
 *   immutable predicate), ordered as the claim orders, so it stays small however many
 *   completed jobs the table keeps;
 * - jobs_lock is partial on the rows the rescuer reads;
 * - the list indexes serve `order by created desc, id desc` with and without filters.
 */
class InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table jobs (
      id uuid not null primary key,
      topic varchar(255) not null,
      payload jsonb not null,
      status varchar(16) not null,
      run_at timestamptz not null,
      retries integer not null default 0,
      max_retries integer not null,
      last_error text null,
      lock_token varchar(36) null,
      locked_until timestamptz null,
      created timestamptz not null,
      updated timestamptz not null
    )`);
    this.addSql(`create index jobs_claim on jobs (run_at, id) where status = 'pending'`);
    this.addSql(`create index jobs_lock on jobs (locked_until) where status = 'processing'`);
    this.addSql('create index jobs_created on jobs (created, id)');
    this.addSql('create index jobs_topic_created on jobs (topic, created, id)');
    this.addSql('create index jobs_status_created on jobs (status, created, id)');
    this.addSql(`create table superusers (
      id varchar(36) not null primary key,
      email varchar(255) not null unique,
      password_hash varchar(255) not null,
      token_key varchar(64) not null,
      created timestamptz not null,
      updated timestamptz not null
    )`);
    this.addSql('create table settings (key varchar(64) not null primary key, value text not null)');
  }
}

/**
 * The claim as a function, so it can carry its own planner settings. Its best plan is always an
 * ordered walk of jobs_claim that stops after `limit` rows; but right after a bulk insert, before
 * autovacuum has analyzed the table, the planner believed a handful of rows were pending and
 * chose a bitmap scan of every pending row plus a sort: 6–15 ms per claim with 20,000 waiting
 * against 0.7 ms. With bitmap scans and sorts priced out inside the function, the ordered index
 * walk wins whatever the statistics say. Autovacuum is also told to analyze this churning table
 * after 1% of it changed rather than 10%.
 */
class ClaimFunction extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function jobbase_claim(p_topics text[], p_limit integer, p_now timestamptz, p_locked_until timestamptz)
      returns setof jobs
      language sql
      set enable_bitmapscan = off
      set enable_sort = off
      as $$
        with c as (
          select id from jobs
          where status = 'pending' and run_at <= p_now and topic = any(p_topics)
          order by run_at, id limit p_limit
          for update skip locked
        )
        update jobs j set status = 'processing', lock_token = gen_random_uuid()::text,
          locked_until = p_locked_until, updated = p_now
        from c where j.id = c.id
        returning j.*
      $$`);
    this.addSql(
      'alter table jobs set (autovacuum_analyze_scale_factor = 0.01, autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01)',
    );
  }
}

/**
 * Inside the function the limit is a parameter, so the planner guessed thousands of claimed
 * rows and joined the UPDATE to them with a hash join over a sequential scan of the whole table
 * (EXPLAIN ANALYZE: 44 ms with 100,000 rows, 271 ms with 1,000,000, against 0.07 ms for the
 * index walk itself). Feeding the UPDATE an array of ids makes it a primary-key lookup per id.
 */
class ClaimByIdArray extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function jobbase_claim(p_topics text[], p_limit integer, p_now timestamptz, p_locked_until timestamptz)
      returns setof jobs
      language sql
      set enable_bitmapscan = off
      set enable_sort = off
      as $$
        update jobs j set status = 'processing', lock_token = gen_random_uuid()::text,
          locked_until = p_locked_until, updated = p_now
        where j.id = any(array(
          select id from jobs
          where status = 'pending' and run_at <= p_now and topic = any(p_topics)
          order by run_at, id limit p_limit
          for update skip locked
        ))
        returning j.*
      $$`);
  }
}

/**
 * Counts of jobs by topic and status, so the stats and a list's total read a handful of rows
 * instead of counting the table (on a million jobs: 80–130 ms, the better part of the 200 ms
 * budget). Concurrent workers must not queue up behind one counter row, so nothing is updated
 * in place: statement-level triggers append one delta row per topic and status a statement
 * changed (a claim of ten jobs appends two: -10 pending, +10 processing), in the statement's
 * own transaction, and readers sum them. `jobbase_compact_counts` folds the deltas into one row
 * per topic and status; the store runs it every few seconds. The backfill and the triggers are
 * created in one transaction whose trigger DDL locks out writers, so no change is missed or
 * counted twice.
 */
class JobCounts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table job_counts (
      topic varchar(255) not null,
      status varchar(16) not null,
      n bigint not null
    )`);
    this.addSql(`create function jobbase_count_changes() returns trigger language plpgsql as $$
      begin
        if tg_op = 'TRUNCATE' then
          delete from job_counts;
        elsif tg_op = 'INSERT' then
          insert into job_counts (topic, status, n)
            select topic, status, count(*) from new_rows group by topic, status;
        elsif tg_op = 'DELETE' then
          insert into job_counts (topic, status, n)
            select topic, status, -count(*) from old_rows group by topic, status;
        else
          insert into job_counts (topic, status, n)
            select topic, status, sum(d) from (
              select topic, status, 1 as d from new_rows
              union all
              select topic, status, -1 from old_rows
            ) c group by topic, status having sum(d) <> 0;
        end if;
        return null;
      end
    $$`);
    this.addSql(`create trigger jobs_count_insert after insert on jobs
      referencing new table as new_rows for each statement execute function jobbase_count_changes()`);
    this.addSql(`create trigger jobs_count_update after update on jobs
      referencing old table as old_rows new table as new_rows for each statement execute function jobbase_count_changes()`);
    this.addSql(`create trigger jobs_count_delete after delete on jobs
      referencing old table as old_rows for each statement execute function jobbase_count_changes()`);
    this.addSql(`create trigger jobs_count_truncate after truncate on jobs
      for each statement execute function jobbase_count_changes()`);
    this.addSql(`insert into job_counts (topic, status, n) select topic, status, count(*) from jobs group by topic, status`);
    // One compaction at a time (others skip), so two never wait on each other's deleted rows.
    this.addSql(`create function jobbase_compact_counts() returns void language plpgsql as $$
      begin
        if pg_try_advisory_xact_lock(5622274) then
          with d as (delete from job_counts returning topic, status, n)
          insert into job_counts (topic, status, n)
            select topic, status, sum(n) from d group by topic, status having sum(n) <> 0;
        end if;
      end
    $$`);
  }
}

/**
 * The claim in PL/pgSQL: a SQL-language function that cannot be inlined (its SET clauses forbid
 * it) is parsed and planned again on every call, while PL/pgSQL caches its plan per
 * connection. Claiming one waiting job, alternating the two 1,800 times each: p50 667 → 544 µs,
 * p90 842 → 644 µs; the cached generic plan is the same ordered walk of jobs_claim (EXPLAIN
 * under `plan_cache_mode = force_generic_plan` on 300,000 waiting). The body is unchanged.
 */
class ClaimInPlpgsql extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function jobbase_claim(p_topics text[], p_limit integer, p_now timestamptz, p_locked_until timestamptz)
      returns setof jobs
      language plpgsql
      set enable_bitmapscan = off
      set enable_sort = off
      as $$
        begin
          return query
          update jobs j set status = 'processing', lock_token = gen_random_uuid()::text,
            locked_until = p_locked_until, updated = p_now
          where j.id = any(array(
            select id from jobs
            where status = 'pending' and run_at <= p_now and topic = any(p_topics)
            order by run_at, id limit p_limit
            for update skip locked
          ))
          returning j.*;
        end
      $$`);
  }
}

/**
 * Issue 14's controls: `priority` (lower runs first among due jobs) and `snoozes` (times a
 * handler put the job back for later). jobs_claim leads with priority, so the claim walks one
 * priority's due jobs in run_at, id order; the claim function takes each topic's lock expiry
 * now (per-topic lock durations), so the old one is dropped and PostgresStore.migrate puts the
 * new one (CLAIM_FUNCTION in store.ts) in place. Existing jobs get priority 0 and no snoozes
 * (a constant default: no table rewrite). SQLite's migration of the same columns is its 0003;
 * here the number follows this list's own, since names sort in the order they apply.
 */
class JobControls extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table jobs add column priority smallint not null default 0');
    this.addSql('alter table jobs add column snoozes integer not null default 0');
    this.addSql('drop index jobs_claim');
    this.addSql(`create index jobs_claim on jobs (priority, run_at, id) where status = 'pending'`);
    this.addSql('drop function jobbase_claim(text[], integer, timestamptz, timestamptz)');
  }
}

/**
 * Unique keys (see store/unique-keys.ts): the key, its states as a bitmask, and the slot that
 * holds the key while the job is in those states. Columns added NULL without a default, so no
 * table rewrite. Both indexes are partial on `is not null`: jobs without a key have no entry
 * in them, and a claim or a completion setting their slot from NULL to NULL writes none.
 * jobs_unique_key serves the list filtered by key, newest first. The claim function's new body
 * (it keeps the slot too) is put in place by migrate(), as always.
 */
class UniqueKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table jobs
      add column unique_key varchar(255) null,
      add column unique_states smallint null,
      add column unique_slot varchar(255) null`);
    this.addSql('create unique index jobs_unique_slot on jobs (unique_slot) where unique_slot is not null');
    this.addSql('create index jobs_unique_key on jobs (unique_key, created, id) where unique_key is not null');
  }
}

/** Bytes of change text per notification before a new one starts; see Operations. */
const CHANGES_BYTES = 6_000;

/**
 * Issue 18's operations. `trace_context`: the enqueuer's W3C trace context, for the handler's
 * span link (null for existing jobs; added without a default, so no table rewrite). The change
 * feed: statement-level triggers NOTIFY `jobbase_changes` with what each statement did to jobs
 * (created, a status move, deleted), sent at commit, so `GET /api/jobs/events` sees the jobs of
 * every process. One notification carries as many changes as fit in CHANGES_BYTES, as a JSON
 * array of [type, id, topic, status] (about 80 of them with short topics): a claim or a batched
 * completion of 100 jobs sends 2 notifications, not 100. The change types are SQLite's
 * CHANGE_TYPE_SQL, written out here; a row whose status stays and whose progress changed is a
 * `progress` change (SQLite's jobs_change_progress). A statement that changes neither (a
 * heartbeat renewing locked_until) sends nothing.
 *
 * `jit = off` on the trigger function and the count trigger's (and the claim's, store.ts): a trigger runs with
 * the settings of the statement that fired it, and inside the claim (`enable_sort = off`) the
 * sorts of the feed's query are priced at 10^10, over `jit_above_cost`, so PostgreSQL compiled
 * it on every claim: 200–250 ms a statement (auto_explain: JIT 247 ms of 247), and the drain
 * fell from ~5,000 to ~20 jobs/s. No statement of these functions touches enough rows for JIT
 * to pay.
 */
class Operations extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table jobs add column trace_context text null');
    // Each change is one JSON array; a notification takes changes in order while their text
    // stays under CHANGES_BYTES (so with the commas and brackets under NOTIFY's 8,000 bytes,
    // whatever the topics: 255 characters of escapes take 1.5 KB).
    this.addSql(`create function jobbase_notify_changes() returns trigger language plpgsql set jit = off as $$
      begin
        if tg_op = 'INSERT' then
          perform pg_notify('jobbase_changes', '[' || string_agg(c, ',' order by n) || ']') from (
            select c, n, (sum(octet_length(c) + 1) over (order by n) - 1) / ${CHANGES_BYTES} as chunk from (
              select json_build_array('created', id, topic, status)::text as c, row_number() over () as n from new_rows
            ) e
          ) x group by chunk;
        elsif tg_op = 'DELETE' then
          perform pg_notify('jobbase_changes', '[' || string_agg(c, ',' order by n) || ']') from (
            select c, n, (sum(octet_length(c) + 1) over (order by n) - 1) / ${CHANGES_BYTES} as chunk from (
              select json_build_array('deleted', id, topic, status)::text as c, row_number() over () as n from old_rows
            ) e
          ) x group by chunk;
        else
          perform pg_notify('jobbase_changes', '[' || string_agg(c, ',' order by n) || ']') from (
            select c, n, (sum(octet_length(c) + 1) over (order by n) - 1) / ${CHANGES_BYTES} as chunk from (
              select json_build_array(case
                  when n.status = o.status then 'progress'
                  when n.status = 'processing' then 'started'
                  when o.status = 'processing' and n.status = 'pending' and n.retries > o.retries then 'retried'
                  when o.status = 'processing' and n.status = 'pending' and n.snoozes > o.snoozes then 'snoozed'
                  when o.status = 'processing' and n.status = 'pending' then 'released'
                  when n.status = 'pending' then 'requeued'
                  else n.status
                end, n.id, n.topic, n.status)::text as c, row_number() over () as n
              from new_rows n join old_rows o on o.id = n.id
              where n.status is distinct from o.status or n.progress is distinct from o.progress
            ) e
          ) x group by chunk;
        end if;
        return null;
      end
    $$`);
    this.addSql(`create trigger jobs_change_insert after insert on jobs
      referencing new table as new_rows for each statement execute function jobbase_notify_changes()`);
    this.addSql(`create trigger jobs_change_update after update on jobs
      referencing old table as old_rows new table as new_rows for each statement execute function jobbase_notify_changes()`);
    this.addSql(`create trigger jobs_change_delete after delete on jobs
      referencing old table as old_rows for each statement execute function jobbase_notify_changes()`);
    this.addSql('alter function jobbase_count_changes() set jit = off');
  }
}

/**
 * Running jobs (issue 15): `cancel_requested` marks a processing job whose handler must stop
 * (the statements that end its attempt then make it `cancelled`), `result` is what its handler
 * returned, `progress` what it last reported. A constant default and NULL columns: no table
 * rewrite. The claim function returns `jobs` rows, so it carries the new columns as they are.
 */
class RunningJobs extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table jobs
      add column cancel_requested boolean not null default false,
      add column result jsonb null,
      add column progress jsonb null`);
  }
}

/**
 * Recurring schedules (issue 16; see store/schedules.ts). schedules_due is partial on the
 * schedules a firing pass reads and ordered by next_run_at, so a pass with nothing due is one
 * probe that finds no entry. The schedule's payload is JSON text, only ever copied into a job.
 * Jobs made by a schedule carry its name and their tick: columns added NULL without a default,
 * so no table rewrite. The claim function returns `jobs` rows, so it returns them too.
 */
class Schedules extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table schedules (
      name varchar(255) not null primary key,
      cron varchar(255) not null,
      timezone varchar(64) not null,
      topic varchar(255) not null,
      payload text not null,
      max_retries integer null,
      priority smallint null,
      misfire varchar(16) not null,
      backfill_max integer null,
      overlap varchar(16) not null,
      paused boolean not null default false,
      next_run_at timestamptz not null,
      last_run_at timestamptz null,
      last_job_id uuid null,
      skipped_ticks integer not null default 0,
      last_skipped_at timestamptz null,
      created timestamptz not null,
      updated timestamptz not null
    )`);
    this.addSql('create index schedules_due on schedules (next_run_at) where paused = false');
    this.addSql(`alter table jobs
      add column schedule_name varchar(255) null,
      add column schedule_tick timestamptz null`);
  }
}

/**
 * Issue 17's topic control (SQLite's 0007_topics). `topics` holds a topic's settings and when a
 * process last started with a handler for it; the claim of a topic with settings locks its row
 * `for update`, so claims of one capped or rate-limited topic take turns across processes and
 * each counts what the one before it started. `topic_starts` logs the starts of rate-limited
 * topics only, pruned by the claim to the last window. Topics without a row never touch either.
 */
class Topics extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table topics (
      topic varchar(255) not null primary key,
      paused boolean not null default false,
      max_running integer null,
      rate_max integer null,
      rate_per_ms integer null,
      registered_at timestamptz null,
      updated timestamptz not null
    )`);
    this.addSql('create table topic_starts (topic varchar(255) not null, started_at timestamptz not null)');
    this.addSql('create index topic_starts_topic on topic_starts (topic, started_at)');
  }
}

/**
 * Issue 19's worker tokens: bearer tokens of role `worker` that may claim and finish jobs of
 * their `topics` (JSON array text; null: every topic) and nothing else. Only the token's
 * SHA-256 is kept (a random 32-byte token needs no slow hash); deleting the row revokes it.
 */
class WorkerTokens extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table worker_tokens (
      id text not null primary key,
      name text not null,
      role text not null,
      topics text null,
      token_hash text not null unique,
      created timestamptz not null
    )`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table worker_tokens');
  }
}

export const postgresMigrations = [
  { name: '0001_initial', class: InitialSchema },
  { name: '0002_claim_function', class: ClaimFunction },
  { name: '0003_claim_by_id_array', class: ClaimByIdArray },
  { name: '0004_job_counts', class: JobCounts },
  { name: '0005_claim_in_plpgsql', class: ClaimInPlpgsql },
  { name: '0006_job_controls', class: JobControls },
  // 0004_unique_keys on SQLite; here the number goes on from this list's own (names sort in the
  // order they apply), leaving 0006 to the job controls of the same issue.
  { name: '0007_unique_keys', class: UniqueKeys },
  { name: '0008_running_jobs', class: RunningJobs },
  { name: '0009_schedules', class: Schedules },
  { name: '0010_topics', class: Topics },
  { name: '0011_operations', class: Operations },
  { name: '0012_worker_tokens', class: WorkerTokens },
];
