import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlConnection } from '@mikro-orm/knex';
import type { JobStatus, ListSort } from '@jobbase/contract';
import { JobsError } from '../errors.js';
import { JOB_STATUSES } from '@jobbase/contract';
import {
  SCHEDULE_SELECT,
  scheduleFireSteps,
  scheduleInsertSql,
  schedulePauseSql,
  scheduleTriggerSteps,
  scheduleUpdateSql,
  scheduleUpsertSql,
  toSchedule,
  type ScheduleJobInsert,
  type Steps,
} from './schedules.js';
import {
  bitsToStates,
  TAKE_KEY,
  keepSlotFor,
  keepSlotForOrCancelled,
  statusOrCancelled,
  wantsKey,
  wantsKeyColumn,
  wantsKeyOfNewStatus,
  type SqlStep,
  type UniqueInsertSql,
} from './unique-keys.js';
import type {
  BatchConflict,
  ClaimedJob,
  ControlledClaim,
  ExpiredJob,
  JobClaimControlledParams,
  HeldJob,
  JobClaimParams,
  JobCompleteItem,
  JobCompleted,
  JobCompleteOptions,
  JobDeleteFinishedParams,
  JobFailParams,
  JobGetExpiredParams,
  JobHeartbeatItem,
  JobInsertOutcome,
  JobInsertParams,
  JobListParams,
  JobListResult,
  JobMoveParams,
  JobProgressParams,
  JobRecord,
  JobRescueItem,
  JobRetryParams,
  JobSnoozeParams,
  ScheduleDefinition,
  ScheduleFireOutcome,
  ScheduleFireParams,
  ScheduleRecord,
  StatusCounts,
  ChangeListenParams,
  JobChunkParams,
  JobChunkResult,
  JobCancelChunkResult,
  JobCursor,
  JobFilter,
  TopicStatusCount,
  Store,
  StoreOpening,
  SuperuserPasswordParams,
  SuperuserRecord,
  WorkerTokenRecord,
  TopicOverviewRecord,
  TopicSettingsPatch,
  TopicSettingsRecord,
  UniqueInsert,
} from './types.js';

export type Row = Record<string, unknown>;

/** The columns every query returns; keep the mapping in `toRecord` in step with it. */
export const JOB_COLUMNS =
  'id, topic, payload, status, run_at, retries, max_retries, last_error, priority, snoozes, cancel_requested, result, progress, unique_key, unique_states, schedule_name, schedule_tick, created, updated, trace_context';

/** The same but the payload, result and progress: a list page asked for without payloads. */
const JOB_COLUMNS_BUT_PAYLOAD =
  'id, topic, status, run_at, retries, max_retries, last_error, priority, snoozes, cancel_requested, unique_key, unique_states, schedule_name, schedule_tick, created, updated, trace_context';

/**
 * A list page's order, as it is read (`natural`) and reversed (to walk from the other end).
 * `priority` is the claim's order, so with `status=pending` the claim's index serves it.
 */
const LIST_ORDER: Record<ListSort, { natural: string; reversed: string }> = {
  '-created': { natural: 'created desc, id desc', reversed: 'created asc, id asc' },
  priority: { natural: 'priority asc, run_at asc, id asc', reversed: 'priority desc, run_at desc, id desc' },
};

/**
 * The queries both dialects write the same way, with `?` placeholders on both. What differs is
 * abstract here and written out once in each dialect's store (`sqlite/store.ts`,
 * `postgres/store.ts`): the inserts, the claim, the batched completion, migrating and closing.
 * Nothing here is overridden.
 */
export abstract class SqlStore implements Store {
  abstract readonly dialect: 'sqlite' | 'postgres';
  /** The migrations are filled in by `openStore`, which migrates the store it opens. */
  opening: StoreOpening;

  constructor(
    protected readonly orm: MikroORM,
    databaseCreated: boolean,
  ) {
    this.opening = { databaseCreated, migrationsApplied: [] };
  }

  /** A time as this dialect binds it. */
  protected abstract time(date: Date): unknown;
  /** The stored payload back to a JS value. */
  protected abstract decodePayload(value: unknown): unknown;

  /** A nullable JSON column (result, progress) back to a JS value: SQL NULL is null. */
  private decodeJson(value: unknown): unknown {
    return value === null || value === undefined ? null : this.decodePayload(value);
  }
  /** SQL: the bytes of a row's payload, result and progress as JSON text, as the driver will hand them over. */
  protected abstract readonly payloadBytes: string;
  /** SQL selecting the ids given, bound as the one parameter it returns beside it. */
  protected abstract idList(ids: readonly string[]): { sql: string; param: unknown };
  abstract migrate(): Promise<string[]>;
  abstract jobInsert(params: JobInsertParams): Promise<JobRecord>;
  abstract jobInsertMany(items: readonly JobInsertParams[]): Promise<JobRecord[]>;
  abstract jobInsertUnique(params: JobInsertParams & { unique: UniqueInsert }): Promise<JobInsertOutcome>;
  abstract jobInsertManyUnique(items: readonly JobInsertParams[]): Promise<JobInsertOutcome[] | BatchConflict>;
  /** The statements of a unique insert, in this dialect's SQL (see unique-keys.ts). */
  protected abstract readonly uniqueSql: UniqueInsertSql;
  /** True when `err` is a unique index refusing a write. */
  protected abstract isUniqueViolation(err: unknown): boolean;
  abstract jobClaim(params: JobClaimParams): Promise<ClaimedJob[]>;
  abstract jobCompleteMany(items: readonly JobCompleteItem[], now?: Date, options?: JobCompleteOptions): Promise<JobCompleted[]>;
  /** SQL renewing the given locks, each to its own `locked_until`: `returning id, cancel_requested`. */
  protected abstract heartbeatRenewSql(renew: readonly JobHeartbeatItem[]): SqlStep;
  /** SQL reading the cancel marks of the jobs still held by the given tokens. */
  protected abstract heartbeatCheckSql(check: readonly JobHeartbeatItem[]): SqlStep;
  abstract jobSetProgress(params: JobProgressParams): Promise<HeldJob | null>;
  /** Stops what the dialect runs in the background and frees what it holds, before the pool closes. */
  protected abstract closeDialect(): Promise<void>;

  /** Whether jb_migrations records every one of `migrations` (false when it does not exist yet). */
  protected async migrationsRecorded(migrations: readonly { name: string }[]): Promise<boolean> {
    let rows: Row[];
    try {
      rows = await this.all('select name from jb_migrations');
    } catch {
      return false;
    }
    const recorded = new Set(rows.map((r) => r.name));
    return migrations.every((m) => recorded.has(m.name));
  }

  /** Applies the migrations not yet recorded in jb_migrations, in order; their names. */
  protected async applyMigrations(): Promise<string[]> {
    const applied = await this.orm.getMigrator().up();
    return applied.map((m) => m.name);
  }

  /** Rows of a query (`?` placeholders), straight through the driver on a pooled connection. */
  protected abstract all(sql: string, params?: unknown[]): Promise<Row[]>;

  /** Rows of any statement, for tests that inspect the database (see `store/testing.ts`). */
  rawQuery(sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.all(sql, params);
  }
  /** Rows changed by a statement (`?` placeholders). */
  protected abstract run(sql: string, params?: unknown[]): Promise<number>;

  /** knex's client under MikroORM, which owns the pool of driver connections. */
  protected knexClient<C = unknown>(): { acquireConnection(): Promise<C>; releaseConnection(conn: C | null): Promise<void> } {
    return (this.orm.em.getConnection() as AbstractSqlConnection).getKnex().client as {
      acquireConnection(): Promise<C>;
      releaseConnection(conn: C | null): Promise<void>;
    };
  }

  /** True when `err` says the database cannot be reached or is busy, not that the query is wrong. */
  protected abstract isUnavailable(err: unknown): boolean;

  protected toRecord(row: Row): JobRecord {
    return {
      id: row.id as string,
      topic: row.topic as string,
      payload: 'payload' in row ? this.decodePayload(row.payload) : undefined,
      status: row.status as JobStatus,
      runAt: toDate(row.run_at),
      retries: Number(row.retries),
      maxRetries: Number(row.max_retries),
      lastError: (row.last_error as string | null) ?? null,
      priority: Number(row.priority),
      snoozes: Number(row.snoozes),
      cancelRequested: row.cancel_requested === true || Number(row.cancel_requested) === 1,
      result: 'result' in row ? this.decodeJson(row.result) : undefined,
      progress: 'progress' in row ? this.decodeJson(row.progress) : undefined,
      uniqueKey: (row.unique_key as string | null) ?? null,
      uniqueStates: row.unique_states === null || row.unique_states === undefined ? null : bitsToStates(Number(row.unique_states)),
      scheduleName: (row.schedule_name as string | null | undefined) ?? null,
      scheduleTick: row.schedule_tick === null || row.schedule_tick === undefined ? null : toDate(row.schedule_tick),
      created: toDate(row.created),
      updated: toDate(row.updated),
      traceContext: (row.trace_context as string | null | undefined) ?? null,
    };
  }

  /** A row of `… returning id, cancel_requested` as a held job. */
  protected toHeld(row: Row): HeldJob {
    return { id: row.id as string, cancelRequested: row.cancel_requested === true || Number(row.cancel_requested) === 1 };
  }

  /**
   * The record with the lock added to it, not spread into a new literal: on Node 20 a literal
   * that spreads an object and then adds properties kept each claimed job alive through young
   * collections, and a drain's heap grew by the size of every job it ran (docs/benchmarks.md, Memory).
   */
  protected toClaimed(row: Row): ClaimedJob {
    const job = this.toRecord(row) as ClaimedJob;
    job.lockToken = row.lock_token as string;
    job.lockedUntil = toDate(row.locked_until);
    return job;
  }

  async jobGet(id: string): Promise<JobRecord | null> {
    const rows = await this.all(`select ${JOB_COLUMNS} from jobs where id = ?`, [id]);
    return rows[0] ? this.toRecord(rows[0]) : null;
  }

  /**
   * The total comes from job_counts (kept by triggers, see the migrations), so it costs a few
   * rows whatever the table holds. The page walks the list index from whichever end is nearer
   * the offset: the last page of a million jobs reads 20 entries, not 999,980, and no page reads
   * more than half the matching entries. Only the page's own rows are read from the table.
   * Measured on a million jobs (PostgreSQL): `?offset=900000` 264 → 18 ms, the middle 75 ms.
   *
   * With a payload budget, the page's payloads are measured before any is read, and the rows
   * are then read by the ids measured (payloads never change), so what is read is what was
   * measured even while other jobs come and go. The running sum lets the database stop at the
   * first row past the budget: PostgreSQL renders each jsonb to measure it (500 payloads of
   * 1 MiB: 4.2 s in all, 37 ms to the first 8 MiB); SQLite reads a TEXT's length from its
   * record header without its overflow pages (0.5 ms for the 500).
   *
   * job_counts does not count by priority, so a priority filter counts its rows (`count(*)`,
   * as costly as the rows it matches). Pending is written as a literal: PostgreSQL's partial
   * claim index only serves a query whose predicate it can see, and a prepared statement's
   * generic plan cannot see through a parameter.
   */
  async jobList(p: JobListParams): Promise<JobListResult> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (p.topic !== undefined) {
      where.push('topic = ?');
      params.push(p.topic);
    }
    if (p.status === 'pending') where.push(`status = 'pending'`);
    else if (p.status !== undefined) {
      where.push('status = ?');
      params.push(p.status);
    }
    // job_counts counts by topic and status: a filter on anything else counts the rows. A unique
    // key's jobs are few in any real use (jobs_unique_key (unique_key, created, id) finds them);
    // a priority's are counted through the claim's index when the status is pending.
    const countedBy = where.length ? `where ${where.join(' and ')}` : '';
    if (p.uniqueKey !== undefined) {
      where.unshift('unique_key = ?');
      params.unshift(p.uniqueKey);
    }
    if (p.priority !== undefined) {
      where.push('priority = ?');
      params.push(p.priority);
    }
    const filter = where.length ? `where ${where.join(' and ')}` : '';
    const counted =
      p.priority === undefined && p.uniqueKey === undefined
        ? await this.all(`select coalesce(sum(n), 0) as n from job_counts ${countedBy}`, params)
        : await this.all(`select count(*) as n from jobs ${filter}`, params);
    const total = Number(counted[0]?.n ?? 0);
    if (p.offset >= total) return { items: [], total };
    const order = LIST_ORDER[p.sort ?? '-created'];
    // From the page's own end, or the same rows counted from the other end.
    const fromOtherEnd = p.offset + p.limit / 2 > total / 2;
    const [direction, limit, offset] = fromOtherEnd
      ? [order.reversed, Math.min(p.limit, total - p.offset), Math.max(0, total - p.offset - p.limit)]
      : [order.natural, p.limit, p.offset];
    const page = await this.all(`select id from jobs ${filter} order by ${direction} limit ? offset ?`, [...params, limit, offset]);
    if (page.length === 0) return { items: [], total };
    const ids = this.idList(page.map((r) => r.id as string));
    const payloads = p.payloads !== false;
    if (payloads && p.payloadBudget !== undefined) {
      const [measured] = await this.all(
        `select exists (
           select 1 from (
             select sum(${this.payloadBytes}) over (rows between unbounded preceding and current row) as bytes
             from jobs where id in (${ids.sql})
           ) as page where bytes > ?
         ) as over`,
        [ids.param, p.payloadBudget],
      );
      if (Number(measured?.over) === 1) return { items: [], total, overBudget: true };
    }
    const rows = await this.all(
      `select ${payloads ? JOB_COLUMNS : JOB_COLUMNS_BUT_PAYLOAD} from jobs where id in (${ids.sql}) order by ${order.natural}`,
      [ids.param],
    );
    return { items: rows.map((r) => this.toRecord(r)), total };
  }

  async jobCountByStatus(): Promise<StatusCounts> {
    const rows = await this.all('select status, coalesce(sum(n), 0) as n from job_counts group by status');
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as StatusCounts;
    for (const row of rows) {
      const status = row.status as JobStatus;
      if (status in counts) counts[status] = Number(row.n);
    }
    return counts;
  }

  async jobRetry(p: JobRetryParams): Promise<boolean> {
    const rows = await this.all(
      `update jobs set status = ${statusOrCancelled('pending')}, retries = retries + case when cancel_requested then 0 else 1 end,
         run_at = case when cancel_requested then run_at else ? end, last_error = ?,
         lock_token = null, locked_until = null, updated = ?, ${keepSlotForOrCancelled('pending')}
       where id = ? and lock_token = ? and status = 'processing'
       returning id, status, ${wantsKeyOfNewStatus()}`,
      [this.time(p.runAt), p.error, this.time(p.now ?? new Date()), p.id, p.lockToken],
    );
    await this.takeKeys(rows);
    if (rows[0] && isFinal(rows[0].status)) await this.notifyFinished();
    return rows.length === 1;
  }

  async jobFail(p: JobFailParams): Promise<boolean> {
    const rows = await this.all(
      `update jobs set status = ${statusOrCancelled('failed')}, last_error = ?, lock_token = null, locked_until = null, updated = ?,
         ${keepSlotForOrCancelled('failed')}
       where id = ? and lock_token = ? and status = 'processing'
       returning id, status, ${wantsKeyOfNewStatus()}`,
      [p.error, this.time(p.now ?? new Date()), p.id, p.lockToken],
    );
    await this.takeKeys(rows);
    if (rows[0] && isFinal(rows[0].status)) await this.notifyFinished();
    return rows.length === 1;
  }

  async jobSnooze(p: JobSnoozeParams): Promise<boolean> {
    const rows = await this.all(
      `update jobs set status = ${statusOrCancelled('pending')}, snoozes = snoozes + case when cancel_requested then 0 else 1 end,
         run_at = case when cancel_requested then run_at else ? end, lock_token = null, locked_until = null, updated = ?,
         ${keepSlotForOrCancelled('pending')}
       where id = ? and lock_token = ? and status = 'processing'
       returning id, status, ${wantsKeyOfNewStatus()}`,
      [this.time(p.runAt), this.time(p.now ?? new Date()), p.id, p.lockToken],
    );
    await this.takeKeys(rows);
    if (rows[0] && isFinal(rows[0].status)) await this.notifyFinished();
    return rows.length === 1;
  }

  async jobRelease(p: JobMoveParams): Promise<boolean> {
    const rows = await this.all(
      `update jobs set status = ${statusOrCancelled('pending')}, lock_token = null, locked_until = null, updated = ?,
         ${keepSlotForOrCancelled('pending')}
       where id = ? and lock_token = ? and status = 'processing'
       returning id, status, ${wantsKeyOfNewStatus()}`,
      [this.time(p.now ?? new Date()), p.id, p.lockToken],
    );
    await this.takeKeys(rows);
    if (rows[0] && isFinal(rows[0].status)) await this.notifyFinished();
    return rows.length === 1;
  }

  /**
   * Gives the key to each job of `rows` (`id`, `wants_key`) that moved into its unique states
   * without holding it, unless another job holds it meanwhile (see unique-keys.ts). Rare: only
   * keyed jobs whose states leave out the status they came from.
   */
  protected async takeKeys(rows: readonly Row[]): Promise<void> {
    for (const row of rows) {
      if (!wantsKey(row)) continue;
      try {
        await this.run(TAKE_KEY, [row.id]);
      } catch (err) {
        // Another job took the key between our check and our write: this one does without.
        if (!this.isUniqueViolation(err)) throw err;
      }
    }
  }

  async jobGetExpired(p: JobGetExpiredParams): Promise<ExpiredJob[]> {
    const rows = await this.all(
      `select id, topic, retries, max_retries, lock_token from jobs
       where status = 'processing' and locked_until < ? order by locked_until limit ?`,
      [this.time(p.before), p.limit],
    );
    return rows.map((r) => ({
      id: r.id as string,
      topic: r.topic as string,
      lockToken: r.lock_token as string,
      retries: Number(r.retries),
      maxRetries: Number(r.max_retries),
    }));
  }

  /**
   * Rare (only after a crash or a hang), so it favours clarity: each job with the same
   * compare-and-set its worker would use.
   */
  async jobRescueMany(items: readonly JobRescueItem[]): Promise<string[]> {
    const rescued: string[] = [];
    for (const item of items) {
      const { id, lockToken, error } = item;
      const done =
        item.status === 'pending'
          ? await this.jobRetry({ id, lockToken, error, runAt: item.runAt })
          : await this.jobFail({ id, lockToken, error });
      if (done) rescued.push(id);
    }
    return rescued;
  }

  /**
   * `created < before` lets the walk use jobs_status_created: a job finishes after it is
   * created, so every row old enough is in that range; `updated` then keeps only those that
   * finished before the cutoff. Small batches keep each delete's lock short.
   */
  async jobDeleteFinished(p: JobDeleteFinishedParams): Promise<number> {
    const before = this.time(p.before);
    return this.run(
      `delete from jobs where id in (
         select id from jobs where status = ? and created < ? and updated < ? order by created limit ?
       )`,
      [p.status, before, before, p.limit],
    );
  }

  /**
   * Back to pending, the job takes its key if pending is one of its unique states (it may hold
   * it already); the unique index refuses that while another job holds the key.
   */
  async jobRequeue(id: string): Promise<JobRecord | 'conflict' | { keyHeldBy: string } | null> {
    const now = this.time(new Date());
    let rows: Row[];
    try {
      rows = await this.all(
        `update jobs set status = 'pending', retries = 0, run_at = ?, last_error = null, updated = ?,
           cancel_requested = false, result = null, progress = null,
           unique_slot = case when unique_states & 1 <> 0 then unique_key end
         where id = ? and status in ('failed', 'cancelled') returning ${JOB_COLUMNS}`,
        [now, now, id],
      );
    } catch (err) {
      if (!this.isUniqueViolation(err)) throw err;
      const [holder] = await this.all(`select h.id from jobs j join jobs h on h.unique_slot = j.unique_key where j.id = ?`, [id]);
      // Let go meanwhile: try once more, which either succeeds or names the new holder.
      return holder ? { keyHeldBy: holder.id as string } : this.jobRequeue(id);
    }
    if (rows[0]) return this.toRecord(rows[0]);
    return (await this.jobGet(id)) ? 'conflict' : null;
  }

  async jobDelete(id: string): Promise<'deleted' | 'conflict' | 'not_found'> {
    const changed = await this.run(`delete from jobs where id = ? and status in ('pending', 'failed', 'cancelled')`, [id]);
    if (changed === 1) return 'deleted';
    return (await this.jobGet(id)) ? 'conflict' : 'not_found';
  }

  // ── Running jobs (issue 15) ──

  private allOf(step: SqlStep): Promise<Row[]> {
    return this.all(step.sql, step.params);
  }

  /**
   * The renewals in one statement, the other items read in one more: a cancel check writes
   * nothing, so leaves no dead rows.
   */
  async jobHeartbeatMany(items: readonly JobHeartbeatItem[]): Promise<HeldJob[]> {
    const renew = items.filter((i) => i.lockedUntil !== undefined);
    const check = items.filter((i) => i.lockedUntil === undefined);
    const held: Row[] = [];
    if (renew.length > 0) held.push(...(await this.allOf(this.heartbeatRenewSql(renew))));
    if (check.length > 0) held.push(...(await this.allOf(this.heartbeatCheckSql(check))));
    return held.map((r) => this.toHeld(r));
  }

  /**
   * Pending → cancelled, else processing → marked; each a compare-and-set on the status, so a
   * job that moved between the two (claimed, or finished) is looked at again. A few rounds at
   * most: a job cannot go on changing status faster than this reads it for long.
   */
  async jobCancel(id: string): Promise<{ outcome: 'cancelled' | 'marked' | 'finished'; job: JobRecord } | null> {
    for (let round = 0; round < 5; round++) {
      const now = this.time(new Date());
      const cancelled = await this.all(
        `update jobs set status = 'cancelled', updated = ?, ${keepSlotFor('cancelled')}
         where id = ? and status = 'pending' returning ${JOB_COLUMNS}, ${wantsKeyColumn('cancelled')}`,
        [now, id],
      );
      if (cancelled[0]) {
        await this.takeKeys(cancelled);
        await this.notifyFinished();
        return { outcome: 'cancelled', job: this.toRecord(cancelled[0]) };
      }
      const marked = await this.all(
        `update jobs set cancel_requested = true, updated = ? where id = ? and status = 'processing' returning ${JOB_COLUMNS}`,
        [now, id],
      );
      if (marked[0]) return { outcome: 'marked', job: this.toRecord(marked[0]) };
      const job = await this.jobGet(id);
      if (!job) return null;
      if (job.status !== 'pending' && job.status !== 'processing') return { outcome: 'finished', job };
    }
    throw new Error(`Job "${id}" kept changing status; cancelling it gave up.`);
  }

  async jobGetMany(ids: readonly string[], options: { payloads?: boolean } = {}): Promise<JobRecord[]> {
    if (ids.length === 0) return [];
    const list = this.idList(ids);
    const columns = options.payloads === false ? JOB_COLUMNS_BUT_PAYLOAD : JOB_COLUMNS;
    const rows = await this.all(`select ${columns} from jobs where id in (${list.sql})`, [list.param]);
    return rows.map((r) => this.toRecord(r));
  }

  /**
   * The status is tested here, not in SQL: with `status in (…)` in the query SQLite's planner
   * walked the status index through every completed job (1 ms at 10,000) instead of looking up
   * the few ids. The statuses are read lean, so a job still running is not read with its payload
   * at every change signal; only the final ones are read whole.
   */
  async jobGetFinal(ids: readonly string[]): Promise<JobRecord[]> {
    const isFinal = (j: JobRecord) => FINAL_STATUSES.has(j.status);
    const final = (await this.jobGetMany(ids, { payloads: false })).filter(isFinal);
    // Requeued between the two reads: not final any more.
    return (await this.jobGetMany(final.map((j) => j.id))).filter(isFinal);
  }

  /**
   * Tells those waiting for jobs in other processes that some may have finished (PostgreSQL:
   * a NOTIFY; SQLite: nothing, another connection's commit is the signal). For the statements
   * that finish jobs rarely (failure, retry into cancelled, cancel, rescue); the hot completion
   * notifies in its own statement.
   */
  protected abstract notifyFinished(): Promise<void>;

  // ── Worker tokens (issue 19) ──
  async workerTokenInsert(t: WorkerTokenRecord): Promise<void> {
    await this.run('insert into worker_tokens (id, name, role, topics, token_hash, created) values (?, ?, ?, ?, ?, ?)', [
      t.id,
      t.name,
      t.role,
      t.topics === null ? null : JSON.stringify(t.topics),
      t.tokenHash,
      this.time(t.created),
    ]);
  }

  async workerTokenList(): Promise<WorkerTokenRecord[]> {
    const rows = await this.all('select id, name, role, topics, token_hash, created from worker_tokens');
    return rows.map(toWorkerToken).sort((a, b) => a.created.getTime() - b.created.getTime() || (a.id < b.id ? -1 : 1));
  }

  async workerTokenByHash(tokenHash: string): Promise<WorkerTokenRecord | null> {
    const rows = await this.all('select id, name, role, topics, token_hash, created from worker_tokens where token_hash = ?', [tokenHash]);
    return rows[0] ? toWorkerToken(rows[0]) : null;
  }

  async workerTokenRevoke(idOrName: string): Promise<number> {
    return this.run('delete from worker_tokens where id = ? or name = ?', [idOrName, idOrName]);
  }

  async workerTokenRevokeById(id: string): Promise<boolean> {
    return (await this.run('delete from worker_tokens where id = ?', [id])) > 0;
  }

  async superuserGetById(id: string): Promise<SuperuserRecord | null> {
    const rows = await this.all(`select ${SUPERUSER_COLUMNS} from superusers where id = ?`, [id]);
    return rows[0] ? toSuperuser(rows[0]) : null;
  }

  async superuserGetByEmail(email: string): Promise<SuperuserRecord | null> {
    const rows = await this.all(`select ${SUPERUSER_COLUMNS} from superusers where email = ?`, [email]);
    return rows[0] ? toSuperuser(rows[0]) : null;
  }

  async superuserCount(): Promise<number> {
    const rows = await this.all('select count(*) as n from superusers');
    return Number(rows[0]?.n ?? 0);
  }

  /** Sorted here, by code point: PostgreSQL's `order by` follows the database's locale, SQLite's does not. */
  async superuserList(): Promise<SuperuserRecord[]> {
    const rows = await this.all(`select ${SUPERUSER_COLUMNS} from superusers`);
    return rows.map(toSuperuser).sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
  }

  async superuserInsert(s: SuperuserRecord): Promise<'created' | 'duplicate'> {
    const inserted = await this.run(
      `insert into superusers (id, email, password_hash, token_key, created, updated) values (?, ?, ?, ?, ?, ?)
       on conflict (email) do nothing`,
      [s.id, s.email, s.passwordHash, s.tokenKey, this.time(s.created), this.time(s.updated)],
    );
    return inserted === 1 ? 'created' : 'duplicate';
  }

  async superuserSetPassword(p: SuperuserPasswordParams): Promise<boolean> {
    const changed = await this.run('update superusers set password_hash = ?, token_key = ?, updated = ? where id = ?', [
      p.passwordHash,
      p.tokenKey,
      this.time(new Date()),
      p.id,
    ]);
    return changed === 1;
  }

  async superuserDelete(email: string): Promise<boolean> {
    return (await this.run('delete from superusers where email = ?', [email])) === 1;
  }

  async settingGet(key: string): Promise<string | null> {
    const rows = await this.all('select value from settings where key = ?', [key]);
    return rows[0] ? (rows[0].value as string) : null;
  }

  async settingInsertIfAbsent(key: string, value: string): Promise<string> {
    await this.run('insert into settings (key, value) values (?, ?) on conflict (key) do nothing', [key, value]);
    const stored = await this.settingGet(key);
    if (stored === null) throw new Error(`The setting "${key}" could not be stored.`);
    return stored;
  }

  // ── Schedules (issue 16): the SQL is in schedules.ts; each dialect runs its transactions ──

  /** Runs the statements of `steps` in one transaction on one connection; rolls back if one throws. */
  protected abstract inTransaction<T>(steps: Steps<T>): Promise<T>;
  /** This dialect's insert of a job made by a schedule. */
  protected abstract readonly scheduleJobInsert: ScheduleJobInsert;

  async scheduleInsert(def: ScheduleDefinition & { nextRunAt: Date; paused: boolean }): Promise<'created' | 'duplicate'> {
    const { sql, params } = scheduleInsertSql(def, new Date().toISOString(), (d) => this.time(d));
    return (await this.run(sql, params)) === 1 ? 'created' : 'duplicate';
  }

  async scheduleUpsert(def: ScheduleDefinition & { nextRunAt: Date }): Promise<void> {
    const { sql, params } = scheduleUpsertSql(def, new Date().toISOString(), (d) => this.time(d));
    await this.run(sql, params);
  }

  async scheduleUpdate(def: ScheduleDefinition & { nextRunAt: Date }): Promise<boolean> {
    const { sql, params } = scheduleUpdateSql(def, new Date().toISOString(), (d) => this.time(d));
    return (await this.run(sql, params)) === 1;
  }

  async scheduleGet(name: string): Promise<ScheduleRecord | null> {
    const rows = await this.all(`${SCHEDULE_SELECT} where s.name = ?`, [name]);
    return rows[0] ? toSchedule(rows[0], toDate) : null;
  }

  /** Sorted here, by code point, as superuserList (PostgreSQL's `order by` follows its locale). */
  async scheduleList(): Promise<ScheduleRecord[]> {
    const rows = await this.all(SCHEDULE_SELECT);
    return rows.map((r) => toSchedule(r, toDate)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async scheduleSetPaused(name: string, paused: boolean, nextRunAt: Date): Promise<boolean> {
    const { sql, params } = schedulePauseSql(name, paused, this.time(nextRunAt), new Date().toISOString());
    return (await this.run(sql, params)) === 1;
  }

  async scheduleDelete(name: string): Promise<boolean> {
    return (await this.run('delete from schedules where name = ?', [name])) === 1;
  }

  /**
   * Every engine runs this each second: schedules_due is partial on `paused = false` and ordered
   * by next_run_at, so with nothing due it is one index probe that finds no entry.
   */
  async scheduleGetDue(now: Date, limit: number): Promise<ScheduleRecord[]> {
    const rows = await this.all(`${SCHEDULE_SELECT} where s.paused = false and s.next_run_at <= ? order by s.next_run_at limit ?`, [
      this.time(now),
      limit,
    ]);
    return rows.map((r) => toSchedule(r, toDate));
  }

  scheduleFire(p: ScheduleFireParams): Promise<ScheduleFireOutcome> {
    return this.inTransaction(scheduleFireSteps(this.scheduleJobInsert, (d) => this.time(d), p, new Date(), (r) => this.toRecord(r)));
  }

  scheduleTrigger(name: string, job: JobInsertParams): Promise<JobRecord | null> {
    return this.inTransaction(scheduleTriggerSteps(this.scheduleJobInsert, (d) => this.time(d), name, job, new Date(), (r) => this.toRecord(r)));
  }

  async close(): Promise<void> {
    try {
      await this.closeDialect();
    } finally {
      await this.orm.close(true);
    }
  }

  // ── Operations (issue 18): metrics' counts, bulk actions by filter, the change feed ─────────

  abstract listenForChanges(params: ChangeListenParams): Promise<() => Promise<void>>;

  async jobCountByTopicAndStatus(): Promise<TopicStatusCount[]> {
    const rows = await this.all('select topic, status, sum(n) as n from job_counts group by topic, status having sum(n) <> 0');
    return rows.map((r) => ({ topic: r.topic as string, status: r.status as JobStatus, n: Number(r.n) }));
  }

  /**
   * The claim's own order within the topic, so the walk is the claim index's (pending as a
   * literal for PostgreSQL's partial index); asked only for topics with pending jobs.
   */
  async jobNextDueByTopic(topics: readonly string[], now: Date): Promise<Map<string, Date>> {
    const due = new Map<string, Date>();
    for (const topic of topics) {
      const [row] = await this.all(
        `select run_at from jobs where status = 'pending' and topic = ? and run_at <= ? order by priority, run_at, id limit 1`,
        [topic, this.time(now)],
      );
      if (row) due.set(topic, toDate(row.run_at));
    }
    return due;
  }

  /** The filter as SQL; `status in (…)` with one placeholder per status. */
  private filterSql(f: JobFilter): { sql: string; params: unknown[] } {
    const where = [`status in (${f.statuses.map(() => '?').join(', ')})`];
    const params: unknown[] = [...f.statuses];
    if (f.topic !== undefined) {
      where.push('topic = ?');
      params.push(f.topic);
    }
    if (f.createdBefore !== undefined) {
      where.push('created < ?');
      params.push(this.time(f.createdBefore));
    }
    if (f.createdAfter !== undefined) {
      where.push('created > ?');
      params.push(this.time(f.createdAfter));
    }
    return { sql: where.join(' and '), params };
  }

  /** job_counts answers when only topic and status filter; a time range counts the rows (its index range). */
  async jobCountMatching(f: JobFilter): Promise<number> {
    const { sql, params } = this.filterSql(f);
    const table = f.createdBefore === undefined && f.createdAfter === undefined ? 'job_counts' : 'jobs';
    const rows = await this.all(`select ${table === 'jobs' ? 'count(*)' : 'coalesce(sum(n), 0)'} as n from ${table} where ${sql}`, params);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * The next chunk's ids, walking (created, id) past the cursor: a job left unchanged (its key
   * held) is never looked at twice, and each chunk is its own short statement.
   */
  private async nextChunk(p: JobChunkParams): Promise<{ ids: string[]; cursor: JobCursor | null }> {
    const { sql, params } = this.filterSql(p.filter);
    const after = p.after ? ' and (created > ? or (created = ? and id > ?))' : '';
    const afterParams = p.after ? [this.time(p.after.created), this.time(p.after.created), p.after.id] : [];
    const rows = await this.all(`select id, created from jobs where ${sql}${after} order by created, id limit ?`, [
      ...params,
      ...afterParams,
      p.limit,
    ]);
    const last = rows[rows.length - 1];
    return { ids: rows.map((r) => r.id as string), cursor: last ? { created: toDate(last.created), id: last.id as string } : null };
  }

  /**
   * One statement for the chunk, as jobRequeue's; when a unique key stops it (another job
   * holds it, or two jobs of the chunk share one), job by job, each taking the key or not.
   */
  async jobRequeueChunk(p: JobChunkParams): Promise<JobChunkResult> {
    const statuses = p.filter.statuses.filter((s) => s === 'failed' || s === 'cancelled');
    if (statuses.length === 0) return { changed: 0, cursor: null };
    const { ids, cursor } = await this.nextChunk({ ...p, filter: { ...p.filter, statuses } });
    if (ids.length === 0) return { changed: 0, cursor };
    const now = this.time(new Date());
    const list = this.idList(ids);
    try {
      const changed = await this.run(
        `update jobs set status = 'pending', retries = 0, run_at = ?, last_error = null, updated = ?,
           cancel_requested = false, result = null, progress = null,
           unique_slot = case when unique_states & 1 <> 0 then unique_key end
         where id in (${list.sql}) and status in ('failed', 'cancelled')`,
        [now, now, list.param],
      );
      return { changed, cursor };
    } catch (err) {
      if (!this.isUniqueViolation(err)) throw err;
    }
    let changed = 0;
    for (const id of ids) {
      const result = await this.jobRequeue(id);
      if (result !== null && result !== 'conflict' && !('keyHeldBy' in result)) changed++;
    }
    return { changed, cursor };
  }

  async jobDeleteChunk(p: JobChunkParams): Promise<JobChunkResult> {
    const { ids, cursor } = await this.nextChunk(p);
    if (ids.length === 0) return { changed: 0, cursor };
    const list = this.idList(ids);
    const statuses = p.filter.statuses;
    const changed = await this.run(
      `delete from jobs where id in (${list.sql}) and status in (${statuses.map(() => '?').join(', ')})`,
      [list.param, ...statuses],
    );
    return { changed, cursor };
  }

  // ── Bulk cancel (issue 18 with issue 15) ──

  /**
   * jobCancel's two compare-and-sets for a whole chunk, each one statement: pending → cancelled
   * (the key taken where cancelled is one of the job's states), then processing → marked. A job
   * that moved meanwhile is left to what moved it; one already marked is not counted again.
   */
  async jobCancelChunk(p: JobChunkParams): Promise<JobCancelChunkResult> {
    const statuses = p.filter.statuses.filter((s) => s === 'pending' || s === 'processing');
    if (statuses.length === 0) return { changed: 0, cursor: null, marked: [] };
    const { ids, cursor } = await this.nextChunk({ ...p, filter: { ...p.filter, statuses } });
    if (ids.length === 0) return { changed: 0, cursor, marked: [] };
    const now = this.time(new Date());
    const list = this.idList(ids);
    let changed = 0;
    if (statuses.includes('pending')) {
      const cancelled = await this.all(
        `update jobs set status = 'cancelled', updated = ?, ${keepSlotFor('cancelled')}
         where id in (${list.sql}) and status = 'pending' returning id, ${wantsKeyColumn('cancelled')}`,
        [now, list.param],
      );
      await this.takeKeys(cancelled);
      if (cancelled.length > 0) await this.notifyFinished();
      changed += cancelled.length;
    }
    let marked: string[] = [];
    if (statuses.includes('processing')) {
      const rows = await this.all(
        `update jobs set cancel_requested = true, updated = ?
         where id in (${list.sql}) and status = 'processing' and not cancel_requested returning id`,
        [now, list.param],
      );
      marked = rows.map((r) => r.id as string);
      changed += marked.length;
    }
    return { changed, cursor, marked };
  }

  // --- Topic control (issue 17): settings both dialects read and write alike ---

  abstract jobClaimControlled(params: JobClaimControlledParams): Promise<ControlledClaim>;

  async topicSettingsList(): Promise<TopicSettingsRecord[]> {
    const rows = await this.all(`select ${TOPIC_COLUMNS} from topics`);
    return rows.map(toTopicSettings).sort((a, b) => byCodePoint(a.topic, b.topic));
  }

  /**
   * Two statements, each idempotent: the row made with no settings if missing, then the fields
   * the patch names set (column names from this fixed list, values as parameters).
   */
  async topicSettingsUpdate(topic: string, patch: TopicSettingsPatch): Promise<TopicSettingsRecord> {
    const now = this.time(new Date());
    await this.run('insert into topics (topic, updated) values (?, ?) on conflict (topic) do nothing', [topic, now]);
    const set: string[] = ['updated = ?'];
    const params: unknown[] = [now];
    if (patch.paused !== undefined) {
      // `(? = 1)`: a boolean on PostgreSQL, 0 or 1 on SQLite, from one number bound on both.
      set.push('paused = (? = 1)');
      params.push(patch.paused ? 1 : 0);
    }
    if (patch.maxRunning !== undefined) {
      set.push('max_running = ?');
      params.push(patch.maxRunning);
    }
    if (patch.rateLimit !== undefined) {
      set.push('rate_max = ?', 'rate_per_ms = ?');
      params.push(patch.rateLimit?.max ?? null, patch.rateLimit?.perMs ?? null);
    }
    const rows = await this.all(`update topics set ${set.join(', ')} where topic = ? returning ${TOPIC_COLUMNS}`, [...params, topic]);
    return toTopicSettings(rows[0]!);
  }

  async topicRecordRegistered(topics: readonly string[]): Promise<void> {
    const now = this.time(new Date());
    for (const topic of topics) {
      await this.run(
        `insert into topics (topic, registered_at, updated) values (?, ?, ?)
         on conflict (topic) do update set registered_at = excluded.registered_at`,
        [topic, now, now],
      );
    }
  }

  /**
   * Counts from job_counts (a handful of rows per topic); the longest wait reads the due
   * pending jobs, grouped by topic. An admin page's query, not a hot one: with a large backlog
   * it reads every due job's run_at once per call.
   */
  async topicOverview(topic?: string): Promise<TopicOverviewRecord[]> {
    const only = topic === undefined ? '' : 'topic = ?';
    const params = topic === undefined ? [] : [topic];
    const counted = await this.all(
      `select topic, status, coalesce(sum(n), 0) as n from job_counts ${only && `where ${only}`} group by topic, status`,
      params,
    );
    const due = await this.all(
      `select topic, min(run_at) as oldest from jobs where status = 'pending' and run_at <= ? ${only && `and ${only}`} group by topic`,
      [this.time(new Date()), ...params],
    );
    const settings = await this.all(`select ${TOPIC_COLUMNS} from topics ${only && `where ${only}`}`, params);
    const byTopic = new Map<string, TopicOverviewRecord>();
    const entry = (name: string) => {
      let record = byTopic.get(name);
      if (!record) {
        record = { topic: name, counts: Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as StatusCounts, oldestDueAt: null, settings: null };
        byTopic.set(name, record);
      }
      return record;
    };
    for (const row of counted) {
      const n = Number(row.n);
      if (n === 0 || !(JOB_STATUSES as readonly string[]).includes(row.status as string)) continue;
      entry(row.topic as string).counts[row.status as JobStatus] = n;
    }
    for (const row of due) entry(row.topic as string).oldestDueAt = toDate(row.oldest);
    for (const row of settings) entry(row.topic as string).settings = toTopicSettings(row);
    return [...byTopic.values()].sort((a, b) => byCodePoint(a.topic, b.topic));
  }
}

/** The columns of `topics` every read returns; keep `toTopicSettings` in step with it. */
export const TOPIC_COLUMNS = 'topic, paused, max_running, rate_max, rate_per_ms, registered_at, updated';

export function toTopicSettings(row: Row): TopicSettingsRecord {
  return {
    topic: row.topic as string,
    paused: row.paused === true || Number(row.paused) === 1,
    maxRunning: row.max_running === null || row.max_running === undefined ? null : Number(row.max_running),
    rateLimit: row.rate_max === null || row.rate_max === undefined ? null : { max: Number(row.rate_max), perMs: Number(row.rate_per_ms) },
    registeredAt: row.registered_at === null || row.registered_at === undefined ? null : toDate(row.registered_at),
    updated: toDate(row.updated),
  };
}

/** PostgreSQL's `order by` follows the database's locale, SQLite's does not: sorted here. */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isFinal(status: unknown): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** The claim's order: priority, then run_at, then id (uuid text order is byte order). */
export function claimOrder(a: JobRecord, b: JobRecord): number {
  return a.priority - b.priority || a.runAt.getTime() - b.runAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * When the lock of each topic's jobs claimed at `now` runs out, by topic, as ISO text: the
 * topic's own lock duration, or the claim's.
 */
export function lockedUntilByTopic(p: JobClaimParams, now: Date): Record<string, string> {
  return Object.fromEntries(
    p.topics.map((topic) => [topic, new Date(now.getTime() + (p.lockDurationByTopic?.get(topic) ?? p.lockDuration)).toISOString()]),
  );
}

const SUPERUSER_COLUMNS = 'id, email, password_hash, token_key, created, updated';

function toSuperuser(row: Row): SuperuserRecord {
  return {
    id: row.id as string,
    email: row.email as string,
    passwordHash: row.password_hash as string,
    tokenKey: row.token_key as string,
    created: toDate(row.created),
    updated: toDate(row.updated),
  };
}

function toWorkerToken(row: Row): WorkerTokenRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    role: 'worker',
    topics: row.topics === null || row.topics === undefined ? null : (JSON.parse(String(row.topics)) as string[]),
    tokenHash: String(row.token_hash),
    created: toDate(row.created),
  };
}

/** An outage as the engine's error (HTTP 503); the driver's error stays as the cause. */
export function unavailable(err: unknown): JobsError {
  if (err instanceof JobsError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new JobsError('unavailable', `The database is unavailable: ${reason}`, {}, { cause: err });
}

/**
 * PostgreSQL's timestamptz text (`0099-12-31 00:00:00.5+00`) or ISO text (SQLite) to a Date.
 * `new Date()` guesses at the former: it reads year 0099 as 1999 and 0017 as Invalid Date, so
 * the fields are taken apart here and the year set exactly.
 */
const PG_TIME = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([+-])(\d{2})(?::?(\d{2}))?)?$/;

export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  const text = String(value);
  const m = PG_TIME.exec(text);
  if (!m) return new Date(text);
  const [, y, mo, d, h, mi, sec, frac, sign, oh, om] = m;
  const date = new Date(Date.UTC(2000, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec)));
  date.setUTCFullYear(Number(y));
  const ms = frac ? Math.round(Number(frac) * 1000) : 0;
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om ?? 0)) : 0;
  return new Date(date.getTime() + ms - offset * 60_000);
}

const FINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);
