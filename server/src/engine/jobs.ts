import { EventEmitter } from 'node:events';
import bytes from 'bytes';
import type {
  EnqueueOutcome,
  EnqueuePayloadArgs,
  JobStatus,
  ListSort,
  Stats,
  TopicPayload,
  TopicPayloadInput,
  TopicSchemas,
  Topics,
} from '@jobbase/contract';
import {
  DEFAULT_BACKOFF,
  DEFAULT_BATCH_SIZE,
  DEFAULT_CLEANUP_INTERVAL,
  DEFAULT_DATABASE,
  DEFAULT_LOCK_DURATION,
  DEFAULT_MAX_LIST_PAYLOAD_SIZE,
  DEFAULT_MAX_PAYLOAD_SIZE,
  DEFAULT_MAX_RETRIES,
  DEFAULT_POLL_INTERVAL,
  DEFAULT_MISFIRE_GRACE,
  DEFAULT_RESCUE_INTERVAL,
  DEFAULT_SCHEDULE_INTERVAL,
  DEFAULT_SHUTDOWN_TIMEOUT,
  DEFAULT_WORKER_POOL_SIZE,
} from '../defaults.js';
import { DEFAULT_WAIT_TIMEOUT, FINAL_STATUSES } from '@jobbase/contract';
import { JobsError, validationError, type FieldProblem } from '../errors.js';
import { defaultLogger, type Logger } from '../logger.js';
import { openStore } from '../store/open.js';
import type { ClaimedJob, JobInsertOutcome, JobInsertParams, JobRecord, Store } from '../store/types.js';

export type { JobRecord, ClaimedJob } from '../store/types.js';
import { runBulkAction, type BulkFilter, type BulkOptions, type BulkResult } from './bulk-actions.js';
import { Cleaner, type Retention } from './cleaner.js';
import { Completer } from './completer.js';
import type { Ending } from './executor.js';
import { InsertBatcher, type InsertWindow } from './insert-batcher.js';
import type { JobHandler } from './job.js';
import { newJobId } from './job-ids.js';
import { Producer } from './producer.js';
import { Rescuer } from './rescuer.js';
import { ScheduleControls } from './schedule-controls.js';
import { Scheduler } from './scheduler.js';
import type { ScheduleOptions, ScheduleRecord, ScheduleSpec } from './schedules.js';
import { assertTopicPayload, withParsedPayload } from './typed-topics.js';
import { currentTraceContext } from './tracing.js';
import { toBackoffFunction, type BackoffFunction, type ExponentialBackoff } from './retry-policy.js';
import { TopicControl, toTopicInfo, validTopicUpdate, type TopicInfo, type TopicUpdate } from './topic-control.js';
import { MAX_TIMER, registeredTopic, validHeartbeat, type RegisteredTopic, type TopicOptions } from './topic-settings.js';
import { CANCEL_CHECK_INTERVAL, HeldJobs } from './held-jobs.js';
import { JobWaiters } from './job-waiters.js';
import { RemoteWork } from './remote-work.js';
import {
  encodePayload,
  validListQuery,
  validMaxRetries,
  validPriority,
  validRunAt,
  validTopic,
  validUnique,
  type EnqueueOptions,
} from './validate.js';

export type { TopicInfo, TopicUpdate } from './topic-control.js';

export interface JobsOptions<T extends TopicSchemas = {}> {
  /** `sqlite:./jb_data/data.db` (default) or `postgres://user@host/db`. */
  database?: string;
  /** Payload schemas from `defineTopics`: enqueue validates them, `register` types `job.payload`. */
  topics?: Topics<T>;
  maxPayloadSize?: number;
  /**
   * Bytes of payload JSON one `list()` page may carry (default 8 MiB); a page over it is refused
   * (`page_too_large`, HTTP 422) before any payload is read. A page of one job always answers.
   */
  maxListPayloadSize?: number;
  /** Default `max_retries` of a job enqueued without one. */
  maxRetries?: number;
  /** How long a claimed job is locked: its execution timeout. ms. */
  lockDuration?: number;
  /**
   * Renew a running job's lock every `heartbeat` ms (100 or more), so a job whose worker died
   * is rescued about 2 × heartbeat (plus the rescue interval) after its last renewal instead of
   * when its whole lockDuration has run out; lockDuration stays its execution timeout. Default:
   * none. Per topic too (`register` options).
   */
  heartbeat?: number;
  pollInterval?: number;
  workerPoolSize?: number;
  batchSize?: number;
  /** How long `close()`/`stop()` wait for in-flight handlers before aborting them. ms. */
  shutdownTimeout?: number;
  /** `{ base, max }` in ms (exponential with jitter) or `(retry) => ms`. */
  backoff?: ExponentialBackoff | BackoffFunction;
  /** How often expired locks are looked for; never more than the lock duration. ms. */
  rescueInterval?: number;
  /**
   * How long finished jobs are kept, in ms, per status (`{ completed: 7 * 86_400_000 }`);
   * older ones are deleted in small batches by a background pass. Default: kept for ever.
   */
  retention?: Retention;
  /** How often the retention pass runs, ms (default 60 s). */
  cleanupInterval?: number;
  /** SQLite only: `NORMAL` (default) or `FULL` for power-loss durability. */
  synchronous?: 'NORMAL' | 'FULL';
  /** SQLite only: how long a write waits for another process's lock before failing, ms (default 10 s). */
  busyTimeout?: number;
  /** PostgreSQL only: connections in this process's pool (default 10). */
  poolSize?: number;
  /**
   * PostgreSQL only: a direct connection (`postgres://…`, not through PgBouncer) to LISTEN on
   * for new jobs, when `database` goes through a pooler; default `database` itself. `false`:
   * no LISTEN, new jobs are found by polling every `pollInterval`. A LISTEN connection that
   * turns out to go through a pooler is given up the same way, with a warning.
   */
  listenUrl?: string | false;
  /** pino or anything with its debug/info/warn/error; default pino at `JOBBASE_LOG_LEVEL`. */
  logger?: Logger;
  /** Recurring schedules defined in code, upserted by `createJobs` (see `jobs.schedule`). */
  schedules?: readonly ScheduleSpec[];
  /** How often each started engine looks for due schedules, ms (default 1 s). */
  scheduleInterval?: number;
  /** How late a tick may fire before it counts as missed and follows its `misfire`, ms (default 60 s). */
  misfireGrace?: number;
}

/** One job of `enqueueMany`. */
export interface EnqueueManyItem extends EnqueueOptions {
  topic: string;
  payload?: unknown;
}

/**
 * What an enqueue answers: the job, and `enqueued`, whether this enqueue made it (`created`) or
 * another job held the unique key (`existing`: as it was; `replaced`: as it is now).
 */
export type EnqueuedJob = JobRecord & { enqueued: EnqueueOutcome };

export interface ListOptions {
  topic?: string;
  status?: JobStatus;
  /** Only jobs enqueued with this unique key. */
  uniqueKey?: string;
  priority?: number;
  /** `-created` (default): newest first. `priority`: the order they would run (priority, run_at, id). */
  sort?: ListSort;
  limit?: number;
  offset?: number;
  /** `false`: each item's `payload` is left out (undefined), and the page has no size budget. */
  payload?: boolean;
}

export interface JobPage {
  items: JobRecord[];
  total: number;
  limit: number;
  offset: number;
}

/**
 * What happened to a job this process ran; tests and metrics listen to these. The job is as
 * the outcome stored it (status, retries, run_at, last_error, updated), its `lockToken` and
 * `lockedUntil` those of the attempt that ended; `job:lost` and `job:error` wrote nothing, so
 * theirs is the job as claimed. `err` of a failed attempt is what the handler threw (wrapped in
 * an Error when it was not one) or the lock expiry, whose message is the stored `last_error`.
 */
export interface JobsEvents {
  'job:completed': [job: ClaimedJob];
  /** The attempt failed and the job is pending again, due at `job.runAt`. */
  'job:retried': [job: ClaimedJob, err: Error];
  /** The attempt failed and no retries were left, or the handler threw a PermanentError. */
  'job:failed': [job: ClaimedJob, err: Error];
  /** The handler put the job back for later (`job.snooze`): pending, due at `job.runAt`. */
  'job:snoozed': [job: ClaimedJob];
  /** Shutdown gave up waiting: the job is pending again, no attempt counted. */
  'job:released': [job: ClaimedJob];
  /** The job's lock had been taken over by the time this worker finished it. */
  'job:lost': [job: ClaimedJob];
  /** The job was cancelled while it ran (`cancel`): it is `cancelled`, whatever its handler did. */
  'job:cancelled': [job: ClaimedJob];
  /** Recording the outcome failed; the rescuer will pick the job up once its lock expires. */
  'job:error': [job: ClaimedJob, err: Error];
  /** A claim came back with these jobs (perhaps none), their handlers about to start, after `ms`. */
  'jobs:claimed': [jobs: ClaimedJob[], ms: number];
}

/** `T`: the declared topics' payload schemas (`defineTopics`); other topics take any payload. */
export class Jobs<T extends TopicSchemas = {}> {
  readonly events = new EventEmitter<JobsEvents>();
  /** Each registered topic's handler and defaults. */
  private readonly registered = new Map<string, RegisteredTopic>();
  private readonly producer: Producer;
  private readonly rescuer: Rescuer;
  private readonly cleaner: Cleaner;
  private readonly completer: Completer;
  private readonly inserts: InsertBatcher;
  private readonly control: TopicControl;
  /** The last recordRegistered writes, awaited by stop(). */
  private topicsRecorded: Promise<void> = Promise.resolve();
  private readonly scheduler: Scheduler;
  /** Recurring schedules: list, get, create, update, delete, pause, resume, trigger. */
  readonly schedules: ScheduleControls;
  private readonly held: HeldJobs;
  private readonly waiters: JobWaiters;
  /** Jobs claimed and finished by remote workers, over HTTP (issue 19). */
  readonly remote: RemoteWork;
  private readonly openWaits = new Set<Promise<unknown>>();
  private readonly settings: ReturnType<typeof resolveSettings>;
  private readonly backoff: BackoffFunction;
  private closed = false;
  private unlisten: Promise<(() => Promise<void>) | undefined> | null = null;
  private closing: Promise<void> | null = null;
  private readonly topics: Topics<T> | undefined;

  constructor(
    /** The store: the engine uses its job methods; the server's auth uses the same database through it. */
    readonly store: Store,
    options: JobsOptions<T> = {},
    readonly logger: Logger = options.logger ?? defaultLogger(),
  ) {
    this.settings = resolveSettings(options);
    this.topics = options.topics;
    this.backoff = toBackoffFunction(options.backoff ?? DEFAULT_BACKOFF);
    this.completer = new Completer(store);
    this.inserts = new InsertBatcher(store);
    // The tick that renews locks and reads cancel marks: half the shortest heartbeat, if shorter.
    this.held = new HeldJobs(store, this.logger, () =>
      Math.min(CANCEL_CHECK_INTERVAL, ...[this.settings, ...this.registered.values()].flatMap((t) => (t.heartbeat ? [t.heartbeat / 2] : []))),
    );
    this.waiters = new JobWaiters(store, this.logger);
    const deps = { store, completer: this.completer, logger: this.logger, held: this.held, maxResultSize: this.settings.maxPayloadSize };
    // A resumed topic's jobs start at once, for this process's workers and remote ones waiting on a claim.
    this.control = new TopicControl(
      store,
      () => {
        this.producer.wake();
        this.remote?.poke();
      },
      this.logger,
    );
    this.producer = new Producer(
      store,
      this.registered,
      deps,
      this.settings,
      (job, outcome) => this.report(job, outcome),
      this.logger,
      this.control,
      (jobs, ms) => this.events.emit('jobs:claimed', jobs, ms),
    );
    this.cleaner = new Cleaner(store, {
      retention: validRetention(options.retention),
      interval: this.settings.cleanupInterval,
      logger: this.logger,
    });
    const engine = { lockDuration: this.settings.lockDuration, backoff: this.backoff, heartbeat: this.settings.heartbeat };
    this.rescuer = new Rescuer(store, {
      // Never longer than the shortest lock registered by start(), nor than a heartbeat: a
      // crashed worker's job is looked for soon after its lock ran out.
      interval: () =>
        Math.min(this.settings.rescueInterval, ...[engine, ...this.registered.values()].map((t) => Math.min(t.lockDuration, t.heartbeat ?? Infinity))),
      policyOf: (topic) => this.registered.get(topic) ?? engine,
      logger: this.logger,
    });
    this.remote = new RemoteWork({
      store,
      completer: this.completer,
      control: this.control,
      policyOf: (topic) => this.registered.get(topic) ?? engine,
      maxResultSize: this.settings.maxPayloadSize,
      pollInterval: this.settings.pollInterval,
      logger: this.logger,
      assertOpen: () => this.assertOpen(),
      finished: () => this.waiters.poke(),
    });
    const jobOf = (schedule: ScheduleRecord, now: Date) =>
      this.insertParams(schedule.topic, schedule.payload, { maxRetries: schedule.maxRetries ?? undefined, priority: schedule.priority ?? undefined }, now);
    const made = (jobs: JobRecord[]) => jobs.forEach((job) => this.wakeFor(job));
    this.scheduler = new Scheduler(store, {
      interval: this.settings.scheduleInterval,
      misfireGrace: this.settings.misfireGrace,
      jobOf,
      made,
      logger: this.logger,
    });
    this.schedules = new ScheduleControls({
      store,
      encodePayload: (topic, payload) => {
        const json = encodePayload(payload, this.settings.maxPayloadSize);
        assertTopicPayload(this.topics, topic, payload);
        return json;
      },
      jobOf,
      made,
      assertOpen: () => this.assertOpen(),
    });
  }

  /**
   * Creates or redefines the recurring schedule `name` (see ScheduleOptions): idempotent, so
   * every process may define its schedules at start. Its next run is kept unless the cron or
   * time zone changed, and a pause set by an admin stays. Started engines fire it.
   */
  schedule(name: string, options: ScheduleOptions): Promise<ScheduleRecord> {
    return this.schedules.upsert(name, options);
  }

  /**
   * Registers the handler of `topic`; a topic has one handler, so a second call throws.
   * `options` are defaults for the topic's jobs: `lockDuration` (their execution timeout) and
   * `backoff` apply to every job of the topic this engine runs; `maxRetries` and `priority`
   * to jobs of the topic enqueued through this engine without their own (an enqueue's own
   * values win). The job stores what it got, so other processes see the same values.
   */
  register<K extends string>(topic: K, handler: JobHandler<TopicPayload<T, K>>, options?: TopicOptions): void {
    validTopic(topic);
    if (this.registered.has(topic)) {
      throw new JobsError('topic_taken', `Topic "${topic}" already has a handler.`);
    }
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const schema = this.topics?.schemaOf(topic);
    const run = schema ? withParsedPayload(schema, handler as JobHandler) : (handler as JobHandler);
    this.registered.set(
      topic,
      registeredTopic(topic, run, options, { lockDuration: this.settings.lockDuration, backoff: this.backoff, heartbeat: this.settings.heartbeat }),
    );
    if (this.producer.isRunning) this.recordRegistered([topic]);
    this.producer.wake();
  }

  enqueue<K extends string>(topic: K, ...[payload]: EnqueuePayloadArgs<T, K>): Promise<EnqueuedJob> {
    return this.enqueueWithOptions(topic, payload as TopicPayloadInput<T, K>, {});
  }

  enqueueAt<K extends string>(topic: K, payload: TopicPayloadInput<T, K>, runAt: Date | string): Promise<EnqueuedJob> {
    return this.enqueueWithOptions(topic, payload, { runAt });
  }

  /**
   * Resolves once the job is committed to the database. With a `uniqueKey` held by another job,
   * resolves to that job (`enqueued: 'existing'` or `'replaced'`) or throws a `unique_conflict`
   * JobsError, as `onConflict` says.
   *
   * Enqueues without a unique key share a commit (group commit): those asked for in the same
   * synchronous run are written by one statement. `window: 'turn'` waits one turn of the event
   * loop for more, so the enqueues of concurrent callbacks share it too (the HTTP server's
   * requests); each still resolves only once its job is committed.
   */
  async enqueueWithOptions<K extends string>(
    topic: K,
    payload: TopicPayloadInput<T, K>,
    options: EnqueueOptions = {},
    window: InsertWindow = 'microtask',
  ): Promise<EnqueuedJob> {
    this.assertOpen();
    const params = this.insertParams(topic, payload, options ?? {}, new Date());
    const outcome: JobInsertOutcome = params.unique
      ? await this.store.jobInsertUnique({ ...params, unique: params.unique })
      : { outcome: 'created', job: await this.inserts.insert(params, window) };
    if (outcome.outcome === 'conflict') throw uniqueConflict('unique_key', outcome.job);
    if (outcome.outcome !== 'existing') this.wakeFor(outcome.job);
    return { ...outcome.job, enqueued: outcome.outcome };
  }

  private insertParams(topic: unknown, payload: unknown, options: EnqueueOptions, now: Date): JobInsertParams {
    const valid = validTopic(topic);
    const payloadJson = encodePayload(payload, this.settings.maxPayloadSize);
    // After the size check, so an oversized payload is refused before a schema walks it.
    assertTopicPayload(this.topics, valid, payload);
    const defaults = this.registered.get(valid);
    return {
      id: newJobId(),
      topic: valid,
      payloadJson,
      runAt: validRunAt(options.runAt, now),
      maxRetries: options.maxRetries === undefined ? (defaults?.maxRetries ?? this.settings.maxRetries) : validMaxRetries(options.maxRetries),
      priority: options.priority === undefined ? (defaults?.priority ?? 0) : validPriority(options.priority),
      unique: validUnique(options),
      traceContext: currentTraceContext(),
    };
  }

  /**
   * Many jobs at once, all or nothing: each item is validated as a single enqueue would be (an
   * error names the item, `jobs.<index>.<field>`), then all are committed in one transaction.
   * Unique keys follow the single enqueue's rules item after item, a key repeated in the batch
   * meeting the job made for it earlier in the batch; a conflict refuses the whole batch.
   */
  async enqueueMany(items: readonly EnqueueManyItem[]): Promise<EnqueuedJob[]> {
    this.assertOpen();
    if (!Array.isArray(items)) throw validationError('jobs', 'invalid_type', 'jobs must be an array.');
    const now = new Date();
    const fields: Record<string, FieldProblem> = {};
    const params: JobInsertParams[] = [];
    items.forEach((item, index) => {
      try {
        params.push(this.insertParams(item?.topic, item?.payload, item ?? {}, now));
      } catch (err) {
        if (!(err instanceof JobsError)) throw err;
        for (const [field, problem] of Object.entries(err.fields)) fields[`jobs.${index}.${field}`] = problem;
      }
    });
    const problems = Object.keys(fields);
    if (problems.length > 0) {
      const first = fields[problems[0]!]!;
      throw new JobsError('validation', `Invalid ${problems[0]}: ${first.message}`, fields);
    }
    let outcomes: JobInsertOutcome[];
    if (params.some((p) => p.unique)) {
      const result = await this.store.jobInsertManyUnique(params);
      if (!Array.isArray(result)) throw uniqueConflict(`jobs.${result.conflictIndex}.unique_key`, result.holder);
      outcomes = result;
    } else {
      outcomes = (await this.store.jobInsertMany(params)).map((job) => ({ outcome: 'created', job }));
    }
    const handled = outcomes.filter((o) => o.outcome !== 'existing' && this.registered.has(o.job.topic)).map((o) => o.job);
    if (handled.length > 0) this.wakeFor(handled.reduce((a, b) => (b.runAt < a.runAt ? b : a)));
    if (handled.length > 0) this.remote.poke();
    return outcomes.map((o) => ({ ...o.job, enqueued: o.outcome as EnqueueOutcome }));
  }

  /** The job, or a `not_found` JobsError. */
  async get(id: string): Promise<JobRecord> {
    this.assertOpen();
    assertJobId(id);
    const job = await this.store.jobGet(id);
    if (!job) throw notFound(id);
    return job;
  }

  /**
   * Newest first (`created`, then `id`, descending). The payloads of a page of more than one job
   * must fit `maxListPayloadSize`, which the store checks before it reads any of them: a page
   * of one job is the least a caller can ask for, so it is answered whatever its size.
   */
  async list(options: ListOptions = {}): Promise<JobPage> {
    this.assertOpen();
    const { uniqueKey, ...rest } = options;
    const { payload, unique_key, ...query } = validListQuery({ ...rest, unique_key: uniqueKey });
    const page = await this.store.jobList({
      ...query,
      uniqueKey: unique_key,
      payloads: payload,
      payloadBudget: query.limit > 1 ? this.settings.maxListPayloadSize : undefined,
    });
    if (page.overBudget) throw pageTooLarge(this.settings.maxListPayloadSize);
    return { items: page.items, total: page.total, limit: query.limit, offset: query.offset };
  }

  async stats(): Promise<Stats> {
    this.assertOpen();
    const counts = await this.store.jobCountByStatus();
    const finished = counts.completed + counts.failed;
    return {
      ...counts,
      total: counts.pending + counts.processing + counts.completed + counts.failed + counts.cancelled,
      success_rate: finished === 0 ? 0 : counts.completed / finished,
    };
  }

  /** A failed or cancelled job back to pending: retries 0, due now, last error, result and progress cleared. */
  async requeue(id: string): Promise<JobRecord> {
    this.assertOpen();
    assertJobId(id);
    const result = await this.store.jobRequeue(id);
    if (result === null) throw notFound(id);
    if (result === 'conflict') throw new JobsError('conflict', 'Only failed or cancelled jobs can be requeued.');
    if ('keyHeldBy' in result) {
      const message = `Job "${result.keyHeldBy}" holds the unique key of this job; requeue it once that job has left its unique states.`;
      throw new JobsError('unique_conflict', message, { unique_key: { code: 'conflict', message } });
    }
    this.wakeFor(result);
    return result;
  }

  /** Deletes a pending, failed or cancelled job. */
  async delete(id: string): Promise<void> {
    this.assertOpen();
    assertJobId(id);
    const result = await this.store.jobDelete(id);
    if (result === 'not_found') throw notFound(id);
    if (result === 'conflict') throw new JobsError('conflict', 'Only pending, failed or cancelled jobs can be deleted.');
  }

  /**
   * Requeues the failed and cancelled jobs the filter takes, in short chunks (see
   * bulk-actions.ts); with `dryRun`, only counts them. Jobs whose unique key another job holds
   * stay as they are.
   */
  async requeueMatching(filter: BulkFilter = {}, options: BulkOptions = {}): Promise<BulkResult> {
    this.assertOpen();
    const result = await runBulkAction(this.store, 'requeue', filter, options);
    if (result.changed > 0) this.producer.wake();
    return result;
  }

  /** Deletes the pending, failed or cancelled jobs the filter takes, in short chunks; with `dryRun`, only counts them. */
  async deleteMatching(filter: BulkFilter = {}, options: BulkOptions = {}): Promise<BulkResult> {
    this.assertOpen();
    return runBulkAction(this.store, 'delete', filter, options);
  }

  /**
   * Cancels the pending and processing jobs the filter takes, in short chunks, as `cancel` does
   * each: pending ones become `cancelled`, processing ones are marked and their handlers abort
   * within a second in whichever process runs them (at once in this one). `changed` counts
   * both; with `dryRun`, only counts them.
   */
  async cancelMatching(filter: BulkFilter = {}, options: BulkOptions = {}): Promise<BulkResult> {
    this.assertOpen();
    const result = await runBulkAction(this.store, 'cancel', filter, options, (ids) => {
      for (const id of ids) this.held.cancelNow(id);
    });
    if (result.changed > 0) this.waiters.poke();
    return result;
  }

  /**
   * Every topic that has jobs, whose handler a process registered, or that has settings: its
   * jobs by status, its longest wait, and its settings. By topic.
   */
  async listTopics(): Promise<TopicInfo[]> {
    this.assertOpen();
    const now = Date.now();
    return (await this.store.topicOverview()).map((record) => toTopicInfo(record, now));
  }

  /** One topic as `listTopics` shows it, or a `not_found` JobsError. */
  async getTopic(topic: string): Promise<TopicInfo> {
    this.assertOpen();
    const [record] = await this.store.topicOverview(validTopic(topic));
    if (!record) throw new JobsError('not_found', `Topic "${topic}" has no jobs, handler or settings.`);
    return toTopicInfo(record, Date.now());
  }

  /**
   * Sets the topic's `maxRunning` (never more of its jobs processing at once, across every
   * process) and `rateLimit` (at most `max` starts in any window of `perMs` ms); a field left
   * out stays, null clears it. Every process applies it within a second; this one at once.
   */
  async updateTopic(topic: string, update: TopicUpdate): Promise<TopicInfo> {
    this.assertOpen();
    return this.changeTopic(validTopic(topic), validTopicUpdate(update));
  }

  /** No process claims the topic's jobs from at most a second from now; running ones finish. Stored: it outlasts restarts. */
  async pauseTopic(topic: string): Promise<TopicInfo> {
    this.assertOpen();
    return this.changeTopic(validTopic(topic), { paused: true });
  }

  /** The topic's waiting jobs start again, within a second in every process. */
  async resumeTopic(topic: string): Promise<TopicInfo> {
    this.assertOpen();
    return this.changeTopic(validTopic(topic), { paused: false });
  }

  private async changeTopic(topic: string, patch: Parameters<Store['topicSettingsUpdate']>[1]): Promise<TopicInfo> {
    this.control.apply(await this.store.topicSettingsUpdate(topic, patch));
    return this.getTopic(topic);
  }

  /** So `listTopics` shows topics whose handlers run somewhere, jobs or not. */
  private recordRegistered(topics: string[]): void {
    if (topics.length === 0) return;
    const recorded = this.store.topicRecordRegistered(topics).catch((err: unknown) => {
      this.logger.warn({ err }, 'recording the registered topics failed');
    });
    // stop() waits for it, so it never runs into a closing store.
    this.topicsRecorded = Promise.all([this.topicsRecorded, recorded]).then(() => undefined);
  }

  /**
   * Cancels a job: a pending one is `cancelled` at once; a processing one is marked, its
   * handler's `job.signal` aborts (with a JobCancelledError) within a second in whichever
   * process runs it, and it becomes `cancelled` when the handler settles. Answers the job as it
   * stands; a `finished` JobsError (HTTP 409) when it is already completed, failed or cancelled.
   */
  async cancel(id: string): Promise<JobRecord> {
    this.assertOpen();
    assertJobId(id);
    const result = await this.store.jobCancel(id);
    if (result === null) throw notFound(id);
    if (result.outcome === 'finished') {
      throw new JobsError('finished', `Job "${id}" is already ${result.job.status}: only pending and processing jobs can be cancelled.`);
    }
    if (result.outcome === 'marked') this.held.cancelNow(id);
    else this.waiters.poke();
    return result.job;
  }

  /**
   * The job once it is final (completed, failed or cancelled), or as it stands when `timeout`
   * ms (default 30 s) have passed or `signal` aborted (as it was when the wait began, when the
   * engine is closed meanwhile). Woken by the store's change signal,
   * with a slow poll behind it: any number of waits cost one query per change.
   */
  async waitFor(id: string, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<JobRecord> {
    this.assertOpen();
    const timeout = options.timeout ?? DEFAULT_WAIT_TIMEOUT;
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > MAX_TIMER) {
      throw validationError('timeout', 'invalid', `timeout must be an integer from 0 to ${MAX_TIMER} (ms), got ${String(timeout)}.`);
    }
    // close() waits for every open wait before the store closes.
    const waiting = this.waitForFinal(id, timeout, options.signal);
    this.openWaits.add(waiting);
    try {
      return await waiting;
    } finally {
      this.openWaits.delete(waiting);
    }
  }

  /**
   * Timed out: the job as it stands. Closed meanwhile: the job as the wait found it (no query
   * each: a thousand open waits would make a thousand).
   */
  private async waitForFinal(id: string, timeout: number, signal: AbortSignal | undefined): Promise<JobRecord> {
    const job = await this.get(id);
    if (isFinal(job.status) || timeout === 0 || signal?.aborted || this.closing) return job;
    const finished = await this.waiters.wait(id, timeout, signal);
    return finished ?? (this.closing ? job : ((await this.store.jobGet(id)) ?? job));
  }

  /** Starts claiming registered topics and rescuing expired locks. */
  start(): void {
    this.assertOpen();
    if (!this.producer.isRunning) this.recordRegistered([...this.registered.keys()]);
    this.control.start();
    this.producer.start();
    this.rescuer.start();
    this.cleaner.start();
    this.scheduler.start();
    this.unlisten ??= this.listen();
  }

  /** Where the store can push new jobs, an idle producer wakes for them instead of polling. */
  private async listen(): Promise<(() => Promise<void>) | undefined> {
    try {
      const unlisten = await this.store.listenForJobs?.({
        onTopic: (topic) => {
          if (this.registered.has(topic)) this.producer.wake();
        },
        onWake: () => this.producer.wake(),
      });
      // A job committed after the producer's first claim but before the listener was in place
      // would otherwise wait a whole poll interval: look once more now that nothing is missed.
      this.producer.wake();
      return unlisten;
    } catch (err) {
      this.logger.error({ err }, 'listening for new jobs failed; polling only');
      return undefined;
    }
  }

  get isRunning(): boolean {
    return this.producer.isRunning;
  }

  /** Stops claiming and waits (bounded) for in-flight handlers; the database stays open. */
  async stop(): Promise<void> {
    const unlisten = this.unlisten;
    this.unlisten = null;
    await (await unlisten)?.();
    await this.producer.stop(this.settings.shutdownTimeout);
    await this.control.stop();
    await this.topicsRecorded;
    await this.held.stop();
    await this.rescuer.stop();
    await this.cleaner.stop();
    await this.scheduler.stop();
    await this.completer.drain();
  }

  /** `stop()`, then closes the database. Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.waiters.close();
        await this.remote.close();
        await Promise.allSettled([...this.openWaits]);
        await this.stop();
        // Enqueues asked for before close() are written, as they were when each wrote at once.
        await this.inserts.drain();
      } finally {
        this.closed = true;
        await this.store.close();
      }
    })();
    return this.closing;
  }

  private wakeFor(job: JobRecord): void {
    if (job.runAt.getTime() <= Date.now()) this.remote.poke(job.topic);
    if (!this.producer.isRunning || !this.registered.has(job.topic)) return;
    const delay = job.runAt.getTime() - Date.now();
    if (delay <= 0) this.producer.wake();
    // +1 ms: the timer's clock and Date.now() each count whole ms, out of phase, so a timer of
    // `delay` can fire when Date.now() still reads run_at - 1; the claim then finds the job not
    // yet due and the worker sleeps a whole poll interval (seen in 1 of 400 short wakes).
    else if (delay < this.settings.pollInterval) setTimeout(() => this.producer.wake(), delay + 1).unref();
  }

  private report(claimed: ClaimedJob, ending: Ending | Error): void {
    if (ending instanceof Error) this.events.emit('job:error', claimed, ending);
    else if ('err' in ending) this.events.emit(`job:${ending.outcome}`, ending.job, ending.err);
    else this.events.emit(`job:${ending.outcome}`, ending.job);
    // Someone may be waiting for it (waitFor): this process's own finishes need no signal.
    if (!(ending instanceof Error) && isFinal(ending.job.status)) this.waiters.poke();
    // A short snooze is due before the next poll: wake for it as for a job enqueued here.
    if (!(ending instanceof Error) && ending.outcome === 'snoozed') this.wakeFor(ending.job);
  }

  private assertOpen(): void {
    if (this.closed || this.closing) throw new JobsError('closed', 'The job engine is closed.');
  }
}

function isFinal(status: JobStatus): boolean {
  return (FINAL_STATUSES as readonly JobStatus[]).includes(status);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs: anything else cannot name a job (and PostgreSQL's uuid column would reject it). */
function assertJobId(id: string): void {
  if (typeof id !== 'string' || !UUID.test(id)) throw notFound(String(id));
}

function notFound(id: string): JobsError {
  return new JobsError('not_found', `Job "${id}" was not found.`);
}

/** Another job holds the key: a 409 naming it, on `field` (`unique_key`, or `jobs.<i>.unique_key`). */
function uniqueConflict(field: string, holder: JobRecord): JobsError {
  const message = `Job "${holder.id}" holds the unique key "${holder.uniqueKey}" (${holder.status}).`;
  return new JobsError('unique_conflict', field === 'unique_key' ? message : `${field}: ${message}`, {
    [field]: { code: 'conflict', message },
  });
}

function pageTooLarge(budget: number): JobsError {
  return new JobsError(
    'page_too_large',
    `This page's payloads take more than the ${bytes.format(budget)} one list page may carry: ask for fewer jobs (limit), ` +
      'or leave the payloads out (payload=false) and read each job by its id.',
  );
}

function resolveSettings(o: JobsOptions) {
  const positive = (name: string, value: number | undefined, fallback: number, max = MAX_TIMER) => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < 1 || v > max) {
      throw new JobsError('validation', `Option ${name} must be an integer from 1 to ${max}, got ${String(value)}.`);
    }
    return v;
  };
  const maxRetries = o.maxRetries ?? DEFAULT_MAX_RETRIES;
  validMaxRetries(maxRetries);
  const scheduleInterval = positive('scheduleInterval', o.scheduleInterval, DEFAULT_SCHEDULE_INTERVAL);
  const misfireGrace = positive('misfireGrace', o.misfireGrace, Math.max(DEFAULT_MISFIRE_GRACE, scheduleInterval));
  // A grace shorter than the time between two passes would count on-time ticks as missed.
  if (misfireGrace < scheduleInterval) {
    throw new JobsError('validation', `Option misfireGrace (${misfireGrace} ms) must be at least scheduleInterval (${scheduleInterval} ms).`);
  }
  return {
    maxPayloadSize: positive('maxPayloadSize', o.maxPayloadSize, DEFAULT_MAX_PAYLOAD_SIZE),
    maxListPayloadSize: positive('maxListPayloadSize', o.maxListPayloadSize, DEFAULT_MAX_LIST_PAYLOAD_SIZE, Number.MAX_SAFE_INTEGER),
    maxRetries,
    lockDuration: positive('lockDuration', o.lockDuration, DEFAULT_LOCK_DURATION),
    pollInterval: positive('pollInterval', o.pollInterval, DEFAULT_POLL_INTERVAL),
    workerPoolSize: positive('workerPoolSize', o.workerPoolSize, DEFAULT_WORKER_POOL_SIZE, 10_000),
    batchSize: positive('batchSize', o.batchSize, DEFAULT_BATCH_SIZE, 10_000),
    shutdownTimeout: positive('shutdownTimeout', o.shutdownTimeout, DEFAULT_SHUTDOWN_TIMEOUT),
    heartbeat: o.heartbeat === undefined ? undefined : validHeartbeat(o.heartbeat, 'Option heartbeat'),
    rescueInterval: positive('rescueInterval', o.rescueInterval, DEFAULT_RESCUE_INTERVAL),
    cleanupInterval: positive('cleanupInterval', o.cleanupInterval, DEFAULT_CLEANUP_INTERVAL),
    scheduleInterval,
    misfireGrace,
  };
}

function validListenUrl(listenUrl: string | false | undefined): string | false | undefined {
  if (listenUrl === undefined || listenUrl === false) return listenUrl;
  if (typeof listenUrl !== 'string' || !/^postgres(ql)?:\/\//i.test(listenUrl)) {
    throw new JobsError('validation', 'Option listenUrl must be a postgres:// URL or false.');
  }
  return listenUrl;
}

function validRetention(retention: Retention | undefined): Retention {
  const result: Retention = {};
  for (const status of ['completed', 'failed', 'cancelled'] as const) {
    const age = retention?.[status];
    if (age === undefined) continue;
    if (!Number.isFinite(age) || age < 0) {
      throw new JobsError('validation', `Option retention.${status} must be a number of ms ≥ 0, got ${String(age)}.`);
    }
    result[status] = age;
  }
  return result;
}

/** Opens (and migrates) the database, then returns the engine; call `start()` to work. */
export async function createJobs<T extends TopicSchemas = {}>(options: JobsOptions<T> = {}): Promise<Jobs<T>> {
  const logger = options.logger ?? defaultLogger();
  const store = await openStore(options.database ?? DEFAULT_DATABASE, {
    logger,
    synchronous: options.synchronous,
    busyTimeout: options.busyTimeout,
    poolSize: options.poolSize,
    listenUrl: validListenUrl(options.listenUrl),
  });
  try {
    const jobs = new Jobs<T>(store, options, logger);
    if (options.schedules !== undefined && !Array.isArray(options.schedules)) {
      throw new JobsError('validation', 'Option schedules must be an array of { name, cron, topic, … }.');
    }
    for (const { name, ...schedule } of options.schedules ?? []) await jobs.schedule(name, schedule);
    return jobs;
  } catch (err) {
    await store.close();
    throw err;
  }
}
