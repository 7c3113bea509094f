import type { JobStatus } from '@jobbase/contract';
import type { SqlStep } from './unique-keys.js';
import type {
  JobInsertParams,
  JobRecord,
  MisfirePolicy,
  ScheduleDefinition,
  ScheduleFireOutcome,
  ScheduleFireParams,
  ScheduleRecord,
} from './types.js';

/**
 * Recurring schedules (issue 16), as SQL both dialects write alike (`?` placeholders, times as
 * ISO text, the schedule's payload kept as JSON text on both: it is only ever copied into a job).
 *
 * Exactly one job per tick comes from a compare-and-set on `next_run_at` in the same transaction
 * as the job's insert (`scheduleFireSteps`): the transaction that moves a schedule's next_run_at
 * from the tick it read makes that tick's jobs; any other process that read the same tick finds
 * next_run_at moved and writes nothing. A tick once passed is never fired again, whatever
 * happens to its jobs later (retention deleting them included), which a unique key per tick
 * could not promise: once its job is deleted the key is free again. See docs/architecture.md.
 */

type Row = Record<string, unknown>;
export type Steps<T> = Generator<SqlStep, T, Row[]>;

/** A dialect's insert of one job made by a schedule (PostgreSQL's also notifies its topic). */
export type ScheduleJobInsert = (p: JobInsertParams, schedule: { name: string; tick: Date | null }, now: Date) => SqlStep;

export const SCHEDULE_SELECT = `select s.name, s.cron, s.timezone, s.topic, s.payload, s.max_retries, s.priority, s.misfire,
    s.backfill_max, s.overlap, s.paused, s.next_run_at, s.last_run_at, s.last_job_id, j.status as last_job_status,
    s.skipped_ticks, s.last_skipped_at, s.created, s.updated
  from schedules s left join jobs j on j.id = s.last_job_id`;

const DEFINITION_COLUMNS = 'name, cron, timezone, topic, payload, max_retries, priority, misfire, backfill_max, overlap';

/** The definition's values in DEFINITION_COLUMNS order. */
function definitionParams(d: ScheduleDefinition): unknown[] {
  const backfill = typeof d.misfire === 'object' ? d.misfire.backfill.max : null;
  const misfire = typeof d.misfire === 'object' ? 'backfill' : d.misfire;
  return [d.name, d.cron, d.timezone, d.topic, d.payloadJson, d.maxRetries, d.priority, misfire, backfill, d.overlap];
}

export function scheduleInsertSql(d: ScheduleDefinition & { nextRunAt: Date; paused: boolean }, now: string, time: (d: Date) => unknown): SqlStep {
  return {
    sql: `insert into schedules (${DEFINITION_COLUMNS}, paused, next_run_at, skipped_ticks, created, updated)
          values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${d.paused ? 'true' : 'false'}, ?, 0, ?, ?)
          on conflict (name) do nothing`,
    params: [...definitionParams(d), time(d.nextRunAt), now, now],
  };
}

/**
 * Insert or update in one statement, so processes upserting the same schedule together cannot
 * race between a read and a write. The SET expressions read the row as it was, so next_run_at
 * stays unless the cron or the time zone changed.
 */
export function scheduleUpsertSql(d: ScheduleDefinition & { nextRunAt: Date }, now: string, time: (d: Date) => unknown): SqlStep {
  return {
    sql: `insert into schedules (${DEFINITION_COLUMNS}, paused, next_run_at, skipped_ticks, created, updated)
          values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?, 0, ?, ?)
          on conflict (name) do update set cron = excluded.cron, timezone = excluded.timezone, topic = excluded.topic,
            payload = excluded.payload, max_retries = excluded.max_retries, priority = excluded.priority,
            misfire = excluded.misfire, backfill_max = excluded.backfill_max, overlap = excluded.overlap,
            next_run_at = case when schedules.cron = excluded.cron and schedules.timezone = excluded.timezone
              then schedules.next_run_at else excluded.next_run_at end,
            updated = excluded.updated`,
    params: [...definitionParams(d), time(d.nextRunAt), now, now],
  };
}

export function scheduleUpdateSql(d: ScheduleDefinition & { nextRunAt: Date }, now: string, time: (d: Date) => unknown): SqlStep {
  const [name, ...rest] = definitionParams(d);
  return {
    sql: `update schedules set cron = ?, timezone = ?, topic = ?, payload = ?, max_retries = ?, priority = ?, misfire = ?,
            backfill_max = ?, overlap = ?, next_run_at = ?, updated = ? where name = ?`,
    params: [...rest, time(d.nextRunAt), now, name],
  };
}

/** Pausing keeps next_run_at; resuming a paused schedule sets it to the next tick from now. */
export function schedulePauseSql(name: string, paused: boolean, nextRunAt: unknown, now: string): SqlStep {
  return paused
    ? { sql: 'update schedules set paused = true, updated = ? where name = ?', params: [now, name] }
    : {
        sql: `update schedules set next_run_at = case when paused = true then ? else next_run_at end, paused = false, updated = ?
              where name = ?`,
        params: [nextRunAt, now, name],
      };
}

const ACTIVE: readonly string[] = ['pending', 'processing'] satisfies JobStatus[];

/**
 * One firing (see the file's comment). The compare-and-set comes first: on PostgreSQL it locks
 * the schedule's row, so a second process firing the same tick waits for this transaction and
 * then finds next_run_at moved (READ COMMITTED re-reads the row); on SQLite the transaction
 * holds the write lock from its start.
 */
export function* scheduleFireSteps(
  insertJob: ScheduleJobInsert,
  time: (d: Date) => unknown,
  p: ScheduleFireParams,
  now: Date,
  toRecord: (row: Row) => JobRecord,
): Steps<ScheduleFireOutcome> {
  const [moved] = yield {
    sql: `update schedules set next_run_at = ?, updated = ? where name = ? and next_run_at = ? and paused = false
          returning last_job_id`,
    params: [time(p.nextRunAt), time(now), p.name, time(p.expectedNextRunAt)],
  };
  if (!moved) return { outcome: 'lost' };
  if (p.jobs.length === 0) return { outcome: 'fired', jobs: [] };
  const lastTick = p.jobs[p.jobs.length - 1]!.schedule.tick;
  if (p.overlap === 'skip' && moved.last_job_id) {
    const [last] = yield { sql: 'select status from jobs where id = ?', params: [moved.last_job_id] };
    if (last && ACTIVE.includes(last.status as string)) {
      yield {
        sql: 'update schedules set skipped_ticks = skipped_ticks + ?, last_skipped_at = ? where name = ?',
        params: [p.jobs.length, time(lastTick), p.name],
      };
      return { outcome: 'overlap' };
    }
  }
  const jobs: JobRecord[] = [];
  for (const job of p.jobs) {
    const [row] = yield insertJob(job, job.schedule, now);
    jobs.push(toRecord(row!));
  }
  yield {
    sql: 'update schedules set last_run_at = ?, last_job_id = ? where name = ?',
    params: [time(lastTick), jobs[jobs.length - 1]!.id, p.name],
  };
  return { outcome: 'fired', jobs };
}

/** A trigger: one job now, recorded as the schedule's last job but not as a tick. */
export function* scheduleTriggerSteps(
  insertJob: ScheduleJobInsert,
  time: (d: Date) => unknown,
  name: string,
  job: JobInsertParams,
  now: Date,
  toRecord: (row: Row) => JobRecord,
): Steps<JobRecord | null> {
  const [found] = yield {
    sql: 'update schedules set last_job_id = ?, updated = ? where name = ? returning name',
    params: [job.id, time(now), name],
  };
  if (!found) return null;
  const [row] = yield insertJob(job, { name, tick: null }, now);
  return toRecord(row!);
}

export function toSchedule(row: Row, toDate: (v: unknown) => Date): ScheduleRecord {
  const misfire: MisfirePolicy =
    row.misfire === 'backfill' ? { backfill: { max: Number(row.backfill_max) } } : (row.misfire as 'skip' | 'run_once');
  const orNull = (v: unknown) => (v === null || v === undefined ? null : v);
  return {
    name: row.name as string,
    cron: row.cron as string,
    timezone: row.timezone as string,
    topic: row.topic as string,
    payload: JSON.parse(row.payload as string),
    maxRetries: orNull(row.max_retries) === null ? null : Number(row.max_retries),
    priority: orNull(row.priority) === null ? null : Number(row.priority),
    misfire,
    overlap: row.overlap as 'allow' | 'skip',
    paused: row.paused === true || Number(row.paused) === 1,
    nextRunAt: toDate(row.next_run_at),
    lastRunAt: orNull(row.last_run_at) === null ? null : toDate(row.last_run_at),
    lastJobId: (orNull(row.last_job_id) as string | null) ?? null,
    lastJobStatus: (orNull(row.last_job_status) as JobStatus | null) ?? null,
    skippedTicks: Number(row.skipped_ticks),
    lastSkippedAt: orNull(row.last_skipped_at) === null ? null : toDate(row.last_skipped_at),
    created: toDate(row.created),
    updated: toDate(row.updated),
  };
}
