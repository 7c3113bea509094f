import { JobsError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ClaimedJob, JobHeartbeatItem, JobStore } from '../store/types.js';
import type { Completer } from './completer.js';
import type { HeldJobs } from './held-jobs.js';
import { isPermanent, JobCancelledError, PermanentError, toJobContext, type RunningJobHooks, type SnoozeRequest } from './job.js';
import { ProgressWriter } from './progress-writer.js';
import { failedAttemptState } from './retry-policy.js';
import { encodeHandlerJson } from './handler-json.js';
import { MAX_TIMER, type RegisteredTopic } from './topic-settings.js';

import { runInJobSpan } from './tracing.js';

/**
 * How one execution ended. `lost`: another worker or the rescuer had taken the job over.
 * `snoozed`: the handler put the job back for later (`job.snooze`), no attempt counted.
 * `cancelled`: the job was cancelled while it ran (`jobs.cancel`), whatever its handler did.
 */
export type Outcome = 'completed' | 'retried' | 'failed' | 'snoozed' | 'released' | 'lost' | 'cancelled';

/**
 * An execution's end, with the job as this worker last knows it: after a write that took, the
 * job as that write stored it (its `lockToken` and `lockedUntil` still name the attempt that
 * ended); when lost, the job as claimed. A failed attempt carries why it failed.
 */
export type Ending =
  | { outcome: 'completed' | 'snoozed' | 'released' | 'lost' | 'cancelled'; job: ClaimedJob }
  | { outcome: 'retried' | 'failed'; job: ClaimedJob; err: Error };

/** Longest `last_error` kept; a handler may throw something huge. */
const MAX_ERROR_LENGTH = 8_192;

export interface ExecutorDeps {
  store: JobStore;
  completer: Completer;
  logger: Logger;
  /** The jobs this process holds: their heartbeats and cancel checks (held-jobs.ts). */
  held: HeldJobs;
  /** Bytes of JSON a handler's return value may take (the payload limit). */
  maxResultSize: number;
}

/**
 * One claimed job, run once. Whatever comes first ends it: the handler returns (completed, or
 * snoozed if it asked) or throws (a failed attempt, or failed for good on a PermanentError), its
 * execution timeout runs out (the signal fires, the attempt counts as failed and the slot is
 * freed even if the handler ignores the signal), its lock turns out lost (nothing is written),
 * or shutdown gives up waiting (the job goes back to pending without an attempt counted). Every
 * write is compare-and-set on the lock token, so a late finisher never overwrites what happened
 * after it lost the lock; and every write makes a job marked for cancellation `cancelled`. The
 * job's topic gives its lock duration (the execution timeout), heartbeat and backoff.
 */
export class Execution implements RunningJobHooks {
  private readonly controller = new AbortController();
  /** Shutdown gave up on the handler, or its lock was lost: one promise for both, one less per job. */
  private interrupt!: (why: 'shutdown' | 'lost') => void;
  private readonly interrupted = new Promise<'shutdown' | 'lost'>((resolve) => (this.interrupt = resolve));
  private expire!: () => void;
  private readonly expired = new Promise<'lock_expired'>((resolve) => (this.expire = () => resolve('lock_expired')));
  private timer: NodeJS.Timeout | undefined;
  /** When the execution timeout runs out, ms since the epoch: the claim's time + lockDuration, or what `extendLock` set. */
  private deadline: number;
  /** When this worker last renewed the lock (claim, heartbeat, progress, extendLock). */
  private lastRenewal: number;
  /** The handler's part is not over yet: marks and lost locks still concern it. */
  private running = true;
  /** The job was marked for cancellation and its signal aborted for it. */
  private cancelSeen = false;
  private progressWriter: ProgressWriter | undefined;
  /** The result is recorded (or recording it failed). */
  readonly done: Promise<Ending>;
  /**
   * The handler's part is over (it returned or threw, its lock expired, or shutdown gave up on
   * it): its worker slot is free, while the result may still be on its way to the database.
   */
  readonly settled: Promise<void>;
  private settle!: () => void;

  constructor(
    readonly job: ClaimedJob,
    private readonly topic: RegisteredTopic,
    private readonly deps: ExecutorDeps,
  ) {
    // The claim wrote `updated` and the lock from one clock reading (sqlite/store.ts, jobbase_claim).
    this.deadline = job.updated.getTime() + topic.lockDuration;
    this.lastRenewal = job.updated.getTime();
    this.settled = new Promise((resolve) => (this.settle = resolve));
    this.done = this.run();
    this.done.then(this.settle, this.settle);
  }

  /** Shutdown could not wait any longer: abort the handler and release the job. */
  abortForShutdown(): void {
    this.controller.abort(new JobsError('closed', 'The worker is shutting down.'));
    this.interrupt('shutdown');
  }

  /** The job is marked for cancellation: its handler's signal aborts, once. */
  cancelRequested(): void {
    if (!this.running || this.cancelSeen) return;
    this.cancelSeen = true;
    this.controller.abort(new JobCancelledError(`Job "${this.job.id}" was cancelled.`));
  }

  /** Another worker or the rescuer holds the job now: the handler is aborted and nothing is written. */
  lockLost(): void {
    if (!this.running) return;
    this.controller.abort(new JobsError('closed', `The lock of job "${this.job.id}" was lost: another worker or the rescuer has taken it over.`));
    this.interrupt('lost');
  }

  /**
   * What the next heartbeat statement does for this job: renew its lock when a heartbeat is
   * due (to two heartbeats from now, never past the execution timeout), else only read its mark.
   */
  heartbeatItem(now: number): JobHeartbeatItem {
    const { heartbeat } = this.topic;
    const item: JobHeartbeatItem = { id: this.job.id, lockToken: this.job.lockToken };
    if (heartbeat !== undefined && now - this.lastRenewal >= heartbeat) {
      this.lastRenewal = now;
      item.lockedUntil = new Date(Math.min(now + 2 * heartbeat, this.deadline));
    }
    return item;
  }

  /** The lock as a renewal at `now` sets it: two heartbeats on, or the execution timeout without heartbeats. */
  lockedUntilAt(now: number): Date {
    const { heartbeat } = this.topic;
    return new Date(heartbeat === undefined ? this.deadline : Math.min(now + 2 * heartbeat, this.deadline));
  }

  /** A progress write renewed the lock (each counts as a heartbeat). */
  renewed(now: number): void {
    this.lastRenewal = now;
  }

  private armTimer(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.expire, Math.max(0, Math.min(MAX_TIMER, this.deadline - Date.now())));
  }

  /** `job.extendLock(ms)` (RunningJobHooks). */
  async extendLock(ms: number): Promise<boolean> {
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > MAX_TIMER) {
      throw new JobsError('validation', `job.extendLock(ms): ms must be an integer from 1 to ${MAX_TIMER}, got ${String(ms)}.`);
    }
    if (!this.running) return false;
    const now = Date.now();
    this.deadline = now + ms;
    this.lastRenewal = now;
    this.armTimer();
    const [held] = await this.deps.store.jobHeartbeatMany([{ id: this.job.id, lockToken: this.job.lockToken, lockedUntil: this.lockedUntilAt(now) }]);
    if (!held) {
      this.lockLost();
      return false;
    }
    if (held.cancelRequested) this.cancelRequested();
    return true;
  }

  /** `job.progress(value)` (RunningJobHooks). */
  progress(value: unknown): Promise<void> {
    if (!this.running) return Promise.reject(new JobsError('closed', `job.progress(value): job "${this.job.id}" has ended.`));
    this.progressWriter ??= new ProgressWriter(this, this.deps.store);
    return this.progressWriter.push(value);
  }

  private async run(): Promise<Ending> {
    const { job, deps, topic } = this;
    this.armTimer();
    deps.held.add(this);
    const snooze: SnoozeRequest = { ms: undefined };
    const context = toJobContext(job, this.controller, snooze, this);
    const attempt = Promise.resolve()
      .then(() => runInJobSpan(job, () => topic.handler(context)))
      .then(
        (value: unknown) => ({ ok: true as const, value }),
        (err: unknown) => ({ ok: false as const, err }),
      );
    const first = await Promise.race([attempt, this.expired, this.interrupted]);
    this.running = false;
    clearTimeout(this.timer);
    deps.held.remove(this);
    this.settle();
    // The last progress reported lands before the statement that ends the attempt.
    if (this.progressWriter) await this.progressWriter.flush();

    const held = { id: job.id, lockToken: job.lockToken };
    const lost: Ending = { outcome: 'lost', job };
    if (first === 'lost') return lost;
    if (first === 'shutdown') {
      const now = new Date();
      if (!(await deps.store.jobRelease({ ...held, now }))) return lost;
      if (this.cancelSeen) return this.cancelledEnding(now);
      return { outcome: 'released', job: { ...job, status: 'pending', updated: now } };
    }
    if (first === 'lock_expired') {
      // One value for the handler's abort reason, the stored last_error and the event.
      const expired = new JobsError('closed', `Lock expired after ${topic.lockDuration} ms: the handler did not finish in time.`);
      this.controller.abort(expired);
      return this.failAttempt(expired);
    }
    if (first.ok && snooze.ms !== undefined) {
      const now = new Date();
      const runAt = new Date(now.getTime() + snooze.ms);
      if (!(await deps.store.jobSnooze({ ...held, runAt, now }))) return lost;
      if (this.cancelSeen) return this.cancelledEnding(now);
      return { outcome: 'snoozed', job: { ...job, status: 'pending', runAt, snoozes: job.snoozes + 1, updated: now } };
    }
    if (first.ok) {
      let resultJson: string | undefined;
      try {
        resultJson = encodeHandlerJson(first.value, deps.maxResultSize, 'result');
      } catch (err) {
        // Another attempt would return the same kind of value: fail for good.
        return this.failAttempt(new PermanentError((err as Error).message));
      }
      const done = await deps.completer.complete(resultJson === undefined ? held : { ...held, resultJson });
      if (!done) return lost;
      const { updated } = done;
      // The statement says what it stored: a cancel from another process in the handler's last
      // moments (before this process's next look at its jobs' marks) made it `cancelled`.
      if (this.cancelSeen || done.cancelled) return this.cancelledEnding(updated);
      const result = resultJson === undefined ? null : (JSON.parse(resultJson) as unknown);
      return { outcome: 'completed', job: { ...job, status: 'completed', result, updated } };
    }
    return this.failAttempt(asError(first.err));
  }

  private cancelledEnding(updated: Date): Ending {
    return { outcome: 'cancelled', job: { ...this.job, status: 'cancelled', cancelRequested: true, updated } };
  }

  private async failAttempt(err: Error): Promise<Ending> {
    const { job, deps } = this;
    const now = new Date();
    const lastError = errorMessage(err);
    const held = { id: job.id, lockToken: job.lockToken, error: lastError, now };
    const next = failedAttemptState(job, this.topic.backoff, { permanent: isPermanent(err), cancelled: this.cancelSeen }, now.getTime());
    if (next.status === 'pending') {
      if (!(await deps.store.jobRetry({ ...held, runAt: next.runAt }))) return { outcome: 'lost', job };
      const retried = { ...job, status: next.status, retries: job.retries + 1, runAt: next.runAt, lastError, updated: now };
      return { outcome: 'retried', job: retried, err };
    }
    if (!(await deps.store.jobFail(held))) return { outcome: 'lost', job };
    if (this.cancelSeen) return { outcome: 'cancelled', job: { ...job, status: 'cancelled', cancelRequested: true, lastError, updated: now } };
    return { outcome: 'failed', job: { ...job, status: 'failed', lastError, updated: now }, err };
  }
}

/** What a handler threw, as an Error for the events: anything else is wrapped, kept as `cause`. */
function asError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : safeJson(thrown), { cause: thrown });
}

/** The error as stored in `last_error` (remote workers' failures too). */
export function errorMessage(err: Error): string {
  const message = err.message || err.name;
  return message.length > MAX_ERROR_LENGTH ? `${message.slice(0, MAX_ERROR_LENGTH)}…` : message;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
