import { MikroORM } from '@mikro-orm/postgresql';
import type { JobStatus } from '@jobbase/contract';
import { JobsError, validationError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { baseOrmConfig, type StoreOpenOptions } from '../orm-config.js';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { claimOrder, JOB_COLUMNS, lockedUntilByTopic, SqlStore, toDate, TOPIC_COLUMNS, toTopicSettings, unavailable, type Row } from '../sql-store.js';
import type {
  BatchConflict,
  ClaimedJob,
  ControlledClaim,
  JobClaimControlledParams,
  HeldJob,
  JobClaimParams,
  JobCompleteItem,
  JobCompleted,
  JobCompleteOptions,
  JobHeartbeatItem,
  JobProgressParams,
  JobInsertOutcome,
  JobInsertParams,
  JobRecord,
  ChangeListenParams,
  ListenParams,
  UniqueInsert,
} from '../types.js';
import {
  keepSlotForOrCancelled,
  runSteps,
  statusOrCancelled,
  statesToBits,
  uniqueInsertManySteps,
  uniqueInsertSteps,
  wantsKeyOfNewStatus,
  wantsKeyOfRow,
  type SqlStep,
  type UniqueInsertSql,
} from '../unique-keys.js';
import { CHANGES_CHANNEL, FINISHED_CHANNEL, JOBS_CHANNEL, JobsListener } from './listener.js';
import { isPooled, throughPooler } from './pooler.js';
import { postgresMigrations } from './migrations.js';
import type { ScheduleJobInsert, Steps } from '../schedules.js';
import { postgresDatabaseName } from '../open.js';
import { PeriodicPass } from '../../periodic-pass.js';

/**
 * A CTE that turns off `synchronous_commit` for the statement's own transaction (set_config
 * with is_local), joined into the statement so it is evaluated. Claims and completions are the
 * hot writes; waiting for each one's WAL flush capped a worker at about one fsync per claim and
 * one per completion batch. Losing one of them in a crash of PostgreSQL itself only means the
 * job runs again (its lock expires and it is rescued), which at-least-once delivery allows.
 * Enqueues, retries, failures, requeues and deletes keep the server's durable default: an
 * acknowledged job is on disk.
 */
const ASYNC_COMMIT = `async_commit as (select set_config('synchronous_commit', 'off', true))`;

/**
 * A CTE (one `?`, the channel) that sends one NOTIFY when the `done` CTE changed any row, so
 * whoever waits for a job in another process looks (engine/job-waiters.ts). One per statement,
 * not per job, and a constant payload: PostgreSQL folds repeats within a transaction. The
 * statement selects `cross join notified`, which makes PostgreSQL evaluate it.
 */
const NOTIFY_FINISHED = `notified as (select count(pg_notify(?, '')) as sent from (select 1 from done limit 1) as any_done)`;

/** Any fixed number names the advisory lock; this one spells "jobbase" on a phone keypad. */
const MIGRATION_LOCK = 5_622_273;

/** How often a process waiting for another's migration asks for the lock again, ms. */
const MIGRATION_LOCK_RETRY = 25;

export class PostgresStore extends SqlStore {
  readonly dialect = 'postgres' as const;

  static async open(url: string, options: StoreOpenOptions): Promise<PostgresStore> {
    const poolSize = options.poolSize ?? 10;
    if (!Number.isInteger(poolSize) || poolSize < 1) {
      throw new JobsError('validation', `Option poolSize must be an integer ≥ 1, got ${String(options.poolSize)}.`);
    }
    const { databaseCreated, pooled } = await probeDatabase(url);
    const orm = await MikroORM.init({
      ...baseOrmConfig(postgresMigrations, options.logger),
      clientUrl: url,
      pool: { min: 0, max: poolSize },
      // Done above, where two processes creating it at once is not an error.
      ensureDatabase: false,
    });
    return new PostgresStore(orm, databaseCreated, url, options.logger, { pooled, listenUrl: options.listenUrl });
  }

  private readonly compactor: CountCompactor;

  constructor(
    orm: MikroORM,
    databaseCreated: boolean,
    private readonly url: string,
    private readonly logger: Logger,
    private readonly connection: PostgresConnection = { pooled: false },
  ) {
    super(orm, databaseCreated);
    this.compactor = new CountCompactor(this, logger);
  }

  /**
   * Processes starting together on a new database would race to create the same tables; an
   * advisory lock lets one migrate while the others wait, then find nothing to do. The claim
   * function is code rather than schema, so its live definition is the one in this file
   * (CLAIM_FUNCTION), put in place whenever the database's differs.
   *
   * The lock belongs to a transaction, not to the session, so it works through PgBouncer in
   * transaction mode: a session lock would stay on whichever server connection ran it, held
   * for ever once that connection went back to the pool. The transaction stays open while the
   * migrations run on the pool, pinning one server connection, and ending it (commit, or the
   * connection closing on an error) releases the lock.
   */
  async migrate(): Promise<string[]> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'jobbase-migrate' });
    await client.connect();
    let applied: string[];
    try {
      await lockMigrations(client);
      applied = await this.applyMigrations();
      const { rows } = await client.query<{ same: boolean }>(
        `select coalesce(bool_or(prosrc = $1 and proconfig = $2::text[]), false) as same
         from pg_proc where proname = 'jobbase_claim'`,
        [CLAIM_BODY, CLAIM_SETTINGS],
      );
      if (!rows[0]?.same) await client.query(CLAIM_FUNCTION);
      await client.query('commit');
    } finally {
      await client.end().catch(() => undefined);
    }
    this.compactor.start();
    return applied;
  }

  /** Folds job_counts' delta rows into one row per topic and status (see migration 0004). */
  async compactCounts(): Promise<void> {
    await this.run('select jobbase_compact_counts()');
  }

  protected async closeDialect(): Promise<void> {
    await this.compactor.stop();
  }

  /** Connection lost or refused, server shutting down or starting, pool exhausted. */
  protected isUnavailable(err: unknown): boolean {
    const { code = '', message = '' } = err as { code?: string; message?: string };
    return (
      /^(08|57P)/.test(code) ||
      ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code) ||
      /Connection terminated|connection error|Timeout acquiring a connection|not queryable|Client was closed/i.test(message)
    );
  }

  /**
   * Borrows a driver connection from MikroORM's pool for one hot query. Going around knex's
   * query builder halves the cost of a small statement (measured on SQLite's old driver: 3,800
   * → 7,500 single-row inserts/s), and the pool still owns the connection, its set-up and its
   * health.
   */
  private async withConnection<C, T>(work: (conn: C) => Promise<T>): Promise<T> {
    const client = this.knexClient<C>();
    let conn: C;
    try {
      conn = await client.acquireConnection();
    } catch (err) {
      throw unavailable(err);
    }
    try {
      return await work(conn);
    } catch (err) {
      throw this.isUnavailable(err) ? unavailable(err) : err;
    } finally {
      await client.releaseConnection(conn);
    }
  }

  private readonly statements = new Map<string, { name?: string; text: string }>();

  /**
   * Each distinct SQL text becomes a named prepared statement (`?` → `$n` once), so PostgreSQL
   * parses and plans the hot queries once per connection rather than on every call. Not through
   * a pooler (PgBouncer): a named statement lives in one server connection, and a transaction
   * pooler hands the next query to another, which answers 26000 (does not exist) or 42P05
   * (already exists); there every statement is unnamed, parsed on each call.
   */
  private prepared(sql: string): { name?: string; text: string } {
    let statement = this.statements.get(sql);
    if (!statement) {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      const name = this.connection.pooled ? undefined : `jb_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
      statement = { name, text };
      this.statements.set(sql, statement);
    }
    return statement;
  }

  protected all(sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.withConnection<pg.Client, Row[]>(async (conn) => {
      const result = await conn.query<Row>({ ...this.prepared(sql), values: params });
      return result.rows;
    });
  }

  protected run(sql: string, params: unknown[] = []): Promise<number> {
    return this.withConnection<pg.Client, number>(async (conn) => {
      const result = await conn.query({ ...this.prepared(sql), values: params });
      return result.rowCount ?? 0;
    });
  }

  /**
   * The insert and its NOTIFY are one statement, so one transaction: listeners hear of the job
   * only once it is committed, and a failed insert notifies nobody.
   */
  async jobInsert(p: JobInsertParams): Promise<JobRecord> {
    const now = new Date();
    const rows = await this.all(
      `with j as (
         insert into jobs (id, topic, payload, status, run_at, retries, max_retries, priority, created, updated, trace_context)
         values (?, ?, ?::jsonb, 'pending', ?, 0, ?, ?, ?, ?, ?) returning ${JOB_COLUMNS}
       )
       select j.*, pg_notify(?, j.topic) from j`,
      [p.id, p.topic, p.payloadJson, this.time(p.runAt), p.maxRetries, p.priority, now, now, p.traceContext ?? null, JOBS_CHANNEL],
    ).catch((err: unknown) => {
      throw unstorableText(err) ?? err;
    });
    return this.toRecord(rows[0]!);
  }

  /**
   * Any number of jobs in one statement (so one transaction): `unnest` turns six arrays into
   * rows, and one NOTIFY goes out per distinct topic rather than per job.
   */
  async jobInsertMany(items: readonly JobInsertParams[]): Promise<JobRecord[]> {
    if (items.length === 0) return [];
    const now = new Date();
    await this.all(
      `with j as (
         insert into jobs (id, topic, payload, status, run_at, retries, max_retries, priority, created, updated, trace_context)
         select t.id, t.topic, t.payload, 'pending', t.run_at, 0, t.max_retries, t.priority, ?, ?, t.trace_context
         from unnest(?::uuid[], ?::text[], ?::jsonb[], ?::timestamptz[], ?::int[], ?::smallint[], ?::text[])
           as t(id, topic, payload, run_at, max_retries, priority, trace_context)
         returning topic
       )
       select count(pg_notify(?, d.topic)) as sent from (select distinct topic from j) d`,
      [
        now,
        now,
        items.map((p) => p.id),
        items.map((p) => p.topic),
        items.map((p) => p.payloadJson),
        items.map((p) => this.time(p.runAt)),
        items.map((p) => p.maxRetries),
        items.map((p) => p.priority),
        items.map((p) => p.traceContext ?? null),
        JOBS_CHANNEL,
      ],
    ).catch((err: unknown) => {
      throw unstorableText(err) ?? err;
    });
    // Nothing comes back: the records are what was written. A payload is its JSON text parsed
    // again, equal to what get() reads (JSONB may order its keys otherwise): having PostgreSQL
    // send the payloads back cost 3.5 µs of this process's CPU a job, 7-10% of the rate.
    return items.map((p) => ({
      id: p.id,
      topic: p.topic,
      payload: JSON.parse(p.payloadJson),
      status: 'pending',
      runAt: p.runAt,
      retries: 0,
      maxRetries: p.maxRetries,
      lastError: null,
      priority: p.priority,
      snoozes: 0,
      cancelRequested: false,
      result: null,
      progress: null,
      uniqueKey: null,
      uniqueStates: null,
      scheduleName: null,
      scheduleTick: null,
      created: now,
      updated: now,
      traceContext: p.traceContext ?? null,
    }));
  }

  /** Each statement that writes a job notifies its topic, as jobInsert does. */
  protected readonly uniqueSql: UniqueInsertSql = {
    insert: (p, now) => ({
      sql: `with j as (
              insert into jobs (id, topic, payload, status, run_at, retries, max_retries, priority, unique_key, unique_states, unique_slot, created, updated, trace_context)
              select ?::uuid, ?::text, ?::jsonb, 'pending', ?::timestamptz, 0, ?::integer, ?::smallint, ?::text, ?::smallint, ?::text, ?::timestamptz, ?::timestamptz, ?::text
              where not exists (select 1 from jobs where unique_slot = ?::text)
              on conflict (unique_slot) where unique_slot is not null do nothing
              returning ${JOB_COLUMNS}
            )
            select j.*, pg_notify(?, j.topic) from j`,
      params: [
        p.id,
        p.topic,
        p.payloadJson,
        this.time(p.runAt),
        p.maxRetries,
        p.priority,
        p.unique?.key ?? null,
        p.unique ? statesToBits(p.unique.states) : null,
        p.unique?.states.includes('pending') ? p.unique.key : null,
        now,
        now,
        p.traceContext ?? null,
        p.unique?.key ?? null,
        JOBS_CHANNEL,
      ],
    }),
    replace: (p, key, now) => ({
      sql: `with j as (
              update jobs set topic = ?, payload = ?::jsonb, run_at = ?, max_retries = ?, priority = ?, updated = ?
              where unique_slot = ? and status = 'pending' returning ${JOB_COLUMNS}
            )
            select j.*, pg_notify(?, j.topic) from j`,
      params: [p.topic, p.payloadJson, this.time(p.runAt), p.maxRetries, p.priority, now, key, JOBS_CHANNEL],
    }),
    holder: (key) => ({ sql: `select ${JOB_COLUMNS} from jobs where unique_slot = ?`, params: [key] }),
  };

  /** Statement by statement, each its own transaction: every one is atomic, and the rounds in unique-keys.ts cover what happens between them. */
  async jobInsertUnique(p: JobInsertParams & { unique: UniqueInsert }): Promise<JobInsertOutcome> {
    const now = new Date();
    return runSteps(uniqueInsertSteps(this.uniqueSql, p, now, (r) => this.toRecord(r)), (step) =>
      this.all(step.sql, step.params).catch((err: unknown) => {
        throw unstorableText(err) ?? err;
      }),
    );
  }

  /**
   * One transaction on one connection. Its inserts wait on another transaction's uncommitted
   * row with the same slot, so keys are taken in sorted order (unique-keys.ts) and two batches
   * cannot deadlock.
   */
  async jobInsertManyUnique(items: readonly JobInsertParams[]): Promise<JobInsertOutcome[] | BatchConflict> {
    if (items.length === 0) return [];
    const now = new Date();
    return this.withConnection<pg.Client, JobInsertOutcome[] | BatchConflict>(async (conn) => {
      await conn.query('begin');
      try {
        const result = await runSteps(uniqueInsertManySteps(this.uniqueSql, items, now, (r) => this.toRecord(r)), async (step) => {
          const { rows } = await conn.query<Row>({ ...this.prepared(step.sql), values: step.params });
          return rows;
        });
        await conn.query(Array.isArray(result) ? 'commit' : 'rollback');
        return result;
      } catch (err) {
        await conn.query('rollback').catch(() => undefined);
        throw unstorableText(err) ?? err;
      }
    });
  }

  protected isUniqueViolation(err: unknown): boolean {
    return (err as { code?: string } | null)?.code === '23505';
  }

  /**
   * LISTEN on `listenUrl` when one is set, else on the database URL; the listener itself falls
   * back to polling when that connection turns out to go through a pooler. `listenUrl: false`
   * turns notifications off.
   */
  async listenForJobs(params: ListenParams): Promise<() => Promise<void>> {
    const { listenUrl } = this.connection;
    if (listenUrl === false) {
      this.logger.info({ listenUrl: false }, 'LISTEN is off (listenUrl: false): new jobs are found by polling, every pollInterval');
      return async () => undefined;
    }
    const listener = new JobsListener(listenUrl ?? this.url, params.onTopic, params.onWake, this.logger);
    await listener.start();
    return () => listener.stop();
  }

  /**
   * ISO text, not the Date itself: node-postgres writes a Date in the process's local time with
   * its offset in whole minutes, and before about 1900 most zones' offsets had seconds (Paris
   * +00:09:21), so a run_at of year 1 was stored 21 s late on a server in Paris.
   */
  protected time(date: Date): string {
    return date.toISOString();
  }

  /** node-postgres already parsed the JSONB. */
  protected decodePayload(value: unknown): unknown {
    return value;
  }

  /**
   * jsonb reaches the driver as text; its size on disk (pg_column_size) is compressed and would
   * undercount. A page with payloads carries each job's result and progress too (issue 15).
   */
  protected readonly payloadBytes =
    'octet_length(payload::text) + coalesce(octet_length(result::text), 0) + coalesce(octet_length(progress::text), 0)';

  protected idList(ids: readonly string[]): { sql: string; param: unknown } {
    return { sql: 'select unnest(?::uuid[])', param: ids };
  }

  /**
   * The claim runs as the function jobbase_claim (CLAIM_FUNCTION, below the class: the SQL and
   * why it is shaped so). Commits asynchronously (ASYNC_COMMIT).
   */
  async jobClaim(p: JobClaimParams): Promise<ClaimedJob[]> {
    if (p.topics.length === 0 || p.limit <= 0) return [];
    const now = new Date();
    const lockedUntil = lockedUntilByTopic(p, now);
    const rows = await this.all(
      `with ${ASYNC_COMMIT}
       select j.* from async_commit, jobbase_claim(?::text[], ?::timestamptz[], ?::integer, ?::timestamptz) j`,
      [p.topics, p.topics.map((topic) => lockedUntil[topic]), p.limit, now],
    );
    // j.* has the slot and the states: which claimed jobs entered their states without their key.
    await this.takeKeys(rows.map((r) => ({ id: r.id, wants_key: wantsKeyOfRow(r, 'processing') })));
    return rows.map((r) => this.toClaimed(r)).sort(claimOrder);
  }

  /**
   * One statement for many jobs: `unnest` pairs each id with its lock token (and its result,
   * when some handler of the batch returned one: a batch of handlers that returned nothing, the
   * drain's case, keeps the two-array statement). Commits asynchronously (see ASYNC_COMMIT). A
   * job marked for cancellation becomes `cancelled` (see statusOrCancelled). With `topics`, the
   * statement first asks once (by primary key) whether any item's job is of another topic.
   */
  async jobCompleteMany(items: readonly JobCompleteItem[], now = new Date(), options: JobCompleteOptions = {}): Promise<JobCompleted[]> {
    if (items.length === 0) return [];
    const ids = items.map((i) => i.id);
    const set = `status = ${statusOrCancelled('completed', 'j.')}, lock_token = null, locked_until = null, updated = ?,
         ${keepSlotForOrCancelled('completed', 'j.')}`;
    const [only, onlyParams] = options.topics
      ? [`and not exists (select 1 from jobs x where x.id = any(?::uuid[]) and x.topic <> all(?::text[]))`, [ids, options.topics]]
      : ['', []];
    const rows = items.some((i) => i.resultJson !== undefined)
      ? await this.all(
          `with ${ASYNC_COMMIT}, done as (
             update jobs j set ${set}, result = case when j.cancel_requested then null else d.result end
             from unnest(?::uuid[], ?::text[], ?::jsonb[]) as d(id, lock_token, result), async_commit
             where j.id = d.id and j.lock_token = d.lock_token and j.status = 'processing' ${only}
             returning j.id, j.status, ${wantsKeyOfNewStatus('j.')}
           ), ${NOTIFY_FINISHED}
           select done.* from done cross join notified`,
          [now, ids, items.map((i) => i.lockToken), items.map((i) => i.resultJson ?? null), ...onlyParams, FINISHED_CHANNEL],
        ).catch((err: unknown) => {
          throw unstorableText(err) ?? err;
        })
      : await this.all(
          `with ${ASYNC_COMMIT}, done as (
             update jobs j set ${set}
             from unnest(?::uuid[], ?::text[]) as d(id, lock_token), async_commit
             where j.id = d.id and j.lock_token = d.lock_token and j.status = 'processing' ${only}
             returning j.id, j.status, ${wantsKeyOfNewStatus('j.')}
           ), ${NOTIFY_FINISHED}
           select done.* from done cross join notified`,
          [now, ids, items.map((i) => i.lockToken), ...onlyParams, FINISHED_CHANNEL],
        );
    await this.takeKeys(rows);
    return rows.map((r) => ({ id: r.id as string, status: r.status as JobCompleted['status'] }));
  }

  // ── Operations (issue 18) ──────────────────────────────────────────────────────────────────

  /**
   * LISTENs on CHANGES_CHANNEL, where migration 0011's triggers notify what every statement did
   * to jobs, on the same connection settings as `listenForJobs`. A lost connection may have
   * missed notifications: `onGap` once it is back. Without LISTEN (`listenUrl: false`, or a
   * pooler) there is no feed.
   */
  async listenForChanges(params: ChangeListenParams): Promise<() => Promise<void>> {
    const { listenUrl } = this.connection;
    if (listenUrl === false) {
      this.logger.warn({ listenUrl: false }, 'LISTEN is off (listenUrl: false): the job change feed (GET /api/jobs/events) stays silent');
      return async () => undefined;
    }
    const onBatch = (payload: string) => {
      try {
        const rows = JSON.parse(payload) as [string, string, string, JobStatus][];
        params.onChanges(rows.map(([type, id, topic, status]) => ({ type, id, topic, status })));
      } catch (err) {
        this.logger.warn({ err }, 'a job change notification could not be read');
      }
    };
    const listener = new JobsListener(listenUrl ?? this.url, onBatch, params.onGap, this.logger, CHANGES_CHANNEL);
    await listener.start();
    return () => listener.stop();
  }

  // --- Topic control (issue 17) ---

  /**
   * One transaction on one connection. The topic's row is locked `for update` first, so claims
   * of one controlled topic take turns across processes; each statement after it reads a fresh
   * snapshot (READ COMMITTED), so it sees every job the previous holder claimed and every start
   * it logged. Only then is the clock read: a claim that waited for the lock counts the window
   * ending at the time it writes its starts. Then the counts, the claim (jobbase_claim, for the
   * one topic, within the settings' limit) and the window's starts, pruned to the last window.
   * Commits asynchronously, as the plain claim. A topic without a row takes the plain claim.
   */
  async jobClaimControlled(p: JobClaimControlledParams): Promise<ControlledClaim> {
    if (p.limit <= 0) return { jobs: [], heldBack: null, retryAt: null };
    const result = await this.withConnection<pg.Client, { rows: Row[]; heldBack: ControlledClaim['heldBack']; retryAt: Date | null } | null>(
      async (conn) => {
        const query = async (sql: string, values: unknown[]) => (await conn.query<Row>({ ...this.prepared(sql), values })).rows;
        await conn.query('begin');
        try {
          await conn.query(`set local synchronous_commit = off`);
          const [settings] = await query(`select ${TOPIC_COLUMNS} from topics where topic = ? for update`, [p.topic]);
          if (!settings) {
            await conn.query('rollback');
            return null;
          }
          const topic = toTopicSettings(settings);
          const done = async (rows: Row[], heldBack: ControlledClaim['heldBack'], retryAt: Date | null) => {
            await conn.query('commit');
            return { rows, heldBack, retryAt };
          };
          if (topic.paused) return await done([], 'paused', null);
          const now = new Date();
          const windowStart = topic.rateLimit ? new Date(now.getTime() - topic.rateLimit.perMs) : now;
          const [counts] = await query(
            `select (select count(*) from jobs where status = 'processing' and topic = ?) as running,
                    (select count(*) from topic_starts where topic = ? and started_at > ?) as started,
                    (select min(started_at) from topic_starts where topic = ? and started_at > ?) as first`,
            [p.topic, p.topic, this.time(windowStart), p.topic, this.time(windowStart)],
          );
          let limit = p.limit;
          let heldBack: ControlledClaim['heldBack'] = null;
          let retryAt: Date | null = null;
          if (topic.maxRunning !== null) {
            const free = topic.maxRunning - Number(counts!.running);
            if (free < limit) [limit, heldBack] = [Math.max(0, free), 'cap'];
          }
          if (topic.rateLimit) {
            const allowed = topic.rateLimit.max - Number(counts!.started);
            if (allowed < limit) {
              [limit, heldBack] = [Math.max(0, allowed), 'rate'];
              // The window's first start leaving it frees the next start.
              retryAt = new Date((counts!.first ? toDate(counts!.first) : now).getTime() + topic.rateLimit.perMs + 1);
            }
          }
          if (limit <= 0) return await done([], heldBack, retryAt);
          const lockedUntil = new Date(now.getTime() + p.lockDuration);
          const rows = await query(`select j.* from jobbase_claim(?::text[], ?::timestamptz[], ?::integer, ?::timestamptz) j`, [
            [p.topic],
            [this.time(lockedUntil)],
            limit,
            this.time(now),
          ]);
          if (topic.rateLimit) {
            await query(
              `with pruned as (delete from topic_starts where topic = ? and started_at <= ?)
               insert into topic_starts (topic, started_at) select ?, ?::timestamptz from generate_series(1, ?::integer)`,
              [p.topic, this.time(windowStart), p.topic, this.time(now), rows.length],
            );
          }
          return await done(rows, rows.length < limit ? null : heldBack, retryAt);
        } catch (err) {
          await conn.query('rollback').catch(() => undefined);
          throw err;
        }
      },
    );
    if (result === null) {
      const jobs = await this.jobClaim({ topics: [p.topic], limit: p.limit, lockDuration: p.lockDuration });
      return { jobs, heldBack: null, retryAt: null };
    }
    await this.takeKeys(result.rows.map((r) => ({ id: r.id, wants_key: wantsKeyOfRow(r, 'processing') })));
    return { jobs: result.rows.map((r) => this.toClaimed(r)).sort(claimOrder), heldBack: result.heldBack, retryAt: result.retryAt };
  }

  // ── Schedules (issue 16) ───────────────────────────────────────────────────────────────────

  /** One transaction on one pooled connection (READ COMMITTED: see scheduleFireSteps). */
  protected inTransaction<T>(steps: Steps<T>): Promise<T> {
    return this.withConnection<pg.Client, T>(async (conn) => {
      await conn.query('begin');
      try {
        const result = await runSteps(steps, async (step) => (await conn.query<Row>({ ...this.prepared(step.sql), values: step.params })).rows);
        await conn.query('commit');
        return result;
      } catch (err) {
        await conn.query('rollback').catch(() => undefined);
        throw unstorableText(err) ?? err;
      }
    });
  }

  /** As jobInsert: the NOTIFY is part of the statement, so it goes out when the firing commits. */
  protected readonly scheduleJobInsert: ScheduleJobInsert = (p, schedule, now) => ({
    sql: `with j as (
            insert into jobs (id, topic, payload, status, run_at, retries, max_retries, priority, schedule_name, schedule_tick, created, updated)
            values (?, ?, ?::jsonb, 'pending', ?, 0, ?, ?, ?, ?, ?, ?) returning ${JOB_COLUMNS}
          )
          select j.*, pg_notify(?, j.topic) from j`,
    params: [
      p.id,
      p.topic,
      p.payloadJson,
      this.time(p.runAt),
      p.maxRetries,
      p.priority,
      schedule.name,
      schedule.tick ? this.time(schedule.tick) : null,
      this.time(now),
      this.time(now),
      JOBS_CHANNEL,
    ],
  });

  // ── Running jobs (issue 15) ──

  /** Renewals paired with their own `locked_until` by `unnest`. */
  protected heartbeatRenewSql(renew: readonly JobHeartbeatItem[]): SqlStep {
    return {
      sql: `update jobs j set locked_until = d.until
            from unnest(?::uuid[], ?::text[], ?::timestamptz[]) as d(id, lock_token, until)
            where j.id = d.id and j.lock_token = d.lock_token and j.status = 'processing'
            returning j.id, j.cancel_requested`,
      params: [renew.map((i) => i.id), renew.map((i) => i.lockToken), renew.map((i) => this.time(i.lockedUntil!))],
    };
  }

  protected heartbeatCheckSql(check: readonly JobHeartbeatItem[]): SqlStep {
    return {
      sql: `select j.id, j.cancel_requested from jobs j join unnest(?::uuid[], ?::text[]) as d(id, lock_token)
              on j.id = d.id and j.lock_token = d.lock_token
            where j.status = 'processing'`,
      params: [check.map((i) => i.id), check.map((i) => i.lockToken)],
    };
  }

  protected async notifyFinished(): Promise<void> {
    await this.run('select pg_notify(?, \'\')', [FINISHED_CHANNEL]);
  }

  /** A LISTEN connection of its own, opened only while someone waits (engine/job-waiters.ts). */
  async listenForFinishes(onChange: () => void): Promise<() => Promise<void>> {
    const { listenUrl } = this.connection;
    if (listenUrl === false) return async () => undefined;
    const listener = new JobsListener(listenUrl ?? this.url, onChange, onChange, this.logger, FINISHED_CHANNEL);
    await listener.start();
    return () => listener.stop();
  }

  async jobSetProgress(p: JobProgressParams): Promise<HeldJob | null> {
    const rows = await this.all(
      `update jobs set progress = ?::jsonb, locked_until = coalesce(?::timestamptz, locked_until)
       where id = ? and lock_token = ? and status = 'processing' returning id, cancel_requested`,
      [p.progressJson, p.lockedUntil ? this.time(p.lockedUntil) : null, p.id, p.lockToken],
    ).catch((err: unknown) => {
      throw unstorableText(err) ?? err;
    });
    return rows[0] ? this.toHeld(rows[0]) : null;
  }
}

/**
 * The claim. SKIP LOCKED lets many workers claim at once without waiting on each other's rows.
 * It locks at most `p_limit` ids walking the partial index jobs_claim (status = 'pending', in
 * priority, run_at, id order: the lowest priority first, then the oldest due job, then FIFO) and
 * updates only those, each with its own gen_random_uuid() lock token and its topic's lock
 * expiry (`p_locked_until`, one per topic). Why it is shaped so, each measured (migrations
 * 0002–0006 hold the history; this is the definition that runs):
 * - Due jobs only, without reading the rest: within one priority the index holds the due jobs
 *   first, then those not yet due, and a plain walk across priorities would step over every job
 *   not yet due at a lower priority number before it reached a due one (100,000 jobs scheduled
 *   for later at priority -10 ahead of 1,000,000 due: 2.5 ms and 1,090 buffers per claim,
 *   against 0.08 ms). So the walk stops at the first job not yet due it meets and starts again
 *   at the next priority (`priority >= v_from`, one index descent): the cost grows with the
 *   number of distinct priorities ahead, never with the jobs. A job not yet due of any topic
 *   ends its priority (`or run_at > p_now`), so other topics' scheduled jobs are never walked
 *   either; that one row is locked with the rest until the claim commits, and left as it is.
 * - One walk, not a probe for the lowest waiting priority and then a walk of its due jobs:
 *   both would step over the entries of jobs claimed since the last vacuum (60-odd index pages
 *   after 1,000 claims), and the probe made a claim-and-complete cycle 7% slower (4,000 cycles,
 *   interleaved with the claim before priorities); this walk matches that claim's cost.
 * - An array of ids, not a join: with the limit a parameter the planner guessed thousands of
 *   claimed rows and hash-joined the UPDATE over a sequential scan (EXPLAIN ANALYZE: 44 ms with
 *   100,000 rows, 271 ms with 1,000,000, against 0.07 ms for the index walk). Over an array it
 *   is one primary-key lookup per id.
 * - Bitmap scans and sorts priced out: right after a bulk insert, before autovacuum analyzed the
 *   table, the planner chose a bitmap scan of every pending row plus a sort: 6–15 ms per claim
 *   with 20,000 waiting, against 0.7 ms for the ordered index walk.
 * - The slot of a unique key is kept while `processing` is one of the job's unique states and
 *   emptied otherwise (store/unique-keys.ts); never filled here, so the claim cannot fail on the
 *   unique index. A job without a key costs one CASE that yields NULL.
 * - No JIT: with sorts priced out, a statement that does sort (a trigger's, run inside the claim
 *   with its settings) costs over `jit_above_cost` and was compiled on every claim, 200–250 ms
 *   (migration 0011_operations says more); nothing here touches rows enough for JIT to pay.
 * - PL/pgSQL, not SQL: a SQL function with SET clauses cannot be inlined and is planned again on
 *   every call, while PL/pgSQL caches its plan per connection (one waiting job, 1,800 claims
 *   each: p50 667 → 544 µs, p90 842 → 644 µs).
 */
const CLAIM_BODY = `
        declare
          v_ids uuid[] := '{}';
          v_from integer := -32768;
          v_job record;
        begin
          <<priorities>>
          loop
            for v_job in
              select id, priority, run_at from jobs
              where status = 'pending' and priority >= v_from and (topic = any(p_topics) or run_at > p_now)
              order by priority, run_at, id limit p_limit - cardinality(v_ids)
              for update skip locked
            loop
              if v_job.run_at > p_now then
                v_from := v_job.priority + 1;
                continue priorities;
              end if;
              v_ids := v_ids || v_job.id;
            end loop;
            exit;
          end loop;
          return query
          update jobs j set status = 'processing', lock_token = gen_random_uuid()::text,
            locked_until = p_locked_until[array_position(p_topics, j.topic::text)], updated = p_now,
            unique_slot = case when j.unique_states & 2 <> 0 then j.unique_slot end
          where j.id = any(v_ids)
          returning j.*;
        end
      `;

const CLAIM_SETTINGS = ['enable_bitmapscan=off', 'enable_sort=off', 'jit=off'];

const CLAIM_FUNCTION = `create or replace function jobbase_claim(p_topics text[], p_locked_until timestamptz[], p_limit integer, p_now timestamptz)
      returns setof jobs
      language plpgsql
      ${CLAIM_SETTINGS.map((setting) => `set ${setting.replace('=', ' = ')}`).join('\n      ')}
      as $$${CLAIM_BODY}$$`;

/**
 * Every few seconds, so the deltas the count triggers append (a few per claim, completion batch
 * or enqueue) never pile up: readers sum at most a few seconds' worth.
 */
class CountCompactor extends PeriodicPass {
  constructor(
    private readonly store: PostgresStore,
    private readonly logger: Logger,
  ) {
    super(COMPACT_INTERVAL);
  }

  protected async pass(): Promise<void> {
    await this.store.compactCounts().catch((err: unknown) => this.logger.warn({ err }, 'compacting job counts failed; will try again'));
  }
}

const COMPACT_INTERVAL = 5_000;

/**
 * One connection before the pool opens, for two things: whether the URL's database exists
 * (created when it does not) and whether the URL goes through a pooler (`isPooled`). A database
 * this call created is probed for a pooler anew, on a connection to it.
 */
async function probeDatabase(url: string): Promise<{ databaseCreated: boolean; pooled: boolean }> {
  const probe = new pg.Client({ connectionString: url, application_name: 'jobbase-open' });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return { databaseCreated: false, pooled: await isPooled(probe) };
  } catch (err) {
    // Not "no such database": opening the pool reports it.
    if ((err as { code?: string }).code !== '3D000') return { databaseCreated: false, pooled: false };
  } finally {
    await probe.end().catch(() => undefined);
  }
  return { databaseCreated: await createDatabase(url), pooled: await throughPooler(url) };
}

/**
 * Creates the URL's database (as MikroORM would, through the `postgres` maintenance database),
 * tolerating another process that created it meanwhile: PostgreSQL then answers
 * duplicate_database (42P04), or a unique violation (23505) when both ran at once. True when
 * this call created it.
 */
async function createDatabase(url: string): Promise<boolean> {
  const name = postgresDatabaseName(url);
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: maintenance.toString(), application_name: 'jobbase-open' });
  await admin.connect();
  try {
    await admin.query(`create database ${pg.escapeIdentifier(name)}`);
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw err;
    return false;
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** What `open` found out about the connection, and where to LISTEN. */
interface PostgresConnection {
  /** The database URL goes through a pooler (PgBouncer): no named prepared statements. */
  pooled: boolean;
  listenUrl?: string | false;
}

/**
 * Begins the migration's transaction holding its advisory lock. It tries rather than waits:
 * through PgBouncer every waiting process would pin a server connection for the whole wait,
 * and once they held them all the process holding the lock could not get one to migrate with.
 */
async function lockMigrations(client: pg.Client): Promise<void> {
  for (;;) {
    await client.query('begin');
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1) as locked', [MIGRATION_LOCK]);
    if (rows[0]?.locked) return;
    await client.query('rollback');
    await new Promise((resolve) => setTimeout(resolve, MIGRATION_LOCK_RETRY));
  }
}

/** JSONB cannot hold `\u0000` in a string (22P05); that is bad input, not a server fault. */
function unstorableText(err: unknown): JobsError | null {
  const code = (err as { code?: string }).code;
  if (code !== '22P05' && code !== '22021') return null;
  return validationError('payload', 'unsupported_text', 'payload must not contain NUL (\\u0000) characters.');
}
