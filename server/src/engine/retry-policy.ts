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
