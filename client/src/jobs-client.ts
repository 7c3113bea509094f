import { schedulesClient, type SchedulesClient } from './schedules-client.js';
import {
  contract,
  type BulkActionBody,
  type BulkResult,
  type JobEvent,
  type Contract,
  type EnqueuePayloadArgs,
  type PayloadProblems,
  type TopicPayloadInput,
  type TopicSchemas,
  type Topics,
} from '@jobbase/contract';
import {
  initClient,
  type ApiFetcher,
  type AppRoute,
  type ClientInferRequest,
  type ClientInferResponseBody,
  type InitClientReturn,
} from '@ts-rest/core';
import { followEvents, type FollowEventsOptions } from './event-stream.js';
import { createFetcher, type FetchFunction } from './fetcher.js';
import { JobsApiError } from './jobs-api-error.js';

type JobRoutes = Contract['jobs'];
type AuthRoute = Contract['auth']['authWithPassword'];

/** A job as the API returns it (snake_case, times as ISO strings). */
export type Job = ClientInferResponseBody<JobRoutes['get'], 200>;
/**
 * A job as an enqueue answers it: with `enqueued`, `created` when this call stored it,
 * `existing` or `replaced` when another job held the unique key and this is that job.
 */
export type EnqueuedJob = ClientInferResponseBody<JobRoutes['enqueue'], 200>;
export type JobPage = ClientInferResponseBody<JobRoutes['list'], 200>;
export type JobStats = ClientInferResponseBody<JobRoutes['stats'], 200>;
export type AuthResult = ClientInferResponseBody<AuthRoute, 200>;
/** A topic's figures and settings (`GET /api/topics/{topic}`), snake_case. */
export type TopicInfo = ClientInferResponseBody<Contract['topics']['get'], 200>;

/** A remote worker's token as listed: never its secret. */
export type WorkerToken = ClientInferResponseBody<Contract['workerTokens']['list'], 200>['items'][number];
/** A token just made, with its secret (`token`, `jbw_…`): the only answer that carries it. */
export type CreatedWorkerToken = ClientInferResponseBody<Contract['workerTokens']['create'], 201>;
/** `createWorkerToken`: a name to find it by, and the topics it may claim (every topic when left out). */
export type WorkerTokenOptions = ClientInferRequest<Contract['workerTokens']['create']>['body'];

/** `updateTopic`: a field left out stays as it is; null clears it. */
export interface TopicUpdate {
  /** Most jobs of the topic processing at once across every process. */
  maxRunning?: number | null;
  /** At most `max` starts in any window of `perMs` ms, across every process. */
  rateLimit?: { max: number; perMs: number } | null;
}
/** `{ topic?, status?, priority?, sort?, limit?, offset?, payload? }`: the list route's query. */
export type ListOptions = NonNullable<ClientInferRequest<JobRoutes['list']>['query']>;
type EnqueueBody = ClientInferRequest<JobRoutes['enqueue']>['body'];

/** The library's options (SPEC §2), camelCase; sent as the body's snake_case fields. */
export interface EnqueueOptions {
  /** When the job is due; now when omitted. A Date or an ISO 8601 string. */
  runAt?: Date | string;
  /** Retries after the first execution (0: run once); the server's default for the topic when omitted. */
  maxRetries?: EnqueueBody['max_retries'];
  /** -32768 to 32767; lower runs first among due jobs. The server's default for the topic (else 0) when omitted. */
  priority?: EnqueueBody['priority'];
  /** While a job with this key is in one of its unique states, no other job with the key is stored. */
  uniqueKey?: EnqueueBody['unique_key'];
  /** The statuses in which the job holds its key; `['pending', 'processing']` when omitted. */
  uniqueStates?: EnqueueBody['unique_states'];
  /** Another job holds the key: `existing` (default) answers it, `replace` updates it if pending, `error` throws a 409. */
  onConflict?: EnqueueBody['on_conflict'];
}

/** One job of `enqueueMany`, with the library's option names. */
export interface EnqueueManyItem extends EnqueueOptions {
  topic: string;
  payload?: EnqueueBody['payload'];
}

export interface JobsClientOptions<T extends TopicSchemas = {}> {
  /** Where the server is, e.g. `http://127.0.0.1:8090`. */
  baseUrl: string;
  /**
   * Payload schemas from `defineTopics`: `enqueue` of a declared topic is type-checked, and its
   * payload validated here before it is sent (a JobsApiError 400, as the server would answer).
   */
  topics?: Topics<T>;
  /** A superuser token to start with; `authWithPassword` sets one too. */
  token?: string | null;
  /** The fetch to use; the global one by default. */
  fetch?: FetchFunction;
}

interface RawClientArgs {
  baseUrl: string;
  api: ApiFetcher;
}

/** ts-rest's client: every route, answering `{ status, body }` for any status instead of throwing. */
export type RawJobsClient = InitClientReturn<Contract, RawClientArgs>;

/** `T`: the declared topics' payload schemas (`defineTopics`); other topics take any payload. */
export interface JobsClient<T extends TopicSchemas = {}> {
  /** Signs in as a superuser and keeps the token for later calls. */
  authWithPassword(email: string, password: string): Promise<AuthResult>;
  /**
   * Exchanges the current token for a new one with a full lifetime, which replaces it for later
   * calls (PocketBase's `authRefresh`). Throws a 401 JobsApiError, keeping the token, when the
   * token is missing, expired or revoked: sign in again then.
   */
  authRefresh(): Promise<AuthResult>;
  /** Replaces the token (null: send none). */
  setToken(token: string | null): void;
  /** The token sent with each call, if any. */
  readonly token: string | null;
  enqueue<K extends string>(topic: K, ...payload: EnqueuePayloadArgs<T, K>): Promise<EnqueuedJob>;
  enqueueAt<K extends string>(topic: K, payload: TopicPayloadInput<T, K>, runAt: Date | string): Promise<EnqueuedJob>;
  /** With a `uniqueKey` another job holds: that job (`enqueued` says so), or a 409 JobsApiError, as `onConflict` says. */
  enqueueWithOptions<K extends string>(topic: K, payload: TopicPayloadInput<T, K>, options?: EnqueueOptions): Promise<EnqueuedJob>;
  /** Up to 1,000 jobs in one request and one transaction: all stored, or none (a unique-key conflict refuses them all). */
  enqueueMany(items: readonly EnqueueManyItem[]): Promise<EnqueuedJob[]>;
  list(options?: ListOptions): Promise<JobPage>;
  get(id: string): Promise<Job>;
  stats(): Promise<JobStats>;
  requeue(id: string): Promise<Job>;
  delete(id: string): Promise<void>;
  /** Requeues the failed and cancelled jobs the filters take (`dry_run: true` only counts them); see `POST /api/jobs/requeue`. */
  requeueMatching(filter?: BulkActionBody): Promise<BulkResult>;
  /** Deletes the pending, failed and cancelled jobs the filters take (`dry_run: true` only counts them). */
  deleteMatching(filter?: BulkActionBody): Promise<BulkResult>;
  /** Cancels the pending and processing jobs the filters take (`dry_run: true` only counts them); see `POST /api/jobs/cancel`. */
  cancelMatching(filter?: BulkActionBody): Promise<BulkResult>;
  /**
   * Follows `GET /api/jobs/events`: `onEvents` gets each chunk's events together. Resolves when
   * the stream ends (the server closed, or `options.signal` aborted); reconnect with the last
   * event's id as `lastEventId` to miss nothing the server still keeps.
   */
  followEvents(onEvents: (events: JobEvent[]) => void, options?: FollowEventsOptions): Promise<void>;
  /** Every topic with jobs, a registered handler or settings, by topic. */
  listTopics(): Promise<TopicInfo[]>;
  getTopic(topic: string): Promise<TopicInfo>;
  /** Sets the topic's `maxRunning` and `rateLimit`; every process applies them within a second. */
  updateTopic(topic: string, update: TopicUpdate): Promise<TopicInfo>;
  /** No process claims the topic's jobs from at most a second after the answer. */
  pauseTopic(topic: string): Promise<TopicInfo>;
  resumeTopic(topic: string): Promise<TopicInfo>;
  /** Every remote worker's token, oldest first (superusers only; never a secret). */
  listWorkerTokens(): Promise<WorkerToken[]>;
  /**
   * A token a remote worker may claim, heartbeat and finish jobs of `topics` with (every topic
   * without them). Its secret, `token`, is in this answer only: the server keeps its hash.
   */
  createWorkerToken(options?: WorkerTokenOptions): Promise<CreatedWorkerToken>;
  /** Revokes the token with this id: its next request is refused. A 404 JobsApiError for an unknown id. */
  revokeWorkerToken(id: string): Promise<void>;
  /** Recurring schedules: list, get, create, update, delete, pause, resume, trigger. */
  readonly schedules: SchedulesClient;
  /**
   * A pending job is cancelled at once; a processing one is marked (`cancel_requested`) and its
   * handler's signal aborts within a second. A 409 JobsApiError when the job is already finished.
   */
  cancel(id: string): Promise<Job>;
  /**
   * The job as soon as it is completed, failed or cancelled, or as it is when `timeout` ms
   * (0 to 60,000; default 30,000) have passed: check `status`. One long-poll request.
   */
  waitFor(id: string, options?: { timeout?: number }): Promise<Job>;
  /** The same calls, one level down: nothing thrown for error statuses. Sends the token too. */
  readonly raw: RawJobsClient;
}

/**
 * A client for a Jobbase server, with the library's method names and arguments. Every method
 * resolves to the success body and throws a JobsApiError otherwise.
 */
export function createJobsClient<T extends TopicSchemas = {}>(options: JobsClientOptions<T>): JobsClient<T> {
  let token = options.token ?? null;
  // ts-rest appends the route's path as is: a trailing slash would double up.
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const raw: RawJobsClient = initClient(contract, { baseUrl, api: createFetcher(options.fetch, () => token) });
  const jobs = contract.jobs;

  const { topics } = options;

  const enqueueWithOptions = async (topic: string, payload: unknown, options: EnqueueOptions = {}) => {
    refuseInvalidPayload(topics, topic, payload);
    return expectStatus(await raw.jobs.enqueue({ body: { topic, payload, ...wireOptions(options) } }), 200, jobs.enqueue);
  };

  return {
    async authWithPassword(email, password) {
      const route = contract.auth.authWithPassword;
      const result = expectStatus(await raw.auth.authWithPassword({ body: { identity: email, password } }), 200, route);
      token = result.token;
      return result;
    },
    async authRefresh() {
      const result = expectStatus(await raw.auth.authRefresh(), 200, contract.auth.authRefresh);
      token = result.token;
      return result;
    },
    setToken(next) {
      token = next;
    },
    get token() {
      return token;
    },
    enqueue: (topic, ...[payload]) => enqueueWithOptions(topic, payload),
    enqueueAt: (topic, payload, runAt) => enqueueWithOptions(topic, payload, { runAt }),
    enqueueWithOptions,
    enqueueMany: async (items) => {
      refuseInvalidBatch(topics, items);
      const body = { jobs: items.map(({ topic, payload, ...options }) => ({ topic, payload, ...wireOptions(options) })) };
      return expectStatus(await raw.jobs.enqueueBatch({ body }), 200, jobs.enqueueBatch).items;
    },
    list: async (query = {}) => expectStatus(await raw.jobs.list({ query }), 200, jobs.list),
    get: async (id) => expectStatus(await raw.jobs.get({ params: { id: pathId(id) } }), 200, jobs.get),
    stats: async () => expectStatus(await raw.jobs.stats(), 200, jobs.stats),
    requeue: async (id) => expectStatus(await raw.jobs.requeue({ params: { id: pathId(id) } }), 200, jobs.requeue),
    delete: async (id) => {
      expectStatus(await raw.jobs.delete({ params: { id: pathId(id) } }), 204, jobs.delete);
    },
    requeueMatching: async (filter = {}) =>
      expectStatus(await raw.operations.requeueMatching({ body: filter }), 200, contract.operations.requeueMatching),
    deleteMatching: async (filter = {}) =>
      expectStatus(await raw.operations.deleteMatching({ body: filter }), 200, contract.operations.deleteMatching),
    cancelMatching: async (filter = {}) =>
      expectStatus(await raw.operations.cancelMatching({ body: filter }), 200, contract.operations.cancelMatching),
    followEvents: (onEvents, followOptions) =>
      followEvents(
        options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
        baseUrl + contract.operations.events.path,
        token,
        onEvents,
        followOptions,
      ),
    listTopics: async () => expectStatus(await raw.topics.list(), 200, contract.topics.list).items,
    getTopic: async (topic) => expectStatus(await raw.topics.get({ params: { topic: pathTopic(topic) } }), 200, contract.topics.get),
    updateTopic: async (topic, update) => {
      const body = {
        max_running: update.maxRunning,
        rate_limit: update.rateLimit && { max: update.rateLimit.max, per_ms: update.rateLimit.perMs },
      };
      return expectStatus(await raw.topics.update({ params: { topic: pathTopic(topic) }, body }), 200, contract.topics.update);
    },
    pauseTopic: async (topic) => expectStatus(await raw.topics.pause({ params: { topic: pathTopic(topic) } }), 200, contract.topics.pause),
    resumeTopic: async (topic) => expectStatus(await raw.topics.resume({ params: { topic: pathTopic(topic) } }), 200, contract.topics.resume),
    listWorkerTokens: async () => expectStatus(await raw.workerTokens.list(), 200, contract.workerTokens.list).items,
    createWorkerToken: async (body = {}) => expectStatus(await raw.workerTokens.create({ body }), 201, contract.workerTokens.create),
    revokeWorkerToken: async (id) => {
      expectStatus(await raw.workerTokens.revoke({ params: { id: pathSegment(id, 'A worker token id') } }), 204, contract.workerTokens.revoke);
    },
    schedules: schedulesClient(raw, expectStatus),
    cancel: async (id) => expectStatus(await raw.runningJobs.cancel({ params: { id: pathId(id) } }), 200, contract.runningJobs.cancel),
    waitFor: async (id, { timeout } = {}) =>
      expectStatus(await raw.runningJobs.wait({ params: { id: pathId(id) }, query: { timeout } }), 200, contract.runningJobs.wait),
    raw,
  };
}

/**
 * A declared topic's payload checked before it is sent, refused as the server would refuse it:
 * a 400 whose `data` names each field (`payload.to`, or `jobs.<i>.payload.to` in a batch).
 */
function refuseInvalidPayload(topics: Topics | undefined, topic: string, payload: unknown): void {
  const rejection = topics?.checkPayload(topic, payload);
  if (rejection) throw new JobsApiError(400, rejection.message, { data: rejection.fields });
}

function refuseInvalidBatch(topics: Topics | undefined, items: readonly EnqueueManyItem[]): void {
  if (!topics) return;
  const data: PayloadProblems = {};
  items.forEach(({ topic, payload }, index) => {
    for (const [field, problem] of Object.entries(topics.checkPayload(topic, payload)?.fields ?? {})) {
      data[`jobs.${index}.${field}`] = problem;
    }
  });
  const [first] = Object.entries(data);
  if (first) throw new JobsApiError(400, `Invalid ${first[0]}: ${first[1].message}`, { data });
}

/** The body of the expected answer; any other answer as a JobsApiError. */
function expectStatus<R extends { status: number; body: unknown }, S extends R['status']>(
  response: R,
  status: S,
  route: AppRoute,
): Extract<R, { status: S }>['body'] {
  if (response.status === status) return response.body;
  const request = `${route.method} ${route.path}`;
  if (response.status >= 200 && response.status < 300) {
    throw new JobsApiError(response.status, `${request} answered ${response.status}, expected ${status}.`, {
      body: response.body,
    });
  }
  throw JobsApiError.fromResponse(response.status, response.body, request);
}

/** The options as the body's fields; those not given stay out. */
function wireOptions({ runAt, maxRetries, priority, uniqueKey, uniqueStates, onConflict }: EnqueueOptions) {
  return {
    run_at: wireTime(runAt),
    max_retries: maxRetries,
    priority,
    unique_key: uniqueKey,
    unique_states: uniqueStates,
    on_conflict: onConflict,
  };
}

/**
 * A Date as ISO text. An invalid Date goes as is ("Invalid Date"), so the server refuses it
 * with the same 400 and field error as any other bad `run_at`.
 */
function wireTime(time: Date | string | undefined): string | undefined {
  if (!(time instanceof Date)) return time;
  return Number.isNaN(time.getTime()) ? String(time) : time.toISOString();
}

/**
 * ts-rest puts path parameters in unencoded and drops empty ones, so `get('')` would call
 * `GET /api/jobs` (the list) and `get('a/b')` another path. Encoded, every id names one job.
 */
function pathId(id: string): string {
  if (typeof id !== 'string' || id === '') throw new TypeError('A job id must be a non-empty string.');
  return encodeURIComponent(id);
}

/** A topic name as one path segment, as `pathId` does for ids. */
function pathTopic(topic: string): string {
  return pathSegment(topic, 'A topic');
}

/** Any name or id as one path segment, as `pathId` does for job ids; `what` names it in the error. */
function pathSegment(value: string, what: string): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${what} must be a non-empty string.`);
  return encodeURIComponent(value);
}
