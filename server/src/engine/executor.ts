import { JobsError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ClaimedJob, JobStore } from '../store/types.js';
import type { Completer } from './completer.js';
import { isPermanent, toJobContext, type SnoozeRequest } from './job.js';
import { afterFailedAttempt } from './retry-policy.js';
import type { RegisteredTopic } from './topic-settings.js';
import { runInJobSpan } from './tracing.js';

/**
 * How one execution ended. `lost`: another worker or the rescuer had taken the job over.
 * `snoozed`: the handler put the job back for later (`job.snooze`), no attempt counted.
 */
export type Outcome = 'completed' | 'retried' | 'failed' | 'snoozed' | 'released' | 'lost';

/**
 * An execution's end, with the job as this worker last knows it: after a write that took, the
 * job as that write stored it (its `lockToken` and `lockedUntil` still name the attempt that
 * ended); when lost, the job as claimed. A failed attempt carries why it failed.
 */
export type Ending =
  | { outcome: 'completed' | 'snoozed' | 'released' | 'lost'; job: ClaimedJob }
  | { outcome: 'retried' | 'failed'; job: ClaimedJob; err: Error };

/** Longest `last_error` kept; a handler may throw something huge. */
const MAX_ERROR_LENGTH = 8_192;

export interface ExecutorDeps {
  store: JobStore;
  completer: Completer;
  logger: Logger;
}

/**
 * One claimed job, run once. Whatever comes first ends it: the handler returns (completed, or
 * snoozed if it asked) or throws (a failed attempt, or failed for good on a PermanentError), its
 * lock expires (the signal fires, the attempt counts as failed and the slot is freed even if
 * the handler ignores the signal), or shutdown gives up waiting (the job goes back to pending
 * without an attempt counted). Every write is compare-and-set on the lock token, so a late
 * finisher never overwrites what happened after it lost the lock. The job's topic gives its
 * lock duration and backoff.
 */
export class Execution {
  private readonly controller = new AbortController();
  private giveUp!: () => void;
  private readonly gaveUp = new Promise<'shutdown'>((resolve) => (this.giveUp = () => resolve('shutdown')));
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
    this.settled = new Promise((resolve) => (this.settle = resolve));
    this.done = this.run();
    this.done.then(this.settle, this.settle);
  }

  /** Shutdown could not wait any longer: abort the handler and release the job. */
  abortForShutdown(): void {
    this.controller.abort(new JobsError('closed', 'The worker is shutting down.'));
    this.giveUp();
  }

  private async run(): Promise<Ending> {
    const { job, deps, topic } = this;
    let timer: NodeJS.Timeout | undefined;
    const lockExpired = new Promise<'lock_expired'>((resolve) => {
      timer = setTimeout(() => resolve('lock_expired'), Math.max(0, job.lockedUntil.getTime() - Date.now()));
    });
    const snooze: SnoozeRequest = { ms: undefined };
    const context = toJobContext(job, this.controller, snooze);
    const attempt = Promise.resolve()
      .then(() => runInJobSpan(job, () => topic.handler(context)))
      .then(
        () => ({ ok: true as const }),
        (err: unknown) => ({ ok: false as const, err }),
      );
    const first = await Promise.race([attempt, lockExpired, this.gaveUp]);
    clearTimeout(timer);
    this.settle();

    const held = { id: job.id, lockToken: job.lockToken };
    const lost: Ending = { outcome: 'lost', job };
    if (first === 'shutdown') {
      const now = new Date();
      if (!(await deps.store.jobRelease({ ...held, now }))) return lost;
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
      return { outcome: 'snoozed', job: { ...job, status: 'pending', runAt, snoozes: job.snoozes + 1, updated: now } };
    }
    if (first.ok) {
      const updated = await deps.completer.complete(held);
      return updated ? { outcome: 'completed', job: { ...job, status: 'completed', updated } } : lost;
    }
    return this.failAttempt(asError(first.err));
  }

  private async failAttempt(err: Error): Promise<Ending> {
    const { job, deps } = this;
    const now = new Date();
    const lastError = errorMessage(err);
    const held = { id: job.id, lockToken: job.lockToken, error: lastError, now };
    const next = isPermanent(err) ? ({ status: 'failed' } as const) : afterFailedAttempt(job, this.topic.backoff, now.getTime());
    if (next.status === 'pending') {
      if (!(await deps.store.jobRetry({ ...held, runAt: next.runAt }))) return { outcome: 'lost', job };
      const retried = { ...job, status: next.status, retries: job.retries + 1, runAt: next.runAt, lastError, updated: now };
      return { outcome: 'retried', job: retried, err };
    }
    if (!(await deps.store.jobFail(held))) return { outcome: 'lost', job };
    return { outcome: 'failed', job: { ...job, status: 'failed', lastError, updated: now }, err };
  }
}

/** What a handler threw, as an Error for the events: anything else is wrapped, kept as `cause`. */
function asError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : safeJson(thrown), { cause: thrown });
}

/** The error as stored in `last_error`. */
function errorMessage(err: Error): string {
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
