import { Migration } from '@mikro-orm/migrations';

/**
 * Plain indexes (SPEC §3), each for a query:
 * - jobs_claim: the claim reads pending rows in run_at order;
 * - jobs_lock: the rescuer reads processing rows by lock expiry;
 * - jobs_created / jobs_topic_created / jobs_status_created: the list, newest first, filtered.
 */
class InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table jobs (
      id text not null primary key,
      topic text not null,
      payload text not null,
      status text not null,
      run_at text not null,
      retries integer not null default 0,
      max_retries integer not null,
      last_error text null,
      lock_token text null,
      locked_until text null,
      created text not null,
      updated text not null
    )`);
    this.addSql('create index jobs_claim on jobs (status, run_at, id)');
    this.addSql('create index jobs_lock on jobs (status, locked_until)');
    this.addSql('create index jobs_created on jobs (created, id)');
    this.addSql('create index jobs_topic_created on jobs (topic, created, id)');
    this.addSql('create index jobs_status_created on jobs (status, created, id)');
    this.addSql(`create table superusers (
      id text not null primary key,
      email text not null unique,
      password_hash text not null,
      token_key text not null,
      created text not null,
      updated text not null
    )`);
    this.addSql('create table settings (key text not null primary key, value text not null)');
  }
}

/**
 * Counts of jobs by topic and status, kept by triggers in the same transaction as the change,
 * so the stats and a list's total read a handful of rows instead of counting the table: on a
 * million jobs `count(*)` with a topic and status filter took 81 ms. SQLite has one writer at a
 * time, so each row's trigger can update its counter in place; the backfill counts what is
 * already there.
 */
class JobCounts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table job_counts (
      topic text not null,
      status text not null,
      n integer not null,
      primary key (topic, status)
    ) without rowid`);
    this.addSql(`insert into job_counts (topic, status, n) select topic, status, count(*) from jobs group by topic, status`);
    const add = (row: 'new' | 'old', delta: 1 | -1) =>
      `insert into job_counts (topic, status, n) values (${row}.topic, ${row}.status, ${delta})
         on conflict (topic, status) do update set n = n + ${delta};`;
    this.addSql(`create trigger jobs_count_insert after insert on jobs begin ${add('new', 1)} end`);
    this.addSql(`create trigger jobs_count_delete after delete on jobs begin ${add('old', -1)} end`);
    this.addSql(`create trigger jobs_count_update after update of topic, status on jobs
      when old.topic is not new.topic or old.status is not new.status
      begin ${add('old', -1)} ${add('new', 1)} end`);
  }
}

/**
 * Issue 14's controls: `priority` (lower runs first among due jobs) and `snoozes` (times a
 * handler put the job back for later). The claim index leads with priority after status, so
 * the claim walks one priority's due jobs in run_at, id order (see SqliteStore.jobClaim).
 * Existing jobs get priority 0 and no snoozes.
 */
class JobControls extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table jobs add column priority integer not null default 0');
    this.addSql('alter table jobs add column snoozes integer not null default 0');
    this.addSql('drop index jobs_claim');
    this.addSql('create index jobs_claim on jobs (status, priority, run_at, id)');
  }
}

/**
 * Unique keys (see store/unique-keys.ts): the key, its states as a bitmask, and the slot that
 * holds the key while the job is in those states. Both indexes are partial, so jobs without a
 * key (NULL) cost them nothing: no entry, and no index write when a claim or a completion sets
 * the slot from NULL to NULL. jobs_unique_key serves the list filtered by key, newest first.
 * Existing jobs have no key.
 */
class UniqueKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table jobs add column unique_key text null');
    this.addSql('alter table jobs add column unique_states integer null');
    this.addSql('alter table jobs add column unique_slot text null');
    this.addSql('create unique index jobs_unique_slot on jobs (unique_slot) where unique_slot is not null');
    this.addSql('create index jobs_unique_key on jobs (unique_key, created, id) where unique_key is not null');
  }
}

/**
 * Running jobs (issue 15): `cancel_requested` marks a processing job whose handler must stop
 * (the statements that end its attempt then make it `cancelled`), `result` is what its handler
 * returned, `progress` what it last reported; both JSON text like the payload. A constant
 * default and NULLs: existing jobs are not rewritten. `cancelled` needs no schema (status is
 * text; the count triggers go by status).
 */
class RunningJobs extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table jobs add column cancel_requested integer not null default 0');
    this.addSql('alter table jobs add column result text null');
    this.addSql('alter table jobs add column progress text null');
  }
}

/**
 * Recurring schedules (issue 16; see store/schedules.ts). schedules_due is partial on the
 * schedules a firing pass reads and ordered by next_run_at, so a pass with nothing due is one
 * probe that finds no entry. Jobs made by a schedule carry its name and their tick; existing
 * jobs have neither.
 */
class Schedules extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table schedules (
      name text not null primary key,
      cron text not null,
      timezone text not null,
      topic text not null,
      payload text not null,
      max_retries integer null,
      priority integer null,
      misfire text not null,
      backfill_max integer null,
      overlap text not null,
      paused integer not null default 0,
      next_run_at text not null,
      last_run_at text null,
      last_job_id text null,
      skipped_ticks integer not null default 0,
      last_skipped_at text null,
      created text not null,
      updated text not null
    )`);
    this.addSql('create index schedules_due on schedules (next_run_at) where paused = false');
    this.addSql('alter table jobs add column schedule_name text null');
    this.addSql('alter table jobs add column schedule_tick text null');
  }
}

/**
 * Issue 17's topic control. `topics` holds a topic's settings (paused, max_running, a rate
 * limit of rate_max starts per rate_per_ms) and when a process last started with a handler for
 * it; a topic without a row has no settings, and its claim is the plain one. `topic_starts`
 * logs the starts of rate-limited topics only, pruned by the claim to the last window, so the
 * claim can count the starts of the window before it (see SqliteStore.jobClaimControlled).
 */
class Topics extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table topics (
      topic text not null primary key,
      paused integer not null default 0,
      max_running integer null,
      rate_max integer null,
      rate_per_ms integer null,
      registered_at text null,
      updated text not null
    ) without rowid`);
    this.addSql('create table topic_starts (topic text not null, started_at text not null)');
    this.addSql('create index topic_starts_topic on topic_starts (topic, started_at)');
  }
}

/**
 * The kind of change a job's move from `old` to `new` status is, as the change feed names it
 * (store/types.ts, JobChange); PostgreSQL's trigger writes the same CASE. A status it does
 * not know is named after the status, so a new status is reported without a change here.
 */
export const CHANGE_TYPE_SQL = (old: string, neu: string) => `case
    when ${neu}.status = 'processing' then 'started'
    when ${old}.status = 'processing' and ${neu}.status = 'pending' and ${neu}.retries > ${old}.retries then 'retried'
    when ${old}.status = 'processing' and ${neu}.status = 'pending' and ${neu}.snoozes > ${old}.snoozes then 'snoozed'
    when ${old}.status = 'processing' and ${neu}.status = 'pending' then 'released'
    when ${neu}.status = 'pending' then 'requeued'
    else ${neu}.status
  end`;

/** Rows job_changes keeps at least: the feed's resumable window. */
export const CHANGES_KEPT = 10_000;

/** Every this many changes, the rows past CHANGES_KEPT go (one range delete, not one a change). */
const CHANGES_PRUNE_EVERY = 1_000;

/**
 * Issue 18's operations. `trace_context`: the enqueuer's W3C trace context, for the handler's
 * span link (null for existing jobs). `job_changes`: the change feed that `GET /api/jobs/events`
 * reads, written by triggers in the writing statement's own transaction, so a server sees the
 * jobs every process changes (SQLite has no NOTIFY; the reader polls this table by its key, as
 * the workers poll data_version). `seq` is the rowid: a new row takes the largest plus one,
 * and the newest row is never deleted, so a number is never reused — without AUTOINCREMENT's
 * write of sqlite_sequence on every change. Every CHANGES_PRUNE_EVERY-th change deletes the
 * rows past the last CHANGES_KEPT, so the table stays bounded with no process pruning it. On a
 * drain each job makes two changes (started, completed): one appended row each, where a delete
 * per change and AUTOINCREMENT had cost the SQLite drain about a third of its rate.
 */
class Operations extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table jobs add column trace_context text null');
    this.addSql(`create table job_changes (
      seq integer primary key,
      type text not null,
      id text not null,
      topic text not null,
      status text not null
    )`);
    this.addSql(`create trigger jobs_change_insert after insert on jobs begin
      insert into job_changes (type, id, topic, status) values ('created', new.id, new.topic, new.status); end`);
    this.addSql(`create trigger jobs_change_update after update of status on jobs when old.status is not new.status begin
      insert into job_changes (type, id, topic, status) values (${CHANGE_TYPE_SQL('old', 'new')}, new.id, new.topic, new.status); end`);
    // A progress write (status unchanged) is a `progress` change; heartbeats touch neither column.
    this.addSql(`create trigger jobs_change_progress after update of progress on jobs
      when old.progress is not new.progress and old.status is new.status begin
      insert into job_changes (type, id, topic, status) values ('progress', new.id, new.topic, new.status); end`);
    this.addSql(`create trigger jobs_change_delete after delete on jobs begin
      insert into job_changes (type, id, topic, status) values ('deleted', old.id, old.topic, old.status); end`);
    this.addSql(`create trigger job_changes_bound after insert on job_changes when new.seq % ${CHANGES_PRUNE_EVERY} = 0 begin
      delete from job_changes where seq <= new.seq - ${CHANGES_KEPT}; end`);
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
      created text not null
    )`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table worker_tokens');
  }
}

export const sqliteMigrations = [
  { name: '0001_initial', class: InitialSchema },
  { name: '0002_job_counts', class: JobCounts },
  { name: '0003_job_controls', class: JobControls },
  { name: '0004_unique_keys', class: UniqueKeys },
  { name: '0005_running_jobs', class: RunningJobs },
  { name: '0006_schedules', class: Schedules },
  { name: '0007_topics', class: Topics },
  { name: '0008_operations', class: Operations },
  { name: '0009_worker_tokens', class: WorkerTokens },
];
