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
  status: 'completed' | 'failed';
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
  jobList(params: JobListParams): Promise<JobListResult>;
  jobCountByStatus(): Promise<StatusCounts>;

  /**
   * Locks up to `limit` due, pending jobs of `topics`: the lowest priority first, then the
   * oldest `run_at`, then the lowest id. Jobs not yet due never hold back due ones, whatever
   * their priority. Answers them in that order.
   */
  jobClaim(params: JobClaimParams): Promise<ClaimedJob[]>;
  /**
   * Completes many jobs in one statement, compare-and-set on each lock token; returns the ids
   * that were still held (the others lost their lock and are left alone). `now` as in
   * `JobMoveParams`, one for the whole statement.
   */
  jobCompleteMany(items: readonly JobFinishParams[], now?: Date): Promise<string[]>;
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
   * failed → pending with retries 0, due now; null when the job does not exist, `conflict` when
   * it is not failed, `keyHeldBy` when going back to pending would make it take its unique key
   * while another job holds it (then nothing changed).
   */
  jobRequeue(id: string): Promise<JobRecord | 'conflict' | { keyHeldBy: string } | null>;
  /** Deletes a pending or failed job. */
  jobDelete(id: string): Promise<'deleted' | 'conflict' | 'not_found'>;

  /**
   * Tells an idle worker that jobs may have arrived from another process: PostgreSQL calls
   * `onTopic` with each new job's topic (LISTEN/NOTIFY) and `onWake` after its listening
   * connection came back (notifications may have been missed); SQLite calls `onWake` when
   * another connection committed to the file. Resolves to a function that stops listening.
   */
  listenForJobs?(params: ListenParams): Promise<() => Promise<void>>;
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

// ── Operations (issue 18): the change feed, bulk actions by filter, metrics ──────────────────

/**
 * What happened to a job, as the database's change signal reports it. `created`, `started`
 * (claimed), `completed`, `failed`, `retried`, `snoozed`, `released`, `requeued`, `deleted`;
 * a move into any other status is reported under that status's name (so a new status needs no
 * change here).
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
   * One chunk of a bulk requeue: the next `limit` jobs of the filter (failed ones only) in
   * (created, id) order back to pending as `jobRequeue` would; a job whose unique key another
   * job holds is left as it is.
   */
  jobRequeueChunk(params: JobChunkParams): Promise<JobChunkResult>;
  /** One chunk of a bulk delete: the next `limit` jobs of the filter, deleted. */
  jobDeleteChunk(params: JobChunkParams): Promise<JobChunkResult>;
  /** Job changes committed by every process, until the function it resolves to is called. */
  listenForChanges(params: ChangeListenParams): Promise<() => Promise<void>>;
}

/** Everything the server keeps, on one database: what `openStore` returns. */
export interface Store extends JobStore, SuperuserStore, SettingStore, OperationsStore {
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
