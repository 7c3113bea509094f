import { JobsError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ClaimedJob, JobRecord, JobStore, TopicStore } from '../store/types.js';
import type { Completer } from './completer.js';
import { errorMessage } from './executor.js';
import { encodeHandlerJson } from './handler-json.js';
import { MAX_PROGRESS_SIZE } from './progress-writer.js';
import { failedAttemptState, type BackoffFunction } from './retry-policy.js';
import type { TopicControl } from './topic-control.js';
import { claimLockOf } from './topic-settings.js';

/** What the engine applies to a topic's jobs run by a remote worker: the registered topic's, else the engine's. */
export interface RemotePolicy {
  lockDuration: number;
  heartbeat: number | undefined;
  backoff: BackoffFunction;
}

export interface RemoteWorkDeps {
  store: JobStore & Pick<TopicStore, 'jobClaimControlled'>;
  completer: Completer;
  control: TopicControl;
  policyOf: (topic: string) => RemotePolicy;
  maxResultSize: number;
  /** A claim waiting for jobs also looks this often, should a change signal be missed, ms. */
  pollInterval: number;
  logger: Logger;
  assertOpen: () => void;
  /** A finish in this process: waits for the job (waitFor) are told at once. */
  finished: () => void;
}

/** Which jobs a caller may touch: a worker token's topics; undefined for a superuser. */
export type TopicGuard = ReadonlySet<string> | undefined;

export type RemoteOutcome = 'completed' | 'retried' | 'failed' | 'snoozed' | 'released' | 'cancelled';

export interface RemoteFinish {
  id: string;
  outcome: RemoteOutcome;
  job: JobRecord;
}

export type RemoteFinishItem =
  | { action: 'complete'; id: string; token: string; result?: unknown }
  | { action: 'fail'; id: string; token: string; error: string; permanent?: boolean }
  | { action: 'snooze'; id: string; token: string; ms: number }
  | { action: 'release'; id: string; token: string };

interface Ticket {
  topics: ReadonlySet<string>;
  woken: boolean;
  wake: () => void;
}

/**
 * Jobs run outside this process, over the HTTP API (issue 19). The same store statements and the
 * same decisions as the executor's: claims as the producer claims (topic settings applied), every
 * finish compare-and-set on the lock token, a failed attempt retried by the topic's backoff or
 * failed for good by `failedAttemptState`, a job cancelled while it ran made `cancelled` by the
 * finishing statement itself. A claim that finds nothing waits for the store's change signal
 * (PostgreSQL NOTIFY, SQLite data_version), listened for only while a claim waits.
 */
export class RemoteWork {
  private readonly tickets = new Set<Ticket>();
  private unlisten: Promise<(() => Promise<void>) | undefined> | null = null;
  private fallback: NodeJS.Timeout | null = null;
  private closed = false;
  private lingering: NodeJS.Timeout | null = null;

  constructor(private readonly deps: RemoteWorkDeps) {}

  /** Up to `limit` due jobs of `topics`, locked for the caller; waits up to `wait` ms for one. */
  async claim(params: {
    topics: readonly string[];
    limit: number;
    wait: number;
    signal?: AbortSignal;
    /** Asked before each claim after a wait: false (a revoked token) ends the wait with nothing claimed. */
    stillValid?: () => Promise<boolean>;
  }): Promise<ClaimedJob[]> {
    this.deps.assertOpen();
    const topics = [...new Set(params.topics)];
    const deadline = Date.now() + params.wait;
    await this.deps.control.ready();
    // A busy queue answers at once: no ticket, no listening.
    const first = await this.claimOnce(topics, params.limit);
    if (first.length > 0 || params.wait === 0) return first;
    let slept = false;
    for (;;) {
      // Armed before the claim: a job committed while the claim runs still wakes this wait.
      const ticket = this.ticket(topics);
      try {
        if (slept && params.stillValid && !(await params.stillValid())) return [];
        slept = true;
        const jobs = await this.claimOnce(topics, params.limit);
        const left = deadline - Date.now();
        if (jobs.length > 0 || left <= 0 || params.signal?.aborted || this.closed) return jobs;
        await this.sleep(ticket, left, params.signal);
      } finally {
        this.drop(ticket);
      }
    }
  }

  /** A job may be due now (enqueued in this process, or signalled by the store). */
  poke(topic?: string): void {
    for (const ticket of this.tickets) if (topic === undefined || ticket.topics.has(topic)) ticket.wake();
  }

  /** Ends every waiting claim and stops listening. */
  async close(): Promise<void> {
    this.closed = true;
    this.poke();
    await this.quiet();
  }

  async complete(id: string, token: string, result: unknown, guard: TopicGuard): Promise<RemoteFinish> {
    const [finish] = await this.finishMany([{ action: 'complete', id, token, result }], guard, true);
    return finish!;
  }

  async fail(id: string, token: string, error: string, permanent: boolean, guard: TopicGuard): Promise<RemoteFinish> {
    const [finish] = await this.finishMany([{ action: 'fail', id, token, error, permanent }], guard, true);
    return finish!;
  }

  async snooze(id: string, token: string, ms: number, guard: TopicGuard): Promise<RemoteFinish> {
    const [finish] = await this.finishMany([{ action: 'snooze', id, token, ms }], guard, true);
    return finish!;
  }

  /**
   * Renews the lock (to `extendMs` from now, else the topic's claim lock), stores `progress`
   * when given, and answers the cancel mark. A `lock_lost` JobsError when the token no longer
   * holds the job.
   */
  async heartbeat(
    id: string,
    token: string,
    options: { progress?: unknown; extendMs?: number },
    guard: TopicGuard,
  ): Promise<{ id: string; lockedUntil: Date; cancelRequested: boolean }> {
    this.deps.assertOpen();
    const job = await this.held(id, token, guard);
    const lockedUntil = new Date(Date.now() + (options.extendMs ?? claimLockOf(this.deps.policyOf(job.topic))));
    const progressJson = encodeHandlerJson(options.progress, MAX_PROGRESS_SIZE, 'progress');
    const held =
      progressJson === undefined
        ? (await this.deps.store.jobHeartbeatMany([{ id, lockToken: token, lockedUntil }]))[0]
        : await this.deps.store.jobSetProgress({ id, lockToken: token, lockedUntil, progressJson });
    if (!held) throw lockLost(id);
    return { id, lockedUntil, cancelRequested: held.cancelRequested };
  }

  /**
   * Finishes each item on its own token: completions in one statement (the completer's batch),
   * fails and snoozes one statement each. The jobs whose topic or retries decide (every item of
   * a worker token, every fail) are read first, all in one query. `strict` (the single routes): a
   * lost lock throws `lock_lost`; otherwise lost items are left out of the answer for the caller
   * to report. A batch of completions only (a worker's usual batch) is one statement: see
   * `completeAll`. `field`: what the body calls the items, for errors (`items.2.result`).
   */
  async finishMany(items: readonly RemoteFinishItem[], guard: TopicGuard, strict = false, field = 'items'): Promise<RemoteFinish[]> {
    this.deps.assertOpen();
    // Results are checked before anything is written: a bad one refuses the request.
    const results = items.map((item, i) =>
      item.action === 'complete' ? encodeResult(item.result, this.deps.maxResultSize, strict ? 'result' : `${field}.${i}.result`) : undefined,
    );
    if (!strict && items.every((item) => item.action === 'complete')) return this.completeAll(items, results, guard);
    const mustRead = (item: RemoteFinishItem) => item.action !== 'complete' || guard !== undefined || strict;
    const readIds = items.filter((item) => mustRead(item) && UUID.test(item.id)).map((item) => item.id);
    const read = new Map((await this.deps.store.jobGetMany(readIds, LEAN)).map((j) => [j.id, j]));
    // A worker token may finish only its topics' jobs: one it may not touch refuses the request.
    const jobs = items.map((item) => (mustRead(item) ? this.checkHeld(item.id, read.get(item.id), guard, strict) : null));
    const now = new Date();
    const completions = items.flatMap((item, i) =>
      item.action === 'complete' && (jobs[i] || !mustRead(item))
        ? [{ i, item: { id: item.id, lockToken: item.token, now, ...(results[i] === undefined ? {} : { resultJson: results[i] }) } }]
        : [],
    );
    const completed = this.deps.completer.completeMany(completions.map((c) => c.item));
    const written = new Map(completions.map((c, k) => [c.i, completed[k]!.then((at) => at !== null)]));
    const done = await Promise.all(
      items.map(async (item, i): Promise<RemoteFinish | null> => {
        const job = jobs[i] ?? null;
        let outcome: RemoteOutcome;
        let ok: boolean;
        if (item.action === 'complete') {
          if (!written.has(i)) return null;
          ok = await written.get(i)!;
          outcome = 'completed';
        } else {
          if (!job) return null;
          const held = { id: item.id, lockToken: item.token, now };
          if (item.action === 'release') {
            ok = await this.deps.store.jobRelease(held);
            outcome = 'released';
          } else if (item.action === 'snooze') {
            ok = await this.deps.store.jobSnooze({ ...held, runAt: new Date(now.getTime() + item.ms) });
            outcome = 'snoozed';
          } else {
            const error = errorMessage(new Error(item.error));
            const next = failedAttemptState(job, this.deps.policyOf(job.topic).backoff, { permanent: item.permanent === true, cancelled: false }, now.getTime());
            ok =
              next.status === 'pending'
                ? await this.deps.store.jobRetry({ ...held, error, runAt: next.runAt })
                : await this.deps.store.jobFail({ ...held, error });
            outcome = next.status === 'pending' ? 'retried' : 'failed';
          }
        }
        if (!ok) {
          if (strict) throw lockLost(item.id);
          return null;
        }
        return { id: item.id, outcome, job: job ?? ({ id: item.id } as JobRecord) };
      }),
    );
    const finished = done.filter((f): f is RemoteFinish => f !== null);
    if (finished.length > 0) this.deps.finished();
    // The statements made a job marked for cancellation `cancelled` whatever was asked: read
    // what they stored, in one query, so the answer says so (strict: the job as it stands).
    if (finished.length === 0) return finished;
    const stored = new Map((await this.deps.store.jobGetMany(finished.map((f) => f.id), LEAN)).map((j) => [j.id, j]));
    for (const f of finished) {
      const job = stored.get(f.id);
      if (job?.status === 'cancelled') f.outcome = 'cancelled';
      if (strict && job) f.job = job;
    }
    return finished;
  }

  /**
   * Completions only, in one statement with no read before or after it: the worker token's topic
   * check is part of the statement (a batch naming another topic's job writes nothing), and it
   * returns each job's new status (`cancelled` for one marked meanwhile). Only when some item
   * was not completed is it read, to tell a forbidden job (the request is refused) from a lost
   * lock (left out of the answer).
   */
  private async completeAll(items: readonly RemoteFinishItem[], results: readonly (string | undefined)[], guard: TopicGuard): Promise<RemoteFinish[]> {
    const held = items.flatMap((item, i) =>
      UUID.test(item.id) ? [{ id: item.id, lockToken: item.token, ...(results[i] === undefined ? {} : { resultJson: results[i] }) }] : [],
    );
    const done = await this.deps.store.jobCompleteMany(held, new Date(), guard ? { topics: [...guard] } : {});
    if (guard && done.length < held.length) {
      const ended = new Set(done.map((j) => j.id));
      const rest = await this.deps.store.jobGetMany(held.filter((h) => !ended.has(h.id)).map((h) => h.id), LEAN);
      const forbidden = rest.find((job) => !guard.has(job.topic));
      if (forbidden) throw forbiddenTopic(forbidden.topic);
    }
    if (done.length > 0) this.deps.finished();
    return done.map((j) => ({ id: j.id, outcome: j.status, job: { id: j.id, status: j.status } as JobRecord }));
  }

  /** The job, held and of a topic `guard` allows; null when not held (strict: a JobsError); forbidden throws. */
  private checkHeld(id: string, job: JobRecord | undefined, guard: TopicGuard, strict: boolean): JobRecord | null {
    if (!job) {
      if (strict) throw new JobsError('not_found', `Job "${id}" was not found.`);
      return null;
    }
    if (guard && !guard.has(job.topic)) throw forbiddenTopic(job.topic);
    if (job.status !== 'processing') {
      if (strict) throw lockLost(id);
      return null;
    }
    return job;
  }

  private async held(id: string, token: string, guard: TopicGuard): Promise<JobRecord> {
    void token;
    const [job] = UUID.test(id) ? await this.deps.store.jobGetMany([id], LEAN) : [];
    return this.checkHeld(id, job, guard, true)!;
  }

  private async claimOnce(topics: string[], limit: number): Promise<ClaimedJob[]> {
    const { store, control, policyOf } = this.deps;
    const plain = topics.filter((t) => !control.settingsOf(t));
    const claimed: ClaimedJob[] = [];
    if (plain.length > 0) {
      const lockDurationByTopic = new Map(plain.map((t) => [t, claimLockOf(policyOf(t))]));
      claimed.push(...(await store.jobClaim({ topics: plain, limit, lockDuration: claimLockOf(policyOf('')), lockDurationByTopic })));
    }
    for (const topic of topics) {
      if (claimed.length >= limit || !control.settingsOf(topic)) continue;
      const { jobs } = await store.jobClaimControlled({ topic, limit: limit - claimed.length, lockDuration: claimLockOf(policyOf(topic)) });
      claimed.push(...jobs);
    }
    return claimed;
  }

  private ticket(topics: readonly string[]): Ticket {
    const ticket: Ticket = { topics: new Set(topics), woken: false, wake: () => (ticket.woken = true) };
    this.tickets.add(ticket);
    if (this.lingering) clearTimeout(this.lingering);
    this.lingering = null;
    this.unlisten ??= this.listen();
    this.fallback ??= setInterval(() => this.poke(), this.deps.pollInterval).unref();
    return ticket;
  }

  /**
   * The listener outlives the last waiting claim by LISTEN_LINGER: a worker claims again right
   * after its answer, and a PostgreSQL LISTEN is a connection of its own.
   */
  private drop(ticket: Ticket): void {
    this.tickets.delete(ticket);
    if (this.tickets.size > 0 || this.lingering) return;
    this.lingering = setTimeout(() => {
      this.lingering = null;
      if (this.tickets.size === 0) void this.quiet();
    }, LISTEN_LINGER).unref();
  }

  private async sleep(ticket: Ticket, ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (ticket.woken) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      ticket.wake = done;
      function done() {
        ticket.woken = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    });
  }

  private async listen(): Promise<(() => Promise<void>) | undefined> {
    try {
      return await this.deps.store.listenForJobs?.({ onTopic: (topic) => this.poke(topic), onWake: () => this.poke() });
    } catch (err) {
      this.deps.logger.warn({ err }, 'listening for new jobs failed; waiting claims poll');
      return undefined;
    }
  }

  private async quiet(): Promise<void> {
    if (this.lingering) clearTimeout(this.lingering);
    this.lingering = null;
    if (this.fallback) clearInterval(this.fallback);
    this.fallback = null;
    const unlisten = this.unlisten;
    this.unlisten = null;
    await (await unlisten)?.();
  }
}

/** How long the change signal is still listened for after the last waiting claim ended, ms. */
const LISTEN_LINGER = 30_000;

/** What a finish needs of a job (its topic, status, retries), not its payload, result or progress. */
const LEAN = { payloads: false } as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function encodeResult(value: unknown, maxBytes: number, field: string): string | undefined {
  try {
    return encodeHandlerJson(value, maxBytes, 'result');
  } catch (err) {
    if (err instanceof JobsError) throw new JobsError('validation', err.message, { [field]: err.fields.result ?? { code: 'invalid', message: err.message } });
    throw err;
  }
}

export function lockLost(id: string): JobsError {
  const message = `The lock of job "${id}" was lost: the token no longer holds the job (its lock ran out and it was rescued, or it was finished already). Nothing was written.`;
  return new JobsError('lock_lost', message, { token: { code: 'lock_lost', message } });
}

export function forbiddenTopic(topic: string): JobsError {
  return new JobsError('forbidden', `This worker token may not work jobs of topic "${topic}".`, { topic: { code: 'forbidden', message: `Topic "${topic}" is not one of the token's topics.` } });
}
