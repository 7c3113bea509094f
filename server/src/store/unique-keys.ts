import { JOB_STATUSES, type JobStatus } from '@jobbase/contract';
import type { BatchConflict, JobInsertOutcome, JobInsertParams, JobRecord } from './types.js';

/**
 * Unique keys, enforced by the database (issue 14). Each job with a key stores it twice:
 * `unique_key`, for ever, and `unique_slot`, which holds the key only while the job is in one of
 * its unique states and is NULL otherwise. A unique index on `unique_slot` (partial, `where
 * unique_slot is not null`, on both dialects) lets one job at a time hold a key, so no
 * read-then-insert race can make a second one: an insert that would take a held slot does
 * nothing (`on conflict do nothing`), whichever process, transaction or statement it comes from.
 *
 * The states are a bitmask (`unique_states`, one bit per status below), so every statement that
 * changes a status keeps the slot right in the same statement with one CASE on a literal bit:
 * `unique_slot = case when unique_states & <bit of the new status> <> 0 then unique_slot end`.
 * That keeps a slot while the job stays in its states and empties it when the job leaves them;
 * it never fills one, so the hot statements (claim, completion, retry, failure, release,
 * rescue) can never fail on the unique index, and a job without a key (states NULL) costs one
 * CASE that yields NULL. Measured on keyless jobs, a claim and a completion of 10 with and
 * without the slot, alternated on one connection (so a busy machine slows both alike): 4 runs
 * each, PostgreSQL −2.5 to +3.2% (about +1.5%), SQLite −2.0 to +2.9% (about 0). The partial
 * indexes take no entry for a NULL slot, so the statements write nothing more.
 *
 * A job may also move INTO its states: claimed with `["processing"]`, completed with
 * `["completed"]`, retried with `["pending"]` after a new job took the key while it ran. The
 * engine must not drop or block work to keep a key, so the transition happens whatever, and the
 * statement returns which jobs are now in their states without holding their key; the store
 * then tries to give each its key (TAKE_KEY, one job per statement, rare) and leaves it without
 * one when another job holds it. Such a job runs as usual; only new jobs are ever refused.
 * An admin's requeue is different: it is a request, so one that would make a failed job take a
 * key another job holds is refused with that job's id (a conflict), and nothing changes.
 */
export const STATUS_BITS: Record<JobStatus, number> = { pending: 1, processing: 2, completed: 4, failed: 8, cancelled: 16 };

export function statesToBits(states: readonly JobStatus[]): number {
  return states.reduce((bits, s) => bits | STATUS_BITS[s], 0);
}

export function bitsToStates(bits: number): JobStatus[] {
  return JOB_STATUSES.filter((s) => (bits & STATUS_BITS[s]) !== 0);
}

/** SQL: the bit of the row's own status. */
const STATUS_BIT_OF_ROW = statusBitOfRow();

function statusBitOfRow(alias = ''): string {
  return `(case ${alias}status when 'pending' then 1 when 'processing' then 2 when 'completed' then 4 when 'failed' then 8 when 'cancelled' then 16 else 0 end)`;
}

/** SQL (one `?`, the job's id): gives a job in its unique states its key, unless another job holds it. */
export const TAKE_KEY = `update jobs set unique_slot = unique_key
  where id = ? and unique_slot is null and unique_key is not null and unique_states & ${STATUS_BIT_OF_ROW} <> 0
    and not exists (select 1 from jobs h where h.unique_slot = jobs.unique_key)`;

/** SQL: the SET clause that keeps a slot while the new status is one of the job's states. */
export function keepSlotFor(status: JobStatus, alias = ''): string {
  return `unique_slot = case when ${alias}unique_states & ${STATUS_BITS[status]} <> 0 then ${alias}unique_slot end`;
}

/** SQL: a returned column, true (1) for a job now in its unique states without its key. */
export function wantsKeyColumn(status: JobStatus, alias = ''): string {
  return `(${alias}unique_slot is null and ${alias}unique_states & ${STATUS_BITS[status]} <> 0) as wants_key`;
}

/**
 * The statements that end an attempt (issue 15): a job marked for cancellation goes to
 * `cancelled` instead of `status`, whatever its handler did. SQL: the new status, and the SET
 * clause keeping the slot for whichever of the two it is (the old `cancel_requested` is read).
 */
export function statusOrCancelled(status: JobStatus, alias = ''): string {
  return `case when ${alias}cancel_requested then 'cancelled' else '${status}' end`;
}

export function keepSlotForOrCancelled(status: JobStatus, alias = ''): string {
  const bit = `(case when ${alias}cancel_requested then ${STATUS_BITS.cancelled} else ${STATUS_BITS[status]} end)`;
  return `unique_slot = case when ${alias}unique_states & ${bit} <> 0 then ${alias}unique_slot end`;
}

/** SQL: `wantsKeyColumn` for a RETURNING clause, from the row's new status whatever it is. */
export function wantsKeyOfNewStatus(alias = ''): string {
  return `(${alias}unique_slot is null and ${alias}unique_states & ${statusBitOfRow(alias)} <> 0) as wants_key`;
}

/**
 * `wantsKeyColumn` worked out from a whole row (its `unique_slot` and `unique_states`), for a
 * statement that cannot add the column: the PostgreSQL claim function returns `jobs` rows.
 */
export function wantsKeyOfRow(row: Record<string, unknown>, status: JobStatus): boolean {
  return row.unique_slot === null && row.unique_states !== null && (Number(row.unique_states) & STATUS_BITS[status]) !== 0;
}

/** A returned row's `wants_key`, as PostgreSQL (boolean) or SQLite (0/1/NULL) gives it. */
export function wantsKey(row: Record<string, unknown>): boolean {
  return row.wants_key === true || Number(row.wants_key) === 1;
}

/** One statement of an insert, run by the dialect on whatever connection or transaction it holds. */
export interface SqlStep {
  sql: string;
  params: unknown[];
}

/** The statements of a unique insert, in each dialect's SQL (params in the order shown). */
export interface UniqueInsertSql {
  /** Inserts the job unless its slot, or any slot with its key, is taken; returns it or nothing. */
  insert(p: JobInsertParams, now: Date): SqlStep;
  /** Replaces the holder of `key` if it is pending; returns it or nothing. */
  replace(p: JobInsertParams, key: string, now: Date): SqlStep;
  /** The holder of `key`, if any. */
  holder(key: string): SqlStep;
}

type Row = Record<string, unknown>;
type Steps<T> = Generator<SqlStep, T, Row[]>;

/** A holder can let go of its key between two statements; each round sees it gone or held. */
const MAX_ROUNDS = 20;

/**
 * The rules of one unique insert, as the statements to run: written once, run synchronously
 * inside a SQLite transaction or awaited on a PostgreSQL connection (`runSteps*`).
 */
export function* uniqueInsertSteps(sql: UniqueInsertSql, p: JobInsertParams, now: Date, toRecord: (row: Row) => JobRecord): Steps<JobInsertOutcome> {
  const unique = p.unique;
  if (!unique) {
    const [row] = yield sql.insert(p, now);
    return { outcome: 'created', job: toRecord(row!) };
  }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const [created] = yield sql.insert(p, now);
    if (created) return { outcome: 'created', job: toRecord(created) };
    if (unique.onConflict === 'replace') {
      const [replaced] = yield sql.replace(p, unique.key, now);
      if (replaced) return { outcome: 'replaced', job: toRecord(replaced) };
    }
    const [holder] = yield sql.holder(unique.key);
    if (holder) return { outcome: unique.onConflict === 'existing' ? 'existing' : 'conflict', job: toRecord(holder) };
  }
  throw new Error(`The unique key "${unique.key}" kept changing hands; the insert gave up after ${MAX_ROUNDS} rounds.`);
}

/**
 * A batch: each job in turn, keyed jobs sorted by key (a stable sort, so a key repeated in the
 * batch is met in the order given): two batches sharing keys then take them in the same order
 * and cannot deadlock on PostgreSQL. Stops at the first conflict (the caller rolls back). A job
 * that a later one in the batch replaced is answered as it finally stands.
 */
export function* uniqueInsertManySteps(
  sql: UniqueInsertSql,
  items: readonly JobInsertParams[],
  now: Date,
  toRecord: (row: Row) => JobRecord,
): Steps<JobInsertOutcome[] | BatchConflict> {
  const order = items.map((_, i) => i);
  order.sort((a, b) => compareKeys(items[a]!.unique?.key, items[b]!.unique?.key) || a - b);
  const outcomes: JobInsertOutcome[] = new Array(items.length);
  for (const i of order) {
    const outcome = yield* uniqueInsertSteps(sql, items[i]!, now, toRecord);
    outcomes[i] = outcome;
    if (outcome.outcome === 'conflict') return { conflictIndex: i, holder: outcome.job };
  }
  const latest = new Map<string, JobRecord>();
  for (const i of order) latest.set(outcomes[i]!.job.id, outcomes[i]!.job);
  return outcomes.map((o) => ({ ...o, job: latest.get(o.job.id)! }));
}

/** Jobs without a key first, then by key in code-point order. */
function compareKeys(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return a < b ? -1 : 1;
}

export function runStepsSync<T>(steps: Steps<T>, exec: (step: SqlStep) => Row[]): T {
  let next = steps.next();
  while (!next.done) next = steps.next(exec(next.value));
  return next.value;
}

export async function runSteps<T>(steps: Steps<T>, exec: (step: SqlStep) => Promise<Row[]>): Promise<T> {
  let next = steps.next();
  while (!next.done) next = steps.next(await exec(next.value));
  return next.value;
}
