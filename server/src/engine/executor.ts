import { JobsError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ClaimedJob, JobStore } from '../store/types.js';
import type { Completer } from './completer.js';
import { toJobContext, type JobHandler } from './job.js';
import { afterFailedAttempt, type BackoffFunction } from './retry-policy.js';

/** How one execution ended. `lost`: another worker or the rescuer had taken the job over. */
export type Outcome = 'completed' | 'retried' | 'failed' | 'released' | 'lost';

/** Longest `last_error` kept; a handler may throw something huge. */
const MAX_ERROR_LENGTH = 8_192;

export interface ExecutorDeps {
  store: JobStore;
  completer: Completer;
  backoff: BackoffFunction;
  lockDuration: number;
  logger: Logger;
}

/**
 * One claimed job, run once. Whatever comes first ends it: the handler returns or throws, its
 * lock expires (the signal fires, the attempt counts as failed and the slot is freed even if
 * the handler ignores the signal), or shutdown gives up waiting (the job goes back to pending
 * without an attempt counted). Every write is compare-and-set on the lock token, so a late
 * finisher never overwrites what happened after it lost the lock.
 */
export class Execution {
  private readonly controller = new AbortController();
  private giveUp!: () => void;
  private readonly gaveUp = new Promise<'shutdown'>((resolve) => (this.giveUp = () => resolve('shutdown')));
  /** The result is recorded (or recording it failed). */
  readonly done: Promise<Outcome>;
  /**
   * The handler's part is over (it returned or threw, its lock expired, or shutdown gave up on
   * it): its worker slot is free, while the result may still be on its way to the database.
   */
  readonly settled: Promise<void>;
  private settle!: () => void;

  constructor(
    readonly job: ClaimedJob,
    handler: JobHandler,
    private readonly deps: ExecutorDeps,
  ) {
    this.settled = new Promise((resolve) => (this.settle = resolve));
    this.done = this.run(handler);
    this.done.then(this.settle, this.settle);
  }

  /** Shutdown could not wait any longer: abort the handler and release the job. */
  abortForShutdown(): void {
    this.controller.abort(new JobsError('closed', 'The worker is shutting down.'));
    this.giveUp();
  }

  private async run(handler: JobHandler): Promise<Outcome> {
    const { job, deps } = this;
    let timer: NodeJS.Timeout | undefined;
    const lockExpired = new Promise<'lock_expired'>((resolve) => {
      timer = setTimeout(() => resolve('lock_expired'), Math.max(0, job.lockedUntil.getTime() - Date.now()));
    });
    const context = toJobContext(job, this.controller.signal);
    const attempt = Promise.resolve()
      .then(() => handler(context))
      .then(
        () => ({ ok: true as const }),
        (err: unknown) => ({ ok: false as const, err }),
      );
    const first = await Promise.race([attempt, lockExpired, this.gaveUp]);
    clearTimeout(timer);
    this.settle();

    const held = { id: job.id, lockToken: job.lockToken };
    if (first === 'shutdown') {
      return (await deps.store.jobRelease(held)) ? 'released' : 'lost';
    }
    if (first === 'lock_expired') {
      const message = `Lock expired after ${deps.lockDuration} ms: the handler did not finish in time.`;
      this.controller.abort(new JobsError('closed', message));
      return this.failAttempt(message);
    }
    if (first.ok) {
      return (await deps.completer.complete(held)) ? 'completed' : 'lost';
    }
    return this.failAttempt(errorMessage(first.err));
  }

  private async failAttempt(error: string): Promise<Outcome> {
    const { job, deps } = this;
    const held = { id: job.id, lockToken: job.lockToken, error };
    const next = afterFailedAttempt(job, deps.backoff);
    if (next.status === 'pending') {
      return (await deps.store.jobRetry({ ...held, runAt: next.runAt })) ? 'retried' : 'lost';
    }
    return (await deps.store.jobFail(held)) ? 'failed' : 'lost';
  }
}

function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message || err.name : typeof err === 'string' ? err : safeJson(err);
  return message.length > MAX_ERROR_LENGTH ? `${message.slice(0, MAX_ERROR_LENGTH)}…` : message;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
