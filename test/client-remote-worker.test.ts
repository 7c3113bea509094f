import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createRemoteWorker,
  defineTopics,
  JobCancelledError,
  JobsApiError,
  PermanentError,
  type FetchFunction,
  type RemoteWorker,
  type RemoteWorkerOptions,
  type TopicSchemas,
} from '@jobbase/client';
import { WorkerTokens } from '@jobbase/server';
import { AppFixture, api, type RunningApp } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { deferred, waitFor } from './helpers/wait.js';

interface Exchange {
  path: string;
  request: Headers;
  body: string;
  /** The answer's status and `content-encoding`; undefined while (or if never) answered. */
  status?: number;
  encoding?: string | null;
  aborted?: boolean;
}

/** The global fetch, recording each request's headers and its answer's encoding. */
function recordingFetch(): { fetch: FetchFunction; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  return {
    exchanges,
    fetch: async (input, init) => {
      const exchange: Exchange = { path: new URL(input).pathname, request: new Headers(init.headers), body: typeof init.body === 'string' ? init.body : '' };
      exchanges.push(exchange);
      try {
        const res = await fetch(input, init);
        exchange.status = res.status;
        exchange.encoding = res.headers.get('content-encoding');
        return res;
      } catch (err) {
        exchange.aborted = (err as Error).name === 'AbortError';
        throw err;
      }
    },
  };
}

const CLAIM = '/api/workers/claim';

/** `promise`, or a failure naming `what` once `ms` have passed: a broken stop fails fast instead of hanging the test. */
async function within<T>(what: string, promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe.each(dialects())('createRemoteWorker on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  const workers: RemoteWorker[] = [];
  /** Handlers a test holds open: let go before the workers stop, so no stop waits out its timeout. */
  const holds: (() => void)[] = [];
  beforeEach(() => fx.setup());
  afterEach(async () => {
    for (const release of holds.splice(0)) release();
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await fx.teardown();
  });

  /** A signed-in server and a worker token for `topics`, as a real worker would hold. */
  async function serve(topics: string[], options: Parameters<AppFixture['start']>[0] = {}): Promise<RunningApp & { token: string; worker: string }> {
    const running = await fx.startSignedIn(options);
    const { token: worker } = await new WorkerTokens(running.app.jobs.store).create({ name: 'sdk', topics });
    return { ...running, worker };
  }

  /** Stopped after the test. A short long poll and shutdown, so a stop never waits long. */
  function start<T extends TopicSchemas = {}, K extends string = string>(options: RemoteWorkerOptions<T, K>): RemoteWorker {
    const worker = createRemoteWorker({ wait: 2_000, shutdownTimeout: 1_000, ...options });
    workers.push(worker);
    return worker;
  }

  function held() {
    const gate = deferred();
    holds.push(gate.resolve);
    return gate;
  }

  const enqueue = async (url: string, token: string, json: Record<string, unknown>): Promise<string> => {
    const res = await api(url, '/api/jobs/enqueue', { token, json });
    expect(res.status, res.text).toBe(200);
    return res.body.id as string;
  };
  const jobOf = async (url: string, token: string, id: string) => (await api(url, `/api/jobs/${id}`, { token })).body;
  const settled = (url: string, token: string, id: string, status: string) =>
    waitFor(`job ${id} ${status}`, async () => {
      const job = await jobOf(url, token, id);
      return job.status === status ? job : null;
    });

  it('stores what a handler returns as the result; a topic without a handler is not claimed', async () => {
    // The token may claim both topics: only the handlers keep the worker from `other`.
    const { url, token, worker } = await serve(['img', 'other']);
    const other = await enqueue(url, token, { topic: 'other' });
    const img = await enqueue(url, token, { topic: 'img', payload: { width: 640 } });
    start({ baseUrl: url, token: worker, handlers: { img: (job) => ({ thumbnail: (job.payload as { width: number }).width / 4, id: job.id }) } });
    const done = await settled(url, token, img, 'completed');
    expect(done).toMatchObject({ result: { thumbnail: 160, id: img }, retries: 0, last_error: null });
    // Enqueued first, so a claim of every topic would have taken it before `img`.
    expect(await jobOf(url, token, other)).toMatchObject({ status: 'pending', retries: 0 });
  });

  it('defineTopics: a payload that fits reaches the handler parsed; one that does not fails for good, naming the field', async () => {
    const { url, token, worker } = await serve(['resize']);
    const topics = defineTopics({ resize: z.object({ width: z.number().int().positive(), fit: z.string().default('cover') }) });
    const seen: unknown[] = [];
    start({
      baseUrl: url,
      token: worker,
      topics,
      handlers: {
        resize: (job) => {
          seen.push(job.payload);
          return job.payload.width / 4;
        },
      },
    });
    // The server knows no schema: both are stored as given, and only the worker checks them.
    const good = await enqueue(url, token, { topic: 'resize', payload: { width: 800 } });
    const bad = await enqueue(url, token, { topic: 'resize', payload: { width: 'wide' }, max_retries: 5 });
    expect((await settled(url, token, good, 'completed')).result).toBe(200);
    // The default filled in: the handler got the schema's output, not the stored JSON.
    expect(seen).toEqual([{ width: 800, fit: 'cover' }]);
    const failed = await settled(url, token, bad, 'failed');
    expect(failed.retries).toBe(0);
    expect(failed.last_error).toMatch(/^Invalid payload for topic "resize": width: /);
  });

  it('job.progress is stored while the handler runs; extendLock moves the lock, and once the lock is lost answers false and aborts the signal', async () => {
    // The rescuer looks often: a lock that ran out is taken away within a fraction of a second.
    const { url, token, app, worker } = await serve(['long'], { rescueInterval: 100 });
    app.jobs.start();
    const { fetch, exchanges } = recordingFetch();
    const stage = { progressed: held(), extended: held(), expired: held(), lost: held() };
    const seen: { extended?: boolean; lockedUntil?: number; lostAnswer?: boolean; abortedAfterLoss?: boolean; reason?: unknown } = {};
    const running = held();
    const w = start({
      baseUrl: url,
      token: worker,
      fetch,
      handlers: {
        long: async (job) => {
          await job.progress({ step: 'half', pct: 50 });
          running.resolve();
          await stage.progressed.promise;
          seen.extended = await job.extendLock(600_000);
          seen.lockedUntil = Date.parse(job.locked_until);
          stage.extended.resolve();
          // A lock that runs out at once: the rescuer takes the job (no retries left: failed).
          await job.extendLock(1);
          await stage.expired.promise;
          seen.lostAnswer = await job.extendLock(60_000);
          seen.abortedAfterLoss = job.signal.aborted;
          seen.reason = job.signal.reason;
          stage.lost.resolve();
          return 'too late';
        },
      },
    });
    const id = await enqueue(url, token, { topic: 'long', max_retries: 0 });
    await running.promise;
    expect(await jobOf(url, token, id)).toMatchObject({ status: 'processing', progress: { step: 'half', pct: 50 } });
    // The API does not show a lock; the store says whether it runs out within 400 s.
    const lockedWithin400s = async () =>
      (await app.jobs.store.jobGetExpired({ before: new Date(Date.now() + 400_000), limit: 10 })).some((j) => j.id === id);
    expect(await lockedWithin400s()).toBe(true);

    const asked = Date.now();
    stage.progressed.resolve();
    await stage.extended.promise;
    expect(seen.extended).toBe(true);
    // The claim's lock was the engine's default (5 minutes); the heartbeat's answer is the new one.
    expect(seen.lockedUntil).toBeGreaterThanOrEqual(asked + 600_000 - 1_000);
    expect(seen.lockedUntil).toBeLessThanOrEqual(Date.now() + 600_000 + 1_000);
    expect(await lockedWithin400s()).toBe(false);

    const rescued = await settled(url, token, id, 'failed');
    expect(rescued.last_error).toMatch(/Lock expired/);
    stage.expired.resolve();
    await stage.lost.promise;
    expect(seen.lostAnswer).toBe(false);
    expect(seen.abortedAfterLoss).toBe(true);
    expect((seen.reason as Error).message).toMatch(/lock .* was lost/);
    // The worker writes nothing for a job it no longer holds: the rescue's outcome stays.
    await waitFor('the worker idle', () => w.running === 0);
    expect(exchanges.filter((e) => e.body.includes('"action"'))).toEqual([]);
    expect(await jobOf(url, token, id)).toMatchObject({ status: 'failed', result: null, last_error: rescued.last_error });
  });

  it('a progress or lock extension the server refuses rejects to the handler, as the engine’s does', async () => {
    const { url, token, worker } = await serve(['big']);
    const refusals: unknown[] = [];
    start({
      baseUrl: url,
      token: worker,
      handlers: {
        big: async (job) => {
          // Over the 64 KiB a progress may take, then a negative duration.
          for (const ask of [() => job.progress({ text: 'x'.repeat(70_000) }), () => job.extendLock(-1)]) {
            try {
              await ask();
              refusals.push('accepted');
            } catch (err) {
              refusals.push(err instanceof JobsApiError ? err.status : String(err));
            }
          }
          return 'done';
        },
      },
    });
    const id = await enqueue(url, token, { topic: 'big' });
    expect((await settled(url, token, id, 'completed')).progress).toBeNull();
    expect(refusals).toEqual([400, 400]);
  });

  it('how a handler ends decides: a snooze puts the job off, an Error is retried by the engine’s backoff, a PermanentError fails it at once', async () => {
    // A backoff longer than the test: a retried job is not claimed again meanwhile.
    const { url, token, worker } = await serve(['later', 'flaky', 'doomed'], { backoff: { base: 60_000, max: 60_000 } });
    const runs: string[] = [];
    start({
      baseUrl: url,
      token: worker,
      handlers: {
        later: (job) => {
          runs.push(job.id);
          return job.snooze(60_000);
        },
        flaky: () => {
          throw new Error('upstream timed out');
        },
        doomed: async () => {
          throw new PermanentError('No such account: retrying cannot help.');
        },
      },
    });
    const before = Date.now();
    const later = await enqueue(url, token, { topic: 'later' });
    const flaky = await enqueue(url, token, { topic: 'flaky', max_retries: 3 });
    const doomed = await enqueue(url, token, { topic: 'doomed', max_retries: 3 });

    const snoozed = await waitFor('the job snoozed', async () => {
      const job = await jobOf(url, token, later);
      return job.snoozes === 1 ? job : null;
    });
    expect(snoozed).toMatchObject({ status: 'pending', retries: 0, last_error: null, result: null });
    expect(Date.parse(snoozed.run_at)).toBeGreaterThanOrEqual(before + 60_000 - 1_000);
    expect(Date.parse(snoozed.run_at)).toBeLessThanOrEqual(Date.now() + 60_000 + 1_000);
    expect(runs).toEqual([later]);

    const retried = await waitFor('the flaky job retried', async () => {
      const job = await jobOf(url, token, flaky);
      return job.retries === 1 ? job : null;
    });
    expect(retried).toMatchObject({ status: 'pending', last_error: 'upstream timed out' });
    // The topic's backoff, 30–60 s with this base and jitter.
    expect(Date.parse(retried.run_at)).toBeGreaterThan(before + 25_000);

    const failed = await settled(url, token, doomed, 'failed');
    expect(failed).toMatchObject({ retries: 0, last_error: 'No such account: retrying cannot help.' });
  });

  it('a cancel aborts job.signal with a JobCancelledError within seconds, and the job ends cancelled', async () => {
    // Heartbeats are how a cancel reaches the worker: a short claim lock makes them frequent.
    const { url, token, worker } = await serve(['long'], { heartbeat: 300 });
    const running = held();
    let reason: unknown;
    start({
      baseUrl: url,
      token: worker,
      handlers: {
        long: async (job) => {
          running.resolve();
          await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
          reason = job.signal.reason;
          throw reason;
        },
      },
    });
    const id = await enqueue(url, token, { topic: 'long', max_retries: 3 });
    await running.promise;
    expect((await api(url, `/api/jobs/${id}/cancel`, { token, method: 'POST' })).status).toBe(200);
    await waitFor('the handler aborted', () => reason, { timeout: 5_000 });
    expect(reason).toBeInstanceOf(JobCancelledError);
    expect(await settled(url, token, id, 'cancelled')).toMatchObject({ retries: 0, cancel_requested: true });
  });

  it('stop() waits for running handlers, sends their finishes, and claims no more', async () => {
    const { url, token, worker } = await serve(['slow']);
    const { fetch, exchanges } = recordingFetch();
    const gate = held();
    const running = held();
    const w = start({
      baseUrl: url,
      token: worker,
      fetch,
      // Longer than the test: only the handler's end may end the stop.
      shutdownTimeout: 30_000,
      handlers: {
        slow: async () => {
          running.resolve();
          await gate.promise;
          return 'finished';
        },
      },
    });
    const id = await enqueue(url, token, { topic: 'slow' });
    await running.promise;
    await waitFor('a claim waiting for the free slots', () => exchanges.some((e) => e.path === CLAIM && e.status === undefined));
    let stoppedYet = false;
    void w.stopped.then(() => (stoppedYet = true));
    const claimsBefore = exchanges.filter((e) => e.path === CLAIM).length;
    const stopping = w.stop();
    // The long poll for the free slots is given up at once...
    await waitFor('the waiting claim aborted', () => exchanges.some((e) => e.path === CLAIM && e.aborted));
    await new Promise((resolve) => setImmediate(resolve));
    // ...but the running handler is waited for.
    expect(stoppedYet).toBe(false);
    expect(w.running).toBe(1);
    gate.resolve();
    await within('stop()', stopping);
    // The finish was answered before stop() resolved.
    expect(exchanges.find((e) => e.path === '/api/workers/finish')?.status).toBe(200);
    await w.stopped;
    expect(await jobOf(url, token, id)).toMatchObject({ status: 'completed', result: 'finished' });
    expect(exchanges.filter((e) => e.path === CLAIM)).toHaveLength(claimsBefore);
    // The claim loop has ended: a job due now stays pending.
    const after = await enqueue(url, token, { topic: 'slow' });
    expect(exchanges.filter((e) => e.path === CLAIM)).toHaveLength(claimsBefore);
    expect((await jobOf(url, token, after)).status).toBe('pending');
  });

  it('stop() aborts a handler that outlasts shutdownTimeout and releases its job: pending, no attempt counted', async () => {
    const { url, token, worker } = await serve(['stubborn']);
    const running = held();
    const never = held();
    let reason: unknown;
    const w = start({
      baseUrl: url,
      token: worker,
      shutdownTimeout: 200,
      handlers: {
        stubborn: async (job) => {
          job.signal.addEventListener('abort', () => (reason = job.signal.reason));
          running.resolve();
          // Ignores its signal: only the worker's timeout ends its attempt.
          await never.promise;
        },
      },
    });
    const id = await enqueue(url, token, { topic: 'stubborn', max_retries: 3 });
    await running.promise;
    await within('stop()', w.stop());
    await w.stopped;
    expect((reason as Error).name).toBe('ShutdownError');
    expect(w.running).toBe(0);
    // Released before stop() resolved.
    expect(await jobOf(url, token, id)).toMatchObject({ status: 'pending', retries: 0, last_error: null });
  });

  it('concurrency 3: never more than 3 handlers at once, and all 10 jobs complete', async () => {
    const { url, token, worker } = await serve(['batch']);
    let now = 0;
    let most = 0;
    start({
      baseUrl: url,
      token: worker,
      concurrency: 3,
      handlers: {
        batch: async (job) => {
          most = Math.max(most, ++now);
          try {
            await new Promise((resolve) => setTimeout(resolve, 100));
            return job.payload;
          } finally {
            now--;
          }
        },
      },
    });
    const made = await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: Array.from({ length: 10 }, (_, n) => ({ topic: 'batch', payload: n })) } });
    expect(made.status, made.text).toBe(200);
    await waitFor('all 10 completed', async () => (await api(url, '/api/jobs/stats', { token })).body.completed === 10);
    expect(most).toBe(3);
    const page = (await api(url, '/api/jobs?topic=batch&status=completed&limit=50', { token })).body;
    expect(page.items.map((j: { result: number }) => j.result).sort((a: number, b: number) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('prefetch: holds up to concurrency + prefetch jobs, runs no more than concurrency, starts a waiting one as a slot frees, and stop() gives the waiting ones back at once', async () => {
    const { url, token, worker } = await serve(['pre']);
    const gates = [held(), held(), held(), held()];
    let now = 0;
    let most = 0;
    const started: number[] = [];
    const w = start({
      baseUrl: url,
      token: worker,
      concurrency: 2,
      prefetch: 3,
      // Longer than the test: stop() must wait for the running handlers, not abort them.
      shutdownTimeout: 30_000,
      handlers: {
        pre: async (job) => {
          most = Math.max(most, ++now);
          started.push(job.payload as number);
          try {
            await gates[started.length - 1]!.promise;
          } finally {
            now--;
          }
        },
      },
    });
    const made = await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: Array.from({ length: 10 }, (_, n) => ({ topic: 'pre', payload: n })) } });
    expect(made.status, made.text).toBe(200);
    const stats = async () => (await api(url, '/api/jobs/stats', { token })).body as Record<string, number>;
    await waitFor('2 running and 3 prefetched', async () => (await stats()).processing === 5 && started.length === 2);
    expect(w.running).toBe(2);
    // A slot frees: a prefetched job starts in it, and the worker claims one more to wait.
    gates[0]!.resolve();
    await waitFor('a waiting job started and another claimed', async () => {
      const s = await stats();
      return started.length === 3 && s.completed === 1 && s.processing === 5;
    });
    expect(most).toBe(2);
    // The slot went to the oldest prefetched job, not to the one claimed after it.
    expect(started).toEqual([0, 1, 2]);
    // stop(): the 3 waiting go back to pending at once, while the 2 running are waited for.
    const stopping = w.stop();
    await waitFor('the prefetched jobs released', async () => (await stats()).pending === 7);
    expect((await stats()).processing).toBe(2);
    gates[1]!.resolve();
    gates[2]!.resolve();
    await within('stop()', stopping);
    expect(await stats()).toMatchObject({ completed: 3, processing: 0, pending: 7 });
    expect(started).toHaveLength(3);
    const pending = (await api(url, '/api/jobs?topic=pre&status=pending&limit=50', { token })).body.items;
    expect(pending.every((j: { retries: number; last_error: string | null }) => j.retries === 0 && j.last_error === null)).toBe(true);
    expect(() => createRemoteWorker({ baseUrl: url, token: worker, prefetch: -1, handlers: { pre: () => undefined } })).toThrow(/prefetch must be an integer ≥ 0/);
  });

  it('asks for uncompressed answers, which the server honours while still compressing for clients that accept gzip', async () => {
    const { url, token, worker } = await serve(['big']);
    const { fetch, exchanges } = recordingFetch();
    // Payloads far over the compressor's 1 KiB threshold: a gzip client gets the claim compressed.
    const text = 'lorem ipsum dolor sit amet '.repeat(400);
    const ids = await Promise.all([1, 2, 3].map((n) => enqueue(url, token, { topic: 'big', payload: { n, text } })));
    const gzip = await globalThis.fetch(`${url}/api/jobs?topic=big`, { method: 'GET', headers: { authorization: token, 'accept-encoding': 'gzip' } });
    expect(gzip.headers.get('content-encoding')).toBe('gzip');

    start({ baseUrl: url, token: worker, fetch, handlers: { big: async (job) => (await job.progress({ text }), (job.payload as { n: number }).n) } });
    for (const id of ids) await settled(url, token, id, 'completed');
    const answered = exchanges.filter((e) => e.status !== undefined);
    // Each kind of request the worker makes: claims, heartbeats (progress) and finishes.
    expect(answered.some((e) => e.path === CLAIM && e.status === 200)).toBe(true);
    expect(answered.some((e) => e.path.endsWith('/heartbeat'))).toBe(true);
    expect(answered.some((e) => e.path === '/api/workers/finish')).toBe(true);
    for (const e of answered) expect(e.encoding, e.path).toBeNull();
    for (const e of exchanges) expect(e.request.get('accept-encoding'), e.path).toBe('identity');
  });

  it('retries with backoff while the server is unreachable, telling onError, then runs the job', async () => {
    const { url, token, worker } = await serve(['net']);
    const refused: TypeError[] = [];
    const fetch: FetchFunction = async (input, init) => {
      if (new URL(input).pathname === CLAIM && refused.length < 3) {
        // What undici's fetch throws when nothing listens.
        const err = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
        refused.push(err);
        throw err;
      }
      return globalThis.fetch(input, init);
    };
    const errors: Error[] = [];
    // The worker keeps going through the failures: the job it claims once they end is run.
    start({ baseUrl: url, token: worker, fetch, onError: (err) => errors.push(err), handlers: { net: () => 'through' } });
    const id = await enqueue(url, token, { topic: 'net' });
    expect(await settled(url, token, id, 'completed')).toMatchObject({ result: 'through' });
    expect(refused).toHaveLength(3);
    expect(errors).toHaveLength(3);
    errors.forEach((err, i) => {
      expect(err).toBeInstanceOf(JobsApiError);
      expect((err as JobsApiError).isNetworkError).toBe(true);
      expect(err.cause).toBe(refused[i]);
    });
  });

  it('a revoked token stops the worker: stopped resolves and onError got the 401', async () => {
    const { url, token, app } = await fx.startSignedIn();
    const tokens = new WorkerTokens(app.jobs.store);
    const { token: worker } = await tokens.create({ name: 'revoked', topics: ['net'] });
    const errors: Error[] = [];
    const w = start({ baseUrl: url, token: worker, wait: 500, onError: (err) => errors.push(err), handlers: { net: () => 'ran' } });
    const first = await enqueue(url, token, { topic: 'net' });
    await settled(url, token, first, 'completed');
    expect(await tokens.revoke('revoked')).toBe(1);
    await within('the worker to stop', w.stopped);
    // The long poll under way when the token was revoked ends empty; the next claim is the 401.
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(JobsApiError);
    expect((errors[0] as JobsApiError).status).toBe(401);
    // Stopped for good: a job due now is not claimed.
    const second = await enqueue(url, token, { topic: 'net' });
    expect((await jobOf(url, token, second)).status).toBe('pending');
  });
});
