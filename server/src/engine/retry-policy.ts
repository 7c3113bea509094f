import type { FailedAttemptState } from '../store/types.js';

/** Milliseconds to wait before retry number `retry` (1 for the first retry). */
export type BackoffFunction = (retry: number) => number;

export interface ExponentialBackoff {
  /** The first retry waits about this long, in ms. */
  base: number;
  /** No retry waits longer than this, in ms. */
  max: number;
}

/**
 * Exponential backoff with "equal jitter": half of the delay is fixed, the other half random,
 * so retries of jobs that failed together spread out but none comes back instantly.
 * retry 1 → [base/2, base], retry 2 → [base, 2·base], …, capped at max.
 */
export function exponentialBackoff(
  { base, max }: ExponentialBackoff,
  random: () => number = Math.random,
): BackoffFunction {
  return (retry) => {
    const exponent = Math.min(Math.max(retry - 1, 0), 52);
    const ceiling = Math.min(max, base * 2 ** exponent);
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  };
}

export function toBackoffFunction(backoff: ExponentialBackoff | BackoffFunction): BackoffFunction {
  return typeof backoff === 'function' ? backoff : exponentialBackoff(backoff);
}

/** When retry number `retry` is due; a bad backoff value (negative, NaN) means "now". */
export function retryAt(backoff: BackoffFunction, retry: number, now: number = Date.now()): Date {
  const delay = backoff(retry);
  return new Date(now + (Number.isFinite(delay) && delay > 0 ? delay : 0));
}

/**
 * The one retry-or-fail decision, used by the executor and the remote workers' finishes (remote-work.ts) for a handler that threw or timed out
 * and by the rescuer for a job whose worker vanished: another attempt after the backoff while
 * retries remain (`retries` counts the failed attempts retried so far), failed for good after.
 */
export function failedAttemptState(
  job: { retries: number; maxRetries: number },
  backoff: BackoffFunction,
  how: { permanent: boolean; cancelled: boolean },
  now: number = Date.now(),
): FailedAttemptState {
  // A cancelled job is never retried: the statement makes it cancelled anyway.
  return how.permanent || how.cancelled ? { status: 'failed' } : afterFailedAttempt(job, backoff, now);
}

/** See failedAttemptState: the decision for an attempt that may be retried. */
export function afterFailedAttempt(
  job: { retries: number; maxRetries: number },
  backoff: BackoffFunction,
  now: number = Date.now(),
): FailedAttemptState {
  return job.retries < job.maxRetries
    ? { status: 'pending', runAt: retryAt(backoff, job.retries + 1, now) }
    : { status: 'failed' };
}
