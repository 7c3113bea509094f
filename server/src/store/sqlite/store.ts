import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Database, Statement } from 'better-sqlite3';
import { MikroORM } from '@mikro-orm/better-sqlite';
import type { JobStatus } from '@jobbase/contract';
import { JobsError } from '../../errors.js';
import { baseOrmConfig, type StoreOpenOptions } from '../orm-config.js';
import { claimOrder, JOB_COLUMNS, lockedUntilByTopic, SqlStore, TOPIC_COLUMNS, toTopicSettings, unavailable, type Row } from '../sql-store.js';
import type {
  ChangeListenParams,
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
  ListenParams,
  UniqueInsert,
} from '../types.js';
import {
  keepSlotFor,
  keepSlotForOrCancelled,
  runStepsSync,
  statusOrCancelled,
  statesToBits,
  uniqueInsertManySteps,
  uniqueInsertSteps,
  wantsKeyColumn,
  wantsKeyOfNewStatus,
  type SqlStep,
  type UniqueInsertSql,
} from '../unique-keys.js';
import { sqliteMigrations } from './migrations.js';
import type { ScheduleJobInsert, Steps } from '../schedules.js';

/** Rows per statement: SQLite binds at most 32,766 values (an insert row takes 8). */
const COMPLETE_CHUNK = 500;
const INSERT_CHUNK = 500;
/** How long racing first starts keep trying to migrate, at least, whatever the busy timeout. */
const MIN_MIGRATE_WAIT = 5_000;
/** How often an idle worker checks whether another process committed, ms. */
const WATCH_INTERVAL = 10;
/** How often the change feed reads job_changes, ms: live enough for a screen, a tiny read when idle. */
const CHANGES_POLL_INTERVAL = 50;
/** Changes read at once; a backlog is read in several reads. */
const CHANGES_READ_LIMIT = 1_000;
/**
 * How long one statement may wait, blocking, for another process's write lock. better-sqlite3
 * runs on the event loop's thread, so SQLite's own busy wait would freeze the process for the
 * whole busy timeout; past this short wait the store lets go and tries again from a timer.
 */
const BLOCKING_BUSY_WAIT = 20;
/** Most prepared statements kept; the claim and the batched completion vary with their sizes. */
const MAX_STATEMENTS = 128;

export class SqliteStore extends SqlStore {
  readonly dialect = 'sqlite' as const;

  static async open(filename: string, options: StoreOpenOptions): Promise<SqliteStore> {
    const busyTimeout = options.busyTimeout ?? 10_000;
    const synchronous = options.synchronous ?? 'NORMAL';
    // Both go into a PRAGMA, which takes no parameters: only known values pass.
    if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
      throw new JobsError('validation', `Option synchronous must be NORMAL or FULL, got ${String(synchronous)}.`);
    }
    if (!Number.isInteger(busyTimeout) || busyTimeout < 0) {
      throw new JobsError('validation', `Option busyTimeout must be an integer ≥ 0, got ${String(busyTimeout)}.`);
    }
    const databaseCreated = filename !== ':memory:' && !existsSync(filename);
    if (databaseCreated) createPrivately(filename);
    const orm = await MikroORM.init({
      ...baseOrmConfig(sqliteMigrations, options.logger),
      dbName: filename,
      pool: {
        // Every connection knex opens gets WAL, the busy timeout and the sync level: several
        // processes then share the file, and a writer waits rather than failing SQLITE_BUSY.
        afterCreate: (db: Database, done: (err: Error | null, db: Database) => void) => {
          const deadline = Date.now() + busyTimeout;
          // Switching a new file to WAL needs it to itself, and SQLite answers SQLITE_BUSY at
          // once rather than through the busy handler while another process switches it too.
          const setUp = () => {
            try {
              db.pragma(`busy_timeout = ${BLOCKING_BUSY_WAIT}`);
              db.pragma('journal_mode = wal');
              db.pragma(`synchronous = ${synchronous}`);
              done(null, db);
            } catch (err) {
              if (isBusy(err) && Date.now() < deadline) setTimeout(setUp, 5 + Math.random() * 20);
              else done(err as Error, db);
            }
          };
          setUp();
        },
        // One connection, so `sqlite::memory:` is one database: the store holds it for its
        // queries and hands it back to the pool while MikroORM's migrator runs.
        min: 1,
        max: 1,
      },
    });
    return new SqliteStore(orm, databaseCreated, busyTimeout);
  }

  private constructor(
    orm: MikroORM,
    databaseCreated: boolean,
    private readonly busyTimeout: number,
  ) {
    super(orm, databaseCreated);
  }

  /**
   * The connection of MikroORM's one-connection pool, held from the first query to close (but
   * while migrations run): every hot query is a prepared statement run on it
   * synchronously, with no pool, thread hop or callback in between.
   */
  private connection: Promise<Database> | null = null;
  private readonly statements = new Map<string, Statement>();

  private db(): Promise<Database> {
    this.connection ??= this.knexClient().acquireConnection() as Promise<Database>;
    this.connection.catch(() => (this.connection = null));
    return this.connection;
  }

  private prepared(db: Database, sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      if (this.statements.size >= MAX_STATEMENTS) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `work` on the connection; when another process holds the write lock past the short
   * blocking wait, tries again from a timer (the event loop stays free) until the busy timeout,
   * then answers `unavailable`. A statement refused SQLITE_BUSY changed nothing, so it is safe
   * to repeat.
   */
  private async withDb<T>(work: (db: Database) => T): Promise<T> {
    let db: Database;
    try {
      db = await this.db();
    } catch (err) {
      throw unavailable(err);
    }
    const deadline = Date.now() + this.busyTimeout;
    for (let attempt = 1; ; attempt++) {
      try {
        return work(db);
      } catch (err) {
        if (!this.isUnavailable(err)) throw err;
        if (!isBusy(err) || Date.now() >= deadline) throw unavailable(err);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5 * attempt, 50) * (0.5 + Math.random())));
      }
    }
  }

  protected all(sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.withDb((db) => this.step(db, { sql, params }));
  }

  protected run(sql: string, params: unknown[] = []): Promise<number> {
    return this.withDb((db) => this.prepared(db, sql).run(bindable(params)).changes);
  }

  /** Gives the connection back to MikroORM's pool (for the migrator, or to close). */
  private async releaseConnection(): Promise<void> {
    const held = this.connection;
    this.connection = null;
    this.statements.clear();
    const db = await held?.catch(() => null);
    if (db) await this.knexClient<Database>().releaseConnection(db);
  }

  protected closeDialect(): Promise<void> {
    return this.releaseConnection();
  }

  async jobInsert(p: JobInsertParams): Promise<JobRecord> {
    const now = new Date().toISOString();
    const rows = await this.all(
      `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, priority, created, updated, trace_context)
       values (?, ?, ?, 'pending', ?, 0, ?, ?, ?, ?, ?) returning ${JOB_COLUMNS}`,
      [p.id, p.topic, p.payloadJson, p.runAt.toISOString(), p.maxRetries, p.priority, now, now, p.traceContext ?? null],
    );
    return this.toRecord(rows[0]!);
  }

  /**
   * All chunks in one IMMEDIATE transaction: all or nothing, one commit, and the write lock
   * taken up front so another process cannot make it fail midway. It runs synchronously start
   * to end (1,000 jobs take a few ms), so nothing else on this connection interleaves with it.
   */
  async jobInsertMany(items: readonly JobInsertParams[]): Promise<JobRecord[]> {
    if (items.length === 0) return [];
    const now = new Date().toISOString();
    return this.withDb((db) =>
      db
        .transaction(() => {
          const byId = new Map<string, JobRecord>();
          for (let i = 0; i < items.length; i += INSERT_CHUNK) {
            const chunk = items.slice(i, i + INSERT_CHUNK);
            const rows = this.prepared(
              db,
              `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, priority, created, updated, trace_context)
               values ${chunk.map(() => "(?, ?, ?, 'pending', ?, 0, ?, ?, ?, ?, ?)").join(', ')} returning ${JOB_COLUMNS}`,
            ).all(
              bindable(
                chunk.flatMap((p) => [p.id, p.topic, p.payloadJson, p.runAt.toISOString(), p.maxRetries, p.priority, now, now, p.traceContext ?? null]),
              ),
            ) as Row[];
            for (const row of rows) byId.set(row.id as string, this.toRecord(row));
          }
          return items.map((p) => byId.get(p.id)!);
        })
        .immediate(),
    );
  }

  protected readonly uniqueSql: UniqueInsertSql = {
    insert: (p, now) => ({
      sql: `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, priority, unique_key, unique_states, unique_slot, created, updated, trace_context)
            select ?, ?, ?, 'pending', ?, 0, ?, ?, ?, ?, ?, ?, ?, ? where not exists (select 1 from jobs where unique_slot = ?)
            on conflict (unique_slot) where unique_slot is not null do nothing
            returning ${JOB_COLUMNS}`,
      params: [
        p.id,
        p.topic,
        p.payloadJson,
        p.runAt.toISOString(),
        p.maxRetries,
        p.priority,
        p.unique?.key ?? null,
        p.unique ? statesToBits(p.unique.states) : null,
        p.unique?.states.includes('pending') ? p.unique.key : null,
        now.toISOString(),
        now.toISOString(),
        p.traceContext ?? null,
        p.unique?.key ?? null,
      ],
    }),
    replace: (p, key, now) => ({
      sql: `update jobs set topic = ?, payload = ?, run_at = ?, max_retries = ?, priority = ?, updated = ?
            where unique_slot = ? and status = 'pending' returning ${JOB_COLUMNS}`,
      params: [p.topic, p.payloadJson, p.runAt.toISOString(), p.maxRetries, p.priority, now.toISOString(), key],
    }),
    holder: (key) => ({ sql: `select ${JOB_COLUMNS} from jobs where unique_slot = ?`, params: [key] }),
  };

  /** Runs one statement on `db`, synchronously: its rows, none for a statement that returns none. */
  private step(db: Database, step: SqlStep): Row[] {
    const statement = this.prepared(db, step.sql);
    if (statement.reader) return statement.all(bindable(step.params)) as Row[];
    statement.run(bindable(step.params));
    return [];
  }

  /** IMMEDIATE, as the batch insert: the write lock first, then the statements of the rules. */
  async jobInsertUnique(p: JobInsertParams & { unique: UniqueInsert }): Promise<JobInsertOutcome> {
    const now = new Date();
    return this.withDb((db) =>
      db.transaction(() => runStepsSync(uniqueInsertSteps(this.uniqueSql, p, now, (r) => this.toRecord(r)), (s) => this.step(db, s))).immediate(),
    );
  }

  /** One IMMEDIATE transaction; a conflict throws inside it, which rolls it back. */
  async jobInsertManyUnique(items: readonly JobInsertParams[]): Promise<JobInsertOutcome[] | BatchConflict> {
    if (items.length === 0) return [];
    const now = new Date();
    return this.withDb((db) => {
      try {
        return db
          .transaction(() => {
            const result = runStepsSync(uniqueInsertManySteps(this.uniqueSql, items, now, (r) => this.toRecord(r)), (s) => this.step(db, s));
            if (!Array.isArray(result)) throw new RolledBack(result);
            return result;
          })
          .immediate();
      } catch (err) {
        if (err instanceof RolledBack) return err.conflict;
        throw err;
      }
    });
  }

  protected isUniqueViolation(err: unknown): boolean {
    return (err as { code?: string } | null)?.code === 'SQLITE_CONSTRAINT_UNIQUE';
  }

  /** Busy past the busy timeout, or the file cannot be read or written. */
  protected isUnavailable(err: unknown): boolean {
    const code = (err as { code?: string }).code ?? '';
    return /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|PROTOCOL)/.test(code);
  }

  /**
   * Several processes may start on a new file at once; all but one then find the tables made
   * while they looked. Which error a loser sees depends on where the race caught it (a table
   * that exists, a duplicate migration row, or SQLITE_BUSY without waiting: SQLite refuses at
   * once to upgrade a read transaction to a write while another connection writes, since
   * waiting could deadlock). Migrations are recorded transactionally, so trying again after a
   * random pause finds them done; a real fault fails every attempt and surfaces once the busy
   * timeout has passed. An up-to-date file (every start but the first) is only read.
   */
  async migrate(): Promise<string[]> {
    const deadline = Date.now() + Math.max(this.busyTimeout, MIN_MIGRATE_WAIT);
    for (let attempt = 1; ; attempt++) {
      if (await this.migrationsRecorded(sqliteMigrations)) return [];
      try {
        await this.releaseConnection();
        return await this.applyMigrations();
      } catch (err) {
        if (Date.now() >= deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * Math.min(attempt, 8)));
      }
    }
  }

  /**
   * SQLite cannot notify, but `pragma data_version` changes whenever another connection
   * commits to the file; polling it costs one tiny read. So a worker idle in one process starts a
   * job enqueued by another within about WATCH_INTERVAL ms instead of a poll interval (measured
   * before: p50 ~500 ms with the 1 s default).
   */
  async listenForJobs(params: ListenParams): Promise<() => Promise<void>> {
    let last: number | undefined;
    let polling: Promise<void> | null = null;
    const poll = async () => {
      try {
        const rows = await this.all('pragma data_version');
        const version = Number(rows[0]?.data_version);
        if (last !== undefined && version !== last) params.onWake();
        last = version;
      } catch {
        // The producer's own claims report database trouble; the watch just tries again.
      }
    };
    const timer = setInterval(() => {
      polling ??= poll().finally(() => (polling = null));
    }, WATCH_INTERVAL);
    timer.unref();
    await poll();
    return async () => {
      clearInterval(timer);
      await polling;
    };
  }

  protected time(date: Date): string {
    return date.toISOString();
  }

  protected decodePayload(value: unknown): unknown {
    return JSON.parse(value as string);
  }

  /** The payload is stored as its JSON text; octet_length reads its size from the record header. */
  protected readonly payloadBytes = 'octet_length(payload) + coalesce(octet_length(result), 0) + coalesce(octet_length(progress), 0)';

  /** One statement for any number of ids (a placeholder each would make a statement per page size). */
  protected idList(ids: readonly string[]): { sql: string; param: unknown } {
    return { sql: 'select value from json_each(?)', param: JSON.stringify(ids) };
  }

  /**
   * Due jobs by priority, then run_at, then id, without reading the jobs that are not due.
   * jobs_claim is (status, priority, run_at, id): within one priority the due jobs are the
   * start of a range, but one ordered walk across priorities would step over every job not yet
   * due at a lower priority number first (a million jobs scheduled for tomorrow at priority -1
   * would be read by every claim). So the claim visits the waiting priorities in order, one index
   * probe each, and takes each one's due jobs until it has `limit`: its cost grows with the
   * number of distinct priorities waiting, never with the jobs.
   *
   * One IMMEDIATE transaction, run synchronously: the write lock is taken before the reads, so
   * no other process claims the same rows in between (`+status = 'pending'` states the
   * compare-and-set anyway). `+status` keeps SQLite from answering the update's WHERE with a
   * status index: it picked jobs_status_created and scanned every pending row (13 ms per claim
   * with 100,000 waiting, 0.1 ms once it looks the ids up by primary key). Each row gets its own
   * random lock token, and its topic's lock (`lockDurationByTopic`).
   */
  async jobClaim(p: JobClaimParams): Promise<ClaimedJob[]> {
    if (p.topics.length === 0 || p.limit <= 0) return [];
    const now = new Date();
    const lockedUntil = lockedUntilByTopic(p, now);
    const rows = await this.withDb((db) => db.transaction(() => this.claimDue(db, p.topics, p.limit, now, lockedUntil)).immediate());
    await this.takeKeys(rows);
    return rows.map((r) => this.toClaimed(r)).sort(claimOrder);
  }

  /** The claim's statements (see jobClaim), run inside the caller's IMMEDIATE transaction. */
  private claimDue(db: Database, claimTopics: readonly string[], limit: number, now: Date, lockedUntil: Record<string, string>): Row[] {
    const topics = claimTopics.map(() => '?').join(', ');
    const first = this.prepared(db, `select priority from jobs where status = 'pending' order by priority limit 1`);
    const next = this.prepared(db, `select priority from jobs where status = 'pending' and priority > ? order by priority limit 1`);
    const due = this.prepared(
      db,
      `select id from jobs where status = 'pending' and priority = ? and run_at <= ? and topic in (${topics})
       order by run_at, id limit ?`,
    );
    const ids: string[] = [];
    let waiting = first.get() as Row | undefined;
    while (waiting) {
      const rows = due.all(bindable([waiting.priority, now.toISOString(), ...claimTopics, limit - ids.length])) as Row[];
      for (const row of rows) ids.push(row.id as string);
      if (ids.length >= limit) break;
      waiting = next.get(bindable([waiting.priority])) as Row | undefined;
    }
    if (ids.length === 0) return [];
    return this.prepared(
      db,
      `update jobs set status = 'processing', lock_token = lower(hex(randomblob(16))), updated = ?,
         locked_until = (select value from json_each(?) where key = jobs.topic), ${keepSlotFor('processing')}
       where id in (select value from json_each(?)) and +status = 'pending'
       returning ${JOB_COLUMNS}, lock_token, locked_until, ${wantsKeyColumn('processing')}`,
    ).all(bindable([now.toISOString(), JSON.stringify(lockedUntil), JSON.stringify(ids)])) as Row[];
  }

  /**
   * Row values `(id, lock_token) in (values …)`: one statement and one commit for many jobs.
   * `+status`, as in the claim, so the ids are looked up by primary key. A batch where some
   * handler returned a value joins the values instead, to store each one's result; a batch of
   * handlers that returned nothing (the drain's case) keeps the plain statement. A job marked
   * for cancellation becomes `cancelled` (see statusOrCancelled). With `topics`, each chunk's
   * statement first asks (by primary key) whether any item's job is of another topic.
   */
  async jobCompleteMany(items: readonly JobCompleteItem[], now = new Date(), options: JobCompleteOptions = {}): Promise<JobCompleted[]> {
    const done: JobCompleted[] = [];
    const [only, onlyParams] = options.topics
      ? [
          `and not exists (select 1 from jobs x where x.id in (select value from json_each(?)) and x.topic not in (select value from json_each(?)))`,
          [JSON.stringify(items.map((c) => c.id)), JSON.stringify(options.topics)],
        ]
      : ['', []];
    for (let i = 0; i < items.length; i += COMPLETE_CHUNK) {
      const chunk = items.slice(i, i + COMPLETE_CHUNK);
      const set = `status = ${statusOrCancelled('completed', 'jobs.')}, lock_token = null, locked_until = null, updated = ?,
           ${keepSlotForOrCancelled('completed', 'jobs.')}`;
      const rows = chunk.some((c) => c.resultJson !== undefined)
        ? await this.all(
            `update jobs set ${set}, result = case when jobs.cancel_requested then null else d.result end
             from (select column1 as id, column2 as token, column3 as result from (values ${chunk.map(() => '(?, ?, ?)').join(', ')})) as d
             where jobs.id = d.id and jobs.lock_token = d.token and +jobs.status = 'processing' ${only}
             returning jobs.id, jobs.status, ${wantsKeyOfNewStatus('jobs.')}`,
            [now.toISOString(), ...chunk.flatMap((c) => [c.id, c.lockToken, c.resultJson ?? null]), ...onlyParams],
          )
        : await this.all(
            `update jobs set ${set}
             where +status = 'processing' and (id, lock_token) in (values ${chunk.map(() => '(?, ?)').join(', ')}) ${only}
             returning id, status, ${wantsKeyOfNewStatus()}`,
            [now.toISOString(), ...chunk.flatMap((c) => [c.id, c.lockToken]), ...onlyParams],
          );
      await this.takeKeys(rows);
      for (const row of rows) done.push({ id: row.id as string, status: row.status as JobCompleted['status'] });
    }
    return done;
  }

  // ── Operations (issue 18) ──────────────────────────────────────────────────────────────────

  /**
   * Reads job_changes (migration 0008: written by triggers, in every process's transactions)
   * past the last sequence number seen, every CHANGES_POLL_INTERVAL ms: one primary-key range
   * read, empty when nothing changed. A first row past the one expected means the table's
   * bound dropped rows this reader had not read (it fell more than CHANGES_KEPT behind): `onGap`.
   */
  async listenForChanges(params: ChangeListenParams): Promise<() => Promise<void>> {
    const [top] = await this.all('select coalesce(max(seq), 0) as seq from job_changes');
    let last = Number(top?.seq ?? 0);
    let polling: Promise<void> | null = null;
    const poll = async () => {
      try {
        for (;;) {
          const rows = await this.all('select seq, type, id, topic, status from job_changes where seq > ? order by seq limit ?', [
            last,
            CHANGES_READ_LIMIT,
          ]);
          if (rows.length === 0) return;
          if (Number(rows[0]!.seq) > last + 1) {
            const [first] = await this.all('select min(seq) as seq from job_changes');
            if (Number(first?.seq) > last + 1) params.onGap();
          }
          last = Number(rows[rows.length - 1]!.seq);
          params.onChanges(
            rows.map((r) => ({ type: r.type as string, id: r.id as string, topic: r.topic as string, status: r.status as JobStatus })),
          );
          if (rows.length < CHANGES_READ_LIMIT) return;
        }
      } catch {
        // The next tick tries again; the producer's own claims report database trouble.
      }
    };
    const timer = setInterval(() => {
      polling ??= poll().finally(() => (polling = null));
    }, CHANGES_POLL_INTERVAL);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await polling;
    };
  }

  // --- Topic control (issue 17) ---

  /**
   * The settings, the counts and the claim in one IMMEDIATE transaction: SQLite has one writer,
   * so nothing claims or starts a job of the topic between the counts and the claim, and the
   * counts are exact. `processing` jobs are counted through jobs_lock (status first); the
   * window's starts through topic_starts_topic, which the claim prunes to the last window.
   */
  async jobClaimControlled(p: JobClaimControlledParams): Promise<ControlledClaim> {
    if (p.limit <= 0) return { jobs: [], heldBack: null, retryAt: null };
    const result = await this.withDb((db) =>
      db
        .transaction((): { rows: Row[]; heldBack: ControlledClaim['heldBack']; retryAt: Date | null } => {
          const now = new Date();
          const lockedUntil = { [p.topic]: new Date(now.getTime() + p.lockDuration).toISOString() };
          const settings = this.prepared(db, `select ${TOPIC_COLUMNS} from topics where topic = ?`).get(p.topic) as Row | undefined;
          const topic = settings ? toTopicSettings(settings) : null;
          if (topic?.paused) return { rows: [], heldBack: 'paused', retryAt: null };
          let limit = p.limit;
          let heldBack: ControlledClaim['heldBack'] = null;
          let retryAt: Date | null = null;
          if (topic?.maxRunning != null) {
            const running = this.prepared(db, `select count(*) as n from jobs where status = 'processing' and topic = ?`).get(p.topic) as Row;
            const free = topic.maxRunning - Number(running.n);
            if (free < limit) [limit, heldBack] = [Math.max(0, free), 'cap'];
          }
          const rate = topic?.rateLimit;
          const windowStart = rate ? new Date(now.getTime() - rate.perMs).toISOString() : '';
          if (rate) {
            const started = this.prepared(
              db,
              `select count(*) as n, min(started_at) as first from topic_starts where topic = ? and started_at > ?`,
            ).get(p.topic, windowStart) as Row;
            const allowed = rate.max - Number(started.n);
            if (allowed < limit) {
              [limit, heldBack] = [Math.max(0, allowed), 'rate'];
              // The window's first start leaving it frees the next start.
              retryAt = new Date((started.first ? new Date(started.first as string) : now).getTime() + rate.perMs + 1);
            }
          }
          if (limit <= 0) return { rows: [], heldBack, retryAt };
          const rows = this.claimDue(db, [p.topic], limit, now, lockedUntil);
          if (rate) {
            this.prepared(db, 'delete from topic_starts where topic = ? and started_at <= ?').run(p.topic, windowStart);
            const log = this.prepared(db, 'insert into topic_starts (topic, started_at) values (?, ?)');
            for (let i = 0; i < rows.length; i++) log.run(p.topic, now.toISOString());
          }
          return { rows, heldBack: rows.length < limit ? null : heldBack, retryAt };
        })
        .immediate(),
    );
    await this.takeKeys(result.rows);
    return { jobs: result.rows.map((r) => this.toClaimed(r)).sort(claimOrder), heldBack: result.heldBack, retryAt: result.retryAt };
  }

  // ── Schedules (issue 16) ───────────────────────────────────────────────────────────────────

  /**
   * IMMEDIATE, as the unique insert: the write lock first, so the compare-and-set on next_run_at
   * and the inserts after it see no other process's write in between.
   */
  protected inTransaction<T>(steps: Steps<T>): Promise<T> {
    return this.withDb((db) => db.transaction(() => runStepsSync(steps, (s) => this.step(db, s))).immediate());
  }

  protected readonly scheduleJobInsert: ScheduleJobInsert = (p, schedule, now) => ({
    sql: `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, priority, schedule_name, schedule_tick, created, updated)
          values (?, ?, ?, 'pending', ?, 0, ?, ?, ?, ?, ?, ?) returning ${JOB_COLUMNS}`,
    params: [
      p.id,
      p.topic,
      p.payloadJson,
      p.runAt.toISOString(),
      p.maxRetries,
      p.priority,
      schedule.name,
      schedule.tick?.toISOString() ?? null,
      now.toISOString(),
      now.toISOString(),
    ],
  });

  // ── Running jobs (issue 15) ──

  /** Renewals joined from a JSON array, each its own `locked_until`. */
  protected heartbeatRenewSql(renew: readonly JobHeartbeatItem[]): SqlStep {
    return {
      sql: `update jobs set locked_until = d.until
            from (select value ->> 'id' as id, value ->> 'token' as token, value ->> 'until' as until from json_each(?)) as d
            where jobs.id = d.id and jobs.lock_token = d.token and +jobs.status = 'processing'
            returning jobs.id, jobs.cancel_requested`,
      params: [JSON.stringify(renew.map((i) => ({ id: i.id, token: i.lockToken, until: i.lockedUntil!.toISOString() })))],
    };
  }

  protected heartbeatCheckSql(check: readonly JobHeartbeatItem[]): SqlStep {
    return {
      sql: `select id, cancel_requested from jobs
            where +status = 'processing' and (id, lock_token) in (select value ->> 0, value ->> 1 from json_each(?))`,
      params: [JSON.stringify(check.map((i) => [i.id, i.lockToken]))],
    };
  }

  /** Nothing to send: the write itself changes the file's data_version, which other processes watch. */
  protected async notifyFinished(): Promise<void> {}

  /** Another connection's commit may have finished jobs: the same watch as for new jobs. */
  listenForFinishes(onChange: () => void): Promise<() => Promise<void>> {
    return this.listenForJobs({ onTopic: onChange, onWake: onChange });
  }

  async jobSetProgress(p: JobProgressParams): Promise<HeldJob | null> {
    const rows = await this.all(
      `update jobs set progress = ?, locked_until = coalesce(?, locked_until)
       where id = ? and lock_token = ? and status = 'processing' returning id, cancel_requested`,
      [p.progressJson, p.lockedUntil?.toISOString() ?? null, p.id, p.lockToken],
    );
    return rows[0] ? this.toHeld(rows[0]) : null;
  }
}

/**
 * better-sqlite3 binds every JS number as a REAL, so `'n' || ?` with 3 would read `n3.0` and
 * `typeof(?)` 'real'; whole numbers go as BigInt, which it binds as INTEGER (as node-sqlite3 did).
 */
function bindable(params: unknown[]): unknown[] {
  return params.map((p) => (typeof p === 'number' && Number.isSafeInteger(p) ? BigInt(p) : p));
}

/**
 * The database holds the token signing secret and the superusers' password hashes, so what
 * Jobbase creates for it is its owner's alone: missing folders 0700, the file 0600 (SQLite
 * gives the -wal, -shm and journal files the main file's mode). A umask only takes bits away,
 * so these modes hold under any umask that leaves the owner their own. A folder or file that
 * exists is left as it is: its owner chose its mode.
 */
function createPrivately(filename: string): void {
  mkdirSync(dirname(resolve(filename)), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(filename, 'wx', 0o600));
  } catch (err) {
    // Another process created it first; that one set its mode.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** Thrown inside a transaction to roll it back, carrying the answer out. */
class RolledBack {
  constructor(readonly conflict: BatchConflict) {}
}

function isBusy(err: unknown): boolean {
  return /^SQLITE_BUSY/.test((err as { code?: string } | null)?.code ?? '');
}
