import { contract, type TopicPayload, type TopicSchemas, type Topics } from '@jobbase/contract';
import { initClient, type ClientInferResponseBody } from '@ts-rest/core';
import { createFetcher, type FetchFunction } from './fetcher.js';
import { JobsApiError } from './jobs-api-error.js';

type WorkerRoutes = (typeof contract)['workers'];
/** A job as a claim answers it: with its `lock_token` and `locked_until`. */
export type ClaimedJob = ClientInferResponseBody<WorkerRoutes['claim'], 200>['items'][number];

/** The handler's job: the claimed job, its payload typed by `defineTopics`, and the engine's controls. */
export interface RemoteJobContext<P = unknown> extends Omit<ClaimedJob, 'payload'> {
  payload: P;
  /** When the lock runs out: the claim's, then as each heartbeat (`extendLock`, `progress`, the worker's own) renews it. */
  readonly locked_until: string;
  /** Aborts when the job is cancelled, its lock is lost, or `stop()` gives up waiting for it. */
  signal: AbortSignal;
  /** Stores `value` (any JSON) as the job's `progress`; counts as a heartbeat. */
  progress(value: unknown): Promise<void>;
  /** Locks the job until `ms` from now; false when the lock was already lost (then `signal` aborts). */
  extendLock(ms: number): Promise<boolean>;
  /** `return job.snooze(ms)`: the job goes back to pending, due in `ms`, no attempt counted. */
  snooze(ms: number): RemoteSnoozed;
}

export interface RemoteSnoozed {
  readonly snoozeMs: number;
}

export type RemoteJobHandler<P = unknown> = (job: RemoteJobContext<P>) => unknown | Promise<unknown>;

/** Thrown by a handler: the job fails for good, no retry (as the engine's PermanentError). */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}
// The engine's marker: a PermanentError of either package is recognised by both.
const PERMANENT = Symbol.for('jobbase.PermanentError');
Object.defineProperty(PermanentError.prototype, PERMANENT, { value: true });

/** The reason `job.signal` aborts with when the job was cancelled. */
export class JobCancelledError extends Error {
  override readonly name = 'JobCancelledError';
}

export interface RemoteWorkerOptions<T extends TopicSchemas = {}, K extends string = string> {
  /** Where the server is, e.g. `http://127.0.0.1:8090`. */
  baseUrl: string;
  /** A worker token (`jobbase token create --role worker`) or a superuser's token. */
  token: string;
  /** Payload schemas from `defineTopics`: types `job.payload`, and a payload that does not fit fails for good. */
  topics?: Topics<T>;
  /** A handler per topic: the worker claims these topics. */
  handlers: { [P in K]: RemoteJobHandler<TopicPayload<T, P>> };
  /** Most handlers running at once (default 10). */
  concurrency?: number;
  /**
   * Jobs claimed beyond the free slots, to start the moment a slot frees instead of a round trip
   * later (default 0: never more than the free slots). Each waits locked in this worker, with its
   * lock renewed, so no other worker can take it meanwhile; `stop()` gives the waiting ones back
   * at once. For many short jobs, where the round trip is most of a job's time.
   */
  prefetch?: number;
  /** How long a claim waits for a job on the server, ms (default 20,000; at most 30,000). */
  wait?: number;
  /** How long `stop()` waits for running handlers before aborting them and releasing their jobs, ms (default 10,000). */
  shutdownTimeout?: number;
  /** Called with what went wrong: a request that failed (retried), or a refused token (the worker stops). */
  onError?: (err: Error) => void;
  fetch?: FetchFunction;
}

export interface RemoteWorker {
  /** Stops claiming, waits up to `shutdownTimeout` for running handlers, then aborts the rest and releases their jobs. */
  stop(): Promise<void>;
  /** Resolves when the worker has stopped: after `stop()`, or when the server refused its token (401/403). */
  readonly stopped: Promise<void>;
  /** Jobs whose handlers are running now. */
  readonly running: number;
}

type FinishItem =
  | { action: 'complete'; id: string; token: string; result?: unknown }
  | { action: 'fail'; id: string; token: string; error: string; permanent?: boolean }
  | { action: 'snooze'; id: string; token: string; ms: number }
  | { action: 'release'; id: string; token: string };

const MAX_BACKOFF = 5_000;
const MAX_FINISH_BATCH = 100;

/**
 * A worker that runs handlers in this process for jobs of a Jobbase server, over its HTTP API
 * (no database connection): it long-polls `POST /api/workers/claim`, heartbeats each running job
 * (which is how it learns of a cancel), and finishes jobs in batches (`POST /api/workers/finish`).
 * The server's engine decides retries, backoff and every job rule. When the server is away it
 * retries with backoff (up to 5 s); a refused token (401, 403) stops it.
 */
export function createRemoteWorker<T extends TopicSchemas = {}, K extends string = string>(options: RemoteWorkerOptions<T, K>): RemoteWorker {
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${String(options.concurrency)}.`);
  const prefetch = options.prefetch ?? 0;
  if (!Number.isInteger(prefetch) || prefetch < 0) throw new RangeError(`prefetch must be an integer ≥ 0, got ${String(options.prefetch)}.`);
  const topics = Object.keys(options.handlers);
  if (topics.length === 0) throw new RangeError('handlers must hold a handler for at least one topic.');
  const api = initClient(contract.workers, {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    // Uncompressed answers: a claim carries at most 100 jobs to a worker near the server, and
    // gzip cost more CPU than it saved on both ends (a claim of 10 jobs: the server's CPU
    // 5.6 → 3.6 ms, the worker's 3.6 → 2.3 ms). Other clients still get compression.
    baseHeaders: { 'accept-encoding': 'identity' },
    throwOnUnknownStatus: false,
    api: createFetcher(options.fetch, () => options.token),
  });
  const report = (err: Error) => options.onError?.(err);
  const inflight = new Set<Promise<void>>();
  const controllers = new Map<string, { controller: AbortController; job: ClaimedJob }>();
  /** Prefetched jobs waiting for a slot, oldest claim first, each already heartbeating. */
  const waiting: Held[] = [];
  let claiming = new AbortController();
  let running = true;
  let slotFreed: (() => void) | null = null;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));

  // ── Finishes, batched: the first goes at once, those arriving meanwhile in the next request ──
  let queue: { item: FinishItem; resolve: () => void }[] = [];
  let flushing: Promise<void> | null = null;
  const finish = (item: FinishItem) =>
    new Promise<void>((resolve) => {
      queue.push({ item, resolve });
      // At capacity, the claim loop is about to claim for the slot this frees: the finish rides
      // on that claim. Otherwise (a claim is long-polling, or the worker stops) it goes now.
      if (!slotFreed || !running) flushing ??= flush();
    });
  async function flush(): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, MAX_FINISH_BATCH);
        queue = queue.slice(batch.length);
        try {
          await withRetry(async () => {
            const res = await api.finish({ body: { items: batch.map((b) => b.item) } });
            if (res.status !== 200) throw JobsApiError.fromResponse(res.status, res.body, 'POST /api/workers/finish');
          }, true);
        } catch (err) {
          // Refused (a revoked token, a bad result): the jobs stay held until their locks run
          // out, and the server's rescue decides for them.
          report(err as Error);
        }
        for (const b of batch) b.resolve();
      }
    } finally {
      flushing = null;
    }
  }

  /** Retries a request while the server is away (network errors, 5xx), with backoff; others throw. */
  async function withRetry(call: () => Promise<void>, untilDone: boolean): Promise<void> {
    let delay = 100;
    for (;;) {
      try {
        return await call();
      } catch (err) {
        const status = err instanceof JobsApiError ? err.status : 0;
        if (status !== 0 && status < 500) throw err;
        report(err as Error);
        if (!untilDone && !running) throw err;
        await sleep(delay / 2 + Math.random() * (delay / 2));
        delay = Math.min(MAX_BACKOFF, delay * 2);
      }
    }
  }

  /**
   * `asked`: the handler's own call (progress, extendLock). A refusal of what it asked (a
   * progress too large, a bad duration: 400, 413) rejects to the handler, as the engine's does;
   * anything else (the server away, 5xx) is reported and the worker goes on.
   */
  async function heartbeat(job: ClaimedJob, body: { progress?: unknown; extend_ms?: number }, controller: AbortController, asked = false): Promise<boolean> {
    try {
      const res = await api.heartbeat({ params: { id: job.id }, body: { token: job.lock_token, ...body } });
      if (res.status === 409) {
        controller.abort(new Error(`The lock of job "${job.id}" was lost.`));
        return false;
      }
      if (res.status !== 200) throw JobsApiError.fromResponse(res.status, res.body, `POST /api/jobs/${job.id}/heartbeat`);
      job.locked_until = res.body.locked_until;
      if (res.body.cancel_requested && !controller.signal.aborted) controller.abort(new JobCancelledError(`Job "${job.id}" was cancelled.`));
      return true;
    } catch (err) {
      if (asked && err instanceof JobsApiError && (err.status === 400 || err.status === 413)) throw err;
      report(err as Error);
      return true;
    }
  }

  /** A claimed job, held from its claim on: its lock is renewed while it waits (prefetched) and while it runs. */
  function hold(job: ClaimedJob): Held {
    const controller = new AbortController();
    controllers.set(job.id, { controller, job });
    let lost = false;
    controller.signal.addEventListener('abort', () => {
      if (!(controller.signal.reason instanceof JobCancelledError) && !(controller.signal.reason instanceof ShutdownError)) lost = true;
    });
    // Heartbeats at a third of the lock left, so two may fail before it runs out.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const beat = () => {
      const left = Date.parse(job.locked_until) - Date.now();
      timer = setTimeout(async () => {
        await heartbeat(job, {}, controller);
        if (!controller.signal.aborted || controller.signal.reason instanceof JobCancelledError) beat();
      }, Math.max(50, left / 3));
    };
    beat();
    return {
      job,
      controller,
      lost: () => lost,
      end: () => {
        clearTimeout(timer);
        controllers.delete(job.id);
      },
    };
  }

  /** Gives a held job back unstarted (pending, due now, no attempt counted; `cancelled` if it was cancelled). */
  function giveBack(held: Held): void {
    held.end();
    if (!held.lost()) void finish({ action: 'release', id: held.job.id, token: held.job.lock_token });
  }

  /** Runs the handler in a slot; a prefetched job waiting for one takes it as it frees. */
  function start(held: Held): void {
    const done = run(held).finally(() => {
      inflight.delete(done);
      const next = running ? waiting.shift() : undefined;
      if (next) start(next);
      slotFreed?.();
      slotFreed = null;
    });
    inflight.add(done);
  }

  async function run(held: Held): Promise<void> {
    const { job, controller } = held;
    // Cancelled, or its lock lost, while it waited for a slot: it never starts.
    if (controller.signal.aborted) return giveBack(held);
    let snoozeMs: number | undefined;
    let payload: unknown = job.payload;
    const context: RemoteJobContext = {
      ...job,
      // Read through: heartbeats renew `job`, the object they write to.
      get locked_until() {
        return job.locked_until;
      },
      payload,
      signal: controller.signal,
      progress: async (value) => void (await heartbeat(job, { progress: value }, controller, true)),
      extendLock: (ms) => heartbeat(job, { extend_ms: ms }, controller, true),
      snooze: (ms) => {
        if (!Number.isInteger(ms) || ms < 0) throw new RangeError(`job.snooze(ms): ms must be an integer ≥ 0, got ${String(ms)}.`);
        snoozeMs = ms;
        return { snoozeMs: ms };
      },
    };
    const base = { id: job.id, token: job.lock_token };
    try {
      const schema = options.topics?.schemaOf(job.topic);
      if (schema) {
        const parsed = schema.safeParse(payload);
        if (!parsed.success) {
          const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`);
          throw new PermanentError(`Invalid payload for topic "${job.topic}": ${issues.join('; ')}`);
        }
        context.payload = payload = parsed.data;
      }
      const handler = (options.handlers as Record<string, RemoteJobHandler<unknown>>)[job.topic]!;
      const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason)));
      aborted.catch(() => undefined);
      const value = await Promise.race([Promise.resolve().then(() => handler(context)), aborted]);
      // The slot frees now; the finish goes out with the next batch (stop() waits for it).
      if (snoozeMs !== undefined) void finish({ action: 'snooze', ...base, ms: snoozeMs });
      else void finish({ action: 'complete', ...base, result: value ?? undefined });
    } catch (err) {
      if (held.lost()) return;
      if (controller.signal.reason instanceof ShutdownError) void finish({ action: 'release', ...base });
      else {
        const error = err instanceof Error ? err.message || err.name : String(err);
        const permanent = typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[PERMANENT] === true;
        void finish({ action: 'fail', ...base, error: error || 'Error', permanent });
      }
    } finally {
      held.end();
    }
  }

  async function loop(): Promise<void> {
    let delay = 100;
    while (running) {
      // The free slots, and as many more as may wait prefetched.
      const free = concurrency - inflight.size + prefetch - waiting.length;
      if (free <= 0) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
        // Handlers finishing together free their slots together: one claim for all of them.
        await nextMacrotask();
        continue;
      }
      let jobs: ClaimedJob[];
      // Finished jobs waiting to be sent go with this claim (unless a finish request is out).
      const carried = flushing ? [] : queue.splice(0, MAX_FINISH_BATCH);
      try {
        const res = await api.claim({
          body: {
            topics,
            limit: Math.min(free, 100),
            wait: carried.length > 0 ? 0 : (options.wait ?? 20_000),
            ...(carried.length > 0 ? { finish: carried.map((c) => c.item) } : {}),
          },
          fetchOptions: { signal: claiming.signal },
        });
        if (res.status !== 200) throw JobsApiError.fromResponse(res.status, res.body, 'POST /api/workers/claim');
        for (const c of carried) c.resolve();
        jobs = res.body.items;
        delay = 100;
      } catch (err) {
        // Not sent, or no answer: the finishes go on their own (a finish is safe to repeat).
        if (carried.length > 0) {
          queue.unshift(...carried);
          flushing ??= flush();
        }
        if (!running) break;
        const status = err instanceof JobsApiError ? err.status : 0;
        report(err as Error);
        if (status === 401 || status === 403) {
          running = false;
          break;
        }
        // The server is away or failing: try again later, backing off.
        await sleep(delay / 2 + Math.random() * (delay / 2));
        delay = Math.min(MAX_BACKOFF, delay * 2);
        continue;
      }
      // In claim order: the oldest waiting first into the free slots.
      waiting.push(...jobs.map(hold));
      while (inflight.size < concurrency && waiting.length > 0) start(waiting.shift()!);
    }
  }

  let stopping: Promise<void> | null = null;
  const looping = loop();
  void looping.then(async () => {
    if (!stopping) {
      // Stopped by a refused token: prefetched jobs are left to their locks (a release would be
      // refused too); running handlers end.
      for (const held of waiting.splice(0)) held.end();
      await Promise.allSettled([...inflight]);
      resolveStopped();
    }
  });

  return {
    get running() {
      return inflight.size;
    },
    stopped,
    stop() {
      stopping ??= (async () => {
        running = false;
        claiming.abort();
        slotFreed?.();
        await looping;
        // Prefetched jobs that never started go back at once.
        for (const held of waiting.splice(0)) giveBack(held);
        const all = Promise.allSettled([...inflight]);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = await Promise.race([all.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), options.shutdownTimeout ?? 10_000)))]);
        clearTimeout(timer);
        if (late) for (const { controller } of controllers.values()) controller.abort(new ShutdownError('The worker is shutting down.'));
        await Promise.allSettled([...inflight]);
        if (queue.length > 0) flushing ??= flush();
        while (flushing) await flushing;
        claiming = new AbortController();
        resolveStopped();
      })();
      return stopping;
    },
  };
}

interface Held {
  job: ClaimedJob;
  controller: AbortController;
  /** True once the lock was lost (not for a cancel or a shutdown). */
  lost(): boolean;
  /** Stops its heartbeats. */
  end(): void;
}

class ShutdownError extends Error {
  override readonly name = 'ShutdownError';
}

/**
 * After the promise callbacks already queued: `setImmediate` where there is one (Node, Bun,
 * Deno), not `setTimeout(0)`, which waits at least a millisecond (at concurrency 10 a claim
 * cycle of no-op jobs takes a few: that millisecond cost a seventh of the drain rate).
 */
function nextMacrotask(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(() => resolve()) : setTimeout(resolve, 0)));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
