import type { JobStatus, ListSort } from '@jobbase/contract';

/** A job as the engine sees it (camelCase; the wire uses snake_case). */
export interface JobRecord {
  id: string;
  topic: string;
  /** As enqueued; undefined only in a list page read without payloads. */
  payload: unknown;
  status: JobStatus;
  runAt: Date;
  retries: number;
  maxRetries: number;
  lastError: string | null;
  /** Null when the job was enqueued without a unique key. */
  uniqueKey: string | null;
  /** The statuses in which the job holds its key (in JOB_STATUSES order); null without a key. */
  uniqueStates: JobStatus[] | null;
  /** Lower runs first among due jobs. */
  priority: number;
  /** Times a handler put the job back for later (`job.snooze`). */
  snoozes: number;
  /** A processing job asked to stop: it becomes `cancelled` when its attempt ends. */
  cancelRequested: boolean;
  /** What the handler returned (JSON), null when nothing; undefined in a list page read without payloads. */
  result: unknown;
  /** What the handler last reported (`job.progress`), null when nothing; undefined as `result`. */
  progress: unknown;
  /** The schedule that made the job (issue 16), or null. */
  scheduleName: string | null;
  /** The schedule's tick the job is for; null for a job not made by a schedule, or made by a trigger. */
  scheduleTick: Date | null;
  created: Date;
  updated: Date;
  /**
   * The W3C trace context (`traceparent`, and `tracestate` after a space when there is one) of
   * the span that was active at enqueue, or null: the handler's span links to it.
   */
  traceContext?: string | null;
}

/** A job this worker holds: only the holder of `lockToken` may finish it. */
export interface ClaimedJob extends JobRecord {
  lockToken: string;
  lockedUntil: Date;
}

export interface JobInsertParams {
  id: string;
  topic: string;
  /** The payload's JSON text, already validated and measured. */
  payloadJson: string;
  runAt: Date;
  maxRetries: number;
  priority: number;
  /** See `JobRecord.traceContext`. */
  traceContext?: string | null;
  /** Only `jobInsertUnique` and `jobInsertManyUnique` take it. */
  unique?: UniqueInsert;
  /** Only the schedule methods take it: the schedule that makes the job, and its tick (null: a trigger). */
  schedule?: { name: string; tick: Date | null };
}

/** What to do when another job holds the key: see `JobInsertOutcome`. */
export type UniqueConflictMode = 'existing' | 'replace' | 'error';

export interface UniqueInsert {
  key: string;
  /** Non-empty: the statuses in which the job holds its key. */
  states: readonly JobStatus[];
  onConflict: UniqueConflictMode;
}

/**
 * What an insert with a unique key did. `created`: the job is new. `existing`: another job held
 * the key and nothing was written; `job` is that job. `replaced`: the holder was pending and
 * took the insert's topic, payload, run_at, max_retries and priority; `job` is it as stored now.
 * `conflict` (mode `error`, or `replace` with a holder that is not pending): nothing was written
 * (in a batch, nothing at all); `job` is the holder.
 */
export interface JobInsertOutcome {
  outcome: 'created' | 'existing' | 'replaced' | 'conflict';
  job: JobRecord;
}

/** A batch refused because its job at `conflictIndex` met a conflict; nothing was written. */
export interface BatchConflict {
  conflictIndex: number;
  /** The job holding that job's key. */
  holder: JobRecord;
}

export interface JobListParams {
  topic?: string;
  status?: JobStatus;
  /** Only the jobs enqueued with this unique key, holding it or not. */
  uniqueKey?: string;
  priority?: number;
  /** `-created` (default): newest first. `priority`: the claim's order (priority, run_at, id ascending). */
  sort?: ListSort;
  limit: number;
  offset: number;
  /** `false`: the payloads are not read, and each item's `payload` is undefined. Default true. */
  payloads?: boolean;
  /**
   * Bytes of JSON text the page's payloads may take together. The store measures them in the
   * database first; past the budget it reads no payload and answers `overBudget`. None: no limit.
   */
  payloadBudget?: number;
}

export interface JobListResult {
  items: JobRecord[];
  /** The jobs matching the filters, on every page. */
  total: number;
  /** The page's payloads take more than `payloadBudget`: `items` is empty, nothing was read. */
  overBudget?: true;
}

export interface JobClaimParams {
  topics: readonly string[];
  limit: number;
  /** How long each claimed job is locked, ms. */
  lockDuration: number;
  /** A topic's own lock, ms, where it differs from `lockDuration` (per-topic defaults of `register`). */
  lockDurationByTopic?: ReadonlyMap<string, number>;
}

export interface JobFinishParams {
  id: string;
  lockToken: string;
}

/** A completion: the handler's return value as JSON text, when it returned one. */
export interface JobCompleteItem extends JobFinishParams {
  resultJson?: string;
}

/** A job a completing statement ended: `cancelled` when it had been marked for cancellation. */
export interface JobCompleted {
  id: string;
  status: 'completed' | 'cancelled';
}

export interface JobCompleteOptions {
  /**
   * Complete nothing unless every item's job is of one of these topics (a worker token's): the
   * check is part of the statement, so a batch naming another topic's job writes nothing.
   */
  topics?: readonly string[];
}

/**
 * A write that moves a held job on. `now` is written as its `updated` time (default: the
 * store's clock), so the engine can report the job exactly as stored without reading it back.
 */
export interface JobMoveParams extends JobFinishParams {
  now?: Date;
}

export interface JobRetryParams extends JobMoveParams {
  runAt: Date;
  error: string;
}

export interface JobFailParams extends JobMoveParams {
  error: string;
}

export interface JobSnoozeParams extends JobMoveParams {
  runAt: Date;
}

export interface JobGetExpiredParams {
  /** Locks that ran out before this instant. */
  before: Date;
  limit: number;
}

/** A processing job whose lock expired, with what the engine needs to decide its fate. */
export interface ExpiredJob {
  id: string;
  topic: string;
  lockToken: string;
  retries: number;
  maxRetries: number;
}

/**
 * What the engine decided for a job whose attempt failed: back to pending (one more retry
 * counted, due at `runAt`) or failed for good. The store applies it; it holds no policy.
 */
export type FailedAttemptState = { status: 'pending'; runAt: Date } | { status: 'failed' };

export type JobRescueItem = JobFinishParams & { error: string } & FailedAttemptState;

export interface JobDeleteFinishedParams {
  status: 'completed' | 'failed' | 'cancelled';
  before: Date;
  limit: number;
}

export type StatusCounts = Record<JobStatus, number>;

/**
 * Persistence, one method per query (River's driver shape). Each dialect owns its SQL under
 * these same names; the engine never asks which dialect it runs on.
 */
export interface JobStore {
  jobInsert(params: JobInsertParams): Promise<JobRecord>;
  /** Inserts all or none, in one transaction; returns the jobs in the order given. */
  jobInsertMany(params: readonly JobInsertParams[]): Promise<JobRecord[]>;
  /**
   * Inserts the job unless another job holds its key (see JobInsertOutcome). The database's
   * unique index decides, so concurrent inserts of one key from any number of processes create
   * one job.
   */
  jobInsertUnique(params: JobInsertParams & { unique: UniqueInsert }): Promise<JobInsertOutcome>;
  /**
   * A batch whose jobs may have unique keys, in one transaction, each job as `jobInsertUnique`
   * would insert it after the ones before it (a key repeated in the batch meets the job made
   * for it earlier in the batch). Outcomes in the order given, none a `conflict`: at the first
   * conflict the transaction is rolled back, nothing is written, and the answer says which job.
   */
  jobInsertManyUnique(params: readonly JobInsertParams[]): Promise<JobInsertOutcome[] | BatchConflict>;
  jobGet(id: string): Promise<JobRecord | null>;
  /**
   * Those of the jobs `ids` that exist, in any order, in one query; `payloads: false` reads no
   * payload, result or progress (undefined in the records), as a list page without payloads.
   */
  jobGetMany(ids: readonly string[], options?: { payloads?: boolean }): Promise<JobRecord[]>;
  jobList(params: JobListParams): Promise<JobListResult>;
  jobCountByStatus(): Promise<StatusCounts>;

  /**
   * Locks up to `limit` due, pending jobs of `topics`: the lowest priority first, then the
   * oldest `run_at`, then the lowest id. Jobs not yet due never hold back due ones, whatever
   * their priority. Answers them in that order.
   */
  jobClaim(params: JobClaimParams): Promise<ClaimedJob[]>;
  /**
   * Completes many jobs in one statement, compare-and-set on each lock token, storing each
   * one's `resultJson`; returns the jobs that were still held, each with the status it got (the
   * others lost their lock and are left alone). `now` as in `JobMoveParams`, one for the whole
   * statement. This and every other statement that ends an attempt (retry, fail, snooze,
   * release, rescue) makes a job marked `cancelRequested` `cancelled` instead, storing no result
   * and counting no retry.
   */
  jobCompleteMany(items: readonly JobCompleteItem[], now?: Date, options?: JobCompleteOptions): Promise<JobCompleted[]>;
  /** Back to pending with one more retry counted, due at `runAt`. CAS on the lock token. */
  jobRetry(params: JobRetryParams): Promise<boolean>;
  /** To failed for good. CAS on the lock token. */
  jobFail(params: JobFailParams): Promise<boolean>;
  /**
   * Back to pending, due at `runAt`, with one more snooze counted; `retries` and `last_error`
   * stay as they are. CAS on the lock token.
   */
  jobSnooze(params: JobSnoozeParams): Promise<boolean>;
  /** Back to pending without counting an attempt (shutdown gave up waiting). CAS. */
  jobRelease(params: JobMoveParams): Promise<boolean>;
  /** Processing jobs whose lock expired before `before`, soonest-expired first. */
  jobGetExpired(params: JobGetExpiredParams): Promise<ExpiredJob[]>;
  /**
   * Applies the engine's decisions to rescued jobs, each compare-and-set on its lock token (a
   * rescuer racing the job's own worker, or another rescuer, changes it at most once); returns
   * the ids it changed.
   */
  jobRescueMany(items: readonly JobRescueItem[]): Promise<string[]>;

  /** Deletes up to `limit` jobs in `status` last updated before `before`; returns how many. */
  jobDeleteFinished(params: JobDeleteFinishedParams): Promise<number>;

  /**
   * failed or cancelled → pending with retries 0, due now, no result, progress or cancel mark;
   * null when the job does not exist, `conflict` when it is neither, `keyHeldBy` when going back to pending would make it take its unique key
   * while another job holds it (then nothing changed).
   */
  jobRequeue(id: string): Promise<JobRecord | 'conflict' | { keyHeldBy: string } | null>;
  /** Deletes a pending, failed or cancelled job. */
  jobDelete(id: string): Promise<'deleted' | 'conflict' | 'not_found'>;

  // ── Running jobs (issue 15) ──
  /**
   * A pending job to `cancelled` (`cancelled`); a processing one marked `cancelRequested`
   * (`marked`: its worker sees the mark and stops it); a final one untouched (`finished`); null
   * when there is no such job. The job as it stands after.
   */
  jobCancel(id: string): Promise<{ outcome: 'cancelled' | 'marked' | 'finished'; job: JobRecord } | null>;
  /**
   * The jobs of `items` still held (processing, same lock token), with their cancel marks, in
   * one or two statements for any number: items with `lockedUntil` have their lock renewed to it
   * (heartbeats, `extendLock`), the others are only read.
   */
  jobHeartbeatMany(items: readonly JobHeartbeatItem[]): Promise<HeldJob[]>;
  /** Stores a held job's progress (JSON text), renewing its lock to `lockedUntil` if given. Null when not held. */
  jobSetProgress(params: JobProgressParams): Promise<HeldJob | null>;
  /** Those of the jobs `ids` that are final (completed, failed, cancelled), in one query. */
  jobGetFinal(ids: readonly string[]): Promise<JobRecord[]>;
  /**
   * Calls `onChange` when jobs may have finished in another process: PostgreSQL on the NOTIFY
   * every statement that can finish a job sends (and after its connection came back), SQLite
   * when another connection committed. Resolves to a function that stops listening.
   */
  listenForFinishes?(onChange: () => void): Promise<() => Promise<void>>;

  /**
   * Tells an idle worker that jobs may have arrived from another process: PostgreSQL calls
   * `onTopic` with each new job's topic (LISTEN/NOTIFY) and `onWake` after its listening
   * connection came back (notifications may have been missed); SQLite calls `onWake` when
   * another connection committed to the file. Resolves to a function that stops listening.
   */
  listenForJobs?(params: ListenParams): Promise<() => Promise<void>>;
}

export interface JobHeartbeatItem extends JobFinishParams {
  lockedUntil?: Date;
}

export interface JobProgressParams extends JobHeartbeatItem {
  progressJson: string;
}

/** A job its worker still holds, and whether it was asked to stop. */
export interface HeldJob {
  id: string;
  cancelRequested: boolean;
}

export interface ListenParams {
  /** A job of this topic was committed. */
  onTopic: (topic: string) => void;
  /** Jobs of any topic may have been committed. */
  onWake: () => void;
}

/** A superuser as stored: the password only as its hash. */
export interface SuperuserRecord {
  id: string;
  email: string;
  passwordHash: string;
  /** Part of every token's signature: replacing it revokes the tokens issued before. */
  tokenKey: string;
  created: Date;
  updated: Date;
}

export interface SuperuserPasswordParams {
  id: string;
  passwordHash: string;
  tokenKey: string;
}

/** The superusers table. Emails arrive normalized (the auth layer owns that rule). */
export interface SuperuserStore {
  superuserGetById(id: string): Promise<SuperuserRecord | null>;
  superuserGetByEmail(email: string): Promise<SuperuserRecord | null>;
  superuserCount(): Promise<number>;
  /** Every superuser, by email. */
  superuserList(): Promise<SuperuserRecord[]>;
  /** `duplicate` when the email is taken (another process may have won the race). */
  superuserInsert(record: SuperuserRecord): Promise<'created' | 'duplicate'>;
  /** Sets the password hash and token key; false when the superuser no longer exists. */
  superuserSetPassword(params: SuperuserPasswordParams): Promise<boolean>;
  /** False when no superuser has that email. */
  superuserDelete(email: string): Promise<boolean>;
}

/** Small key/value settings the server keeps in its database, e.g. the token signing secret. */
export interface SettingStore {
  settingGet(key: string): Promise<string | null>;
  /** Stores `value` unless the key has one already; returns the value stored (first writer wins). */
  settingInsertIfAbsent(key: string, value: string): Promise<string>;
}

/** What opening a store did to its database, for the CLI to say (a typo in a URL should not go unnoticed). */
export interface StoreOpening {
  /** The database did not exist and opening created it: a PostgreSQL database, or a SQLite file. */
  databaseCreated: boolean;
  /** The migrations opening applied, by name, oldest first; none when the schema was up to date. */
  migrationsApplied: string[];
}

// --- Topic control (issue 17) ---

/** `rate_limit`: at most `max` jobs of the topic start in any window of `perMs` ms. */
export interface RateLimit {
  max: number;
  perMs: number;
}

/** A topic's row in `topics`: its settings, which every process applies. */
export interface TopicSettingsRecord {
  topic: string;
  paused: boolean;
  /** Most jobs of the topic `processing` at once, across all processes; null: no cap. */
  maxRunning: number | null;
  rateLimit: RateLimit | null;
  /** When a process last started (or registered, while running) with a handler for the topic. */
  registeredAt: Date | null;
  updated: Date;
}

/** A change of settings: a field left out stays as it is; null clears a cap or a limit. */
export interface TopicSettingsPatch {
  paused?: boolean;
  maxRunning?: number | null;
  rateLimit?: RateLimit | null;
}

/** A topic as `GET /api/topics` shows it: its jobs by status, its longest wait, its settings. */
export interface TopicOverviewRecord {
  topic: string;
  counts: StatusCounts;
  /** The `run_at` of its longest-waiting due pending job; null when none is due. */
  oldestDueAt: Date | null;
  /** Null: the topic has no row in `topics` (no settings, no handler recorded). */
  settings: TopicSettingsRecord | null;
}

export interface JobClaimControlledParams {
  topic: string;
  limit: number;
  /** How long each claimed job is locked, ms. */
  lockDuration: number;
}

/**
 * What a claim of a topic with settings found. `heldBack`: the settings kept it from claiming
 * all it could have (`paused`, `cap`: max_running reached, `rate`: the window's starts used up).
 * `retryAt`: when the rate limit lets the next job start.
 */
export interface ControlledClaim {
  jobs: ClaimedJob[];
  heldBack: 'paused' | 'cap' | 'rate' | null;
  retryAt: Date | null;
}

export interface TopicStore {
  /** Every row of `topics`, by topic. */
  topicSettingsList(): Promise<TopicSettingsRecord[]>;
  /** Creates the topic's row if it has none, then applies the patch; the row as stored. */
  topicSettingsUpdate(topic: string, patch: TopicSettingsPatch): Promise<TopicSettingsRecord>;
  /** Records that this process has handlers for `topics` (`registered_at` = now). */
  topicRecordRegistered(topics: readonly string[]): Promise<void>;
  /** Every topic that has jobs or a row in `topics`, by topic; or only `topic`. */
  topicOverview(topic?: string): Promise<TopicOverviewRecord[]>;
  /**
   * Claims up to `limit` due jobs of one topic as `jobClaim` would, within its settings read in
   * the same transaction: none while paused, never past `max_running` processing, never more
   * than the rate limit's starts in any window. Claims of one such topic take turns across
   * processes (the topic's row is locked), so the counts they read are exact. A topic without a
   * row is claimed as by `jobClaim`.
   */
  jobClaimControlled(params: JobClaimControlledParams): Promise<ControlledClaim>;
}

// ── Operations (issue 18): the change feed, bulk actions by filter, metrics ──────────────────

/**
 * What happened to a job, as the database's change signal reports it. `created`, `started`
 * (claimed), `progress` (a running job's progress written, its status unchanged), `completed`,
 * `failed`, `retried`, `snoozed`, `released`, `requeued`, `deleted`; a move into any other
 * status (`cancelled`) is reported under that status's name (so a new status needs no change
 * here).
 */
export interface JobChange {
  type: string;
  id: string;
  topic: string;
  status: JobStatus;
}

export interface ChangeListenParams {
  /** Changes committed by any process, in commit order within a batch. */
  onChanges: (changes: JobChange[]) => void;
  /** Changes may have been missed (a dropped connection, a feed that moved on meanwhile). */
  onGap: () => void;
}

/** Which jobs a bulk action or its dry run takes: each given filter narrows them. */
export interface JobFilter {
  topic?: string;
  /** Non-empty: only jobs in these statuses. */
  statuses: readonly JobStatus[];
  createdBefore?: Date;
  createdAfter?: Date;
}

/** Where a walk in (created, id) order stopped: the last job it looked at. */
export interface JobCursor {
  created: Date;
  id: string;
}

export interface JobChunkParams {
  filter: JobFilter;
  /** Jobs looked at in this chunk (changed or not). */
  limit: number;
  after?: JobCursor;
}

export interface JobChunkResult {
  /** Jobs this chunk changed. */
  changed: number;
  /** The last job looked at; null when the chunk found none (the walk is over). */
  cursor: JobCursor | null;
}

export interface JobCancelChunkResult extends JobChunkResult {
  /** The processing jobs this chunk marked for cancellation. */
  marked: string[];
}

export interface TopicStatusCount {
  topic: string;
  status: JobStatus;
  n: number;
}

export interface OperationsStore {
  /** The kept counts (job_counts) by topic and status, leaving out zeros. No table scan. */
  jobCountByTopicAndStatus(): Promise<TopicStatusCount[]>;
  /**
   * For each topic given, when the job the claim would take next (lowest priority, oldest
   * run_at) became due, if one is due at `now`. Walks the claim's index per topic.
   */
  jobNextDueByTopic(topics: readonly string[], now: Date): Promise<Map<string, Date>>;
  /** How many jobs match: a bulk action's dry run. */
  jobCountMatching(filter: JobFilter): Promise<number>;
  /**
   * One chunk of a bulk requeue: the next `limit` jobs of the filter (failed or cancelled) in
   * (created, id) order back to pending as `jobRequeue` would; a job whose unique key another
   * job holds is left as it is.
   */
  jobRequeueChunk(params: JobChunkParams): Promise<JobChunkResult>;
  /** One chunk of a bulk delete: the next `limit` jobs of the filter, deleted. */
  jobDeleteChunk(params: JobChunkParams): Promise<JobChunkResult>;
  /**
   * One chunk of a bulk cancel, as `jobCancel` does each job: the next `limit` jobs of the
   * filter, the pending ones `cancelled`, the processing ones not yet marked marked
   * `cancelRequested` (their ids in `marked`, so this process aborts its own handlers at once).
   */
  jobCancelChunk(params: JobChunkParams): Promise<JobCancelChunkResult>;
  /** Job changes committed by every process, until the function it resolves to is called. */
  listenForChanges(params: ChangeListenParams): Promise<() => Promise<void>>;
}

/** Everything the server keeps, on one database: what `openStore` returns. */
export interface Store extends JobStore, SuperuserStore, SettingStore, TopicStore, ScheduleStore, OperationsStore, WorkerTokenStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** What `openStore` did to the database before returning this store. */
  readonly opening: StoreOpening;
  /**
   * Creates or upgrades the schema; safe to call on every start, from many processes at once.
   * Resolves to the names of the migrations this call applied (none when another process had).
   */
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

// ── Schedules (issue 16) ───────────────────────────────────────────────────────────────────

/** What happens to ticks that passed while no process fired them (see engine/schedules.ts). */
export type MisfirePolicy = 'skip' | 'run_once' | { backfill: { max: number } };
/** `skip`: no new job while the schedule's last job is pending or processing. */
export type OverlapPolicy = 'allow' | 'skip';

/** A schedule's definition, validated by the engine. */
export interface ScheduleDefinition {
  name: string;
  cron: string;
  timezone: string;
  topic: string;
  /** The payload's JSON text, validated and measured as an enqueue's. */
  payloadJson: string;
  /** Null: the topic's or engine's default when the job is made. */
  maxRetries: number | null;
  priority: number | null;
  misfire: MisfirePolicy;
  overlap: OverlapPolicy;
}

export interface ScheduleRecord extends Omit<ScheduleDefinition, 'payloadJson'> {
  payload: unknown;
  paused: boolean;
  /** The next tick to fire: every tick before it has been fired, skipped or given up. */
  nextRunAt: Date;
  /** The tick of the last job a tick made, or null. */
  lastRunAt: Date | null;
  /** The last job the schedule made (by a tick or a trigger), and its status (null once deleted). */
  lastJobId: string | null;
  lastJobStatus: JobStatus | null;
  /** Ticks not run because the last job was still pending or processing (overlap `skip`). */
  skippedTicks: number;
  lastSkippedAt: Date | null;
  created: Date;
  updated: Date;
}

/** One firing of a schedule, decided by the engine: the store applies it in one transaction. */
export interface ScheduleFireParams {
  name: string;
  /** Compare-and-set: the schedule's `next_run_at` as the engine read it. */
  expectedNextRunAt: Date;
  nextRunAt: Date;
  /** The jobs to make, each with its tick; none when every due tick was skipped. */
  jobs: readonly (JobInsertParams & { schedule: { name: string; tick: Date } })[];
  /** `skip`: make no job while the schedule's last job is pending or processing; count the ticks. */
  overlap: OverlapPolicy;
}

/**
 * `fired`: next_run_at moved on and the jobs (maybe none) were made. `overlap`: next_run_at moved
 * on but the last job was still active, so no job was made and the ticks were counted as skipped.
 * `lost`: another process had moved next_run_at on (or the schedule was paused or deleted): nothing
 * was written.
 */
export type ScheduleFireOutcome = { outcome: 'fired'; jobs: JobRecord[] } | { outcome: 'overlap' } | { outcome: 'lost' };

export interface ScheduleStore {
  /** A new schedule; `duplicate` when the name is taken. */
  scheduleInsert(def: ScheduleDefinition & { nextRunAt: Date; paused: boolean }): Promise<'created' | 'duplicate'>;
  /**
   * Creates the schedule or sets its definition (a code-defined schedule at start). `next_run_at`
   * is kept unless the cron or the time zone changed, and `paused` is kept, so processes
   * starting together, or restarting, neither re-fire nor drop a tick.
   */
  scheduleUpsert(def: ScheduleDefinition & { nextRunAt: Date }): Promise<void>;
  /** Replaces the definition and next_run_at of an existing schedule; false when there is none. */
  scheduleUpdate(def: ScheduleDefinition & { nextRunAt: Date }): Promise<boolean>;
  scheduleGet(name: string): Promise<ScheduleRecord | null>;
  /** Every schedule, by name. */
  scheduleList(): Promise<ScheduleRecord[]>;
  /** Pauses, or resumes with the next tick from now; false when there is no such schedule. */
  scheduleSetPaused(name: string, paused: boolean, nextRunAt: Date): Promise<boolean>;
  scheduleDelete(name: string): Promise<boolean>;
  /** Unpaused schedules with `next_run_at <= now`, soonest first: the firing pass's one query. */
  scheduleGetDue(now: Date, limit: number): Promise<ScheduleRecord[]>;
  /** Applies one firing, all or nothing (see ScheduleFireOutcome). */
  scheduleFire(params: ScheduleFireParams): Promise<ScheduleFireOutcome>;
  /** One job now for the schedule, not counted as a tick; null when there is no such schedule. */
  scheduleTrigger(name: string, job: JobInsertParams): Promise<JobRecord | null>;
}

// ── Worker tokens (issue 19) ───────────────────────────────────────────────────────────────

/** A worker token as stored: the token itself only as its SHA-256 (hex). */
export interface WorkerTokenRecord {
  id: string;
  name: string;
  role: 'worker';
  /** The topics it may claim and finish; null: every topic. */
  topics: string[] | null;
  tokenHash: string;
  created: Date;
}

export interface WorkerTokenStore {
  workerTokenInsert(record: WorkerTokenRecord): Promise<void>;
  /** Every worker token, oldest first. */
  workerTokenList(): Promise<WorkerTokenRecord[]>;
  workerTokenByHash(tokenHash: string): Promise<WorkerTokenRecord | null>;
  /** Deletes the tokens with this id or name; how many. */
  workerTokenRevoke(idOrName: string): Promise<number>;
  /** Deletes the token with this id, never one by name (the HTTP route's revoke); whether there was one. */
  workerTokenRevokeById(id: string): Promise<boolean>;
}
