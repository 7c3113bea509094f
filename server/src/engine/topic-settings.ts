import { JobsError } from '../errors.js';
import type { JobHandler } from './job.js';
import { toBackoffFunction, type BackoffFunction, type ExponentialBackoff } from './retry-policy.js';
import { validMaxRetries, validPriority } from './validate.js';

/** `register(topic, handler, options)`: defaults for that topic's jobs. */
export interface TopicOptions {
  /** `max_retries` of a job of this topic enqueued (through this engine) without one. */
  maxRetries?: number;
  /** How long a claimed job of this topic is locked: its execution timeout, ms. */
  lockDuration?: number;
  /** The wait before each retry of this topic's jobs: `{ base, max }` ms, or `(retry) => ms`. */
  backoff?: ExponentialBackoff | BackoffFunction;
  /** `priority` of a job of this topic enqueued (through this engine) without one. */
  priority?: number;
  /** Most handlers of this topic running at once in this process, within the worker pool. */
  concurrency?: number;
}

/** A registered topic: its handler and what its jobs get, the engine's defaults filled in. */
export interface RegisteredTopic {
  handler: JobHandler;
  lockDuration: number;
  backoff: BackoffFunction;
  /** Undefined: the engine's default applies at enqueue. */
  maxRetries: number | undefined;
  /** Undefined: 0 at enqueue. */
  priority: number | undefined;
  /** Undefined: as many as the pool has free. */
  concurrency: number | undefined;
}

/** The longest delay a Node timer holds, ms: the bound of every duration the engine times. */
export const MAX_TIMER = 2_147_483_647;

/** The largest worker pool an engine takes, so the most a topic's concurrency can mean. */
const MAX_CONCURRENCY = 10_000;

/** The topic's options checked, each undefined one taken from the engine's. */
export function registeredTopic(
  topic: string,
  handler: JobHandler,
  options: TopicOptions | undefined,
  engine: { lockDuration: number; backoff: BackoffFunction },
): RegisteredTopic {
  const o = options ?? {};
  if (typeof o !== 'object') throw new JobsError('validation', `The options of topic "${topic}" must be an object.`);
  const { lockDuration } = o;
  if (lockDuration !== undefined && (!Number.isInteger(lockDuration) || lockDuration < 1 || lockDuration > MAX_TIMER)) {
    throw new JobsError(
      'validation',
      `Option lockDuration of topic "${topic}" must be an integer from 1 to ${MAX_TIMER}, got ${String(lockDuration)}.`,
    );
  }
  const { backoff } = o;
  if (backoff !== undefined && typeof backoff !== 'function' && !isExponential(backoff)) {
    throw new JobsError('validation', `Option backoff of topic "${topic}" must be { base, max } in ms or a function (retry) => ms.`);
  }
  const { concurrency } = o;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)) {
    throw new JobsError(
      'validation',
      `Option concurrency of topic "${topic}" must be an integer from 1 to ${MAX_CONCURRENCY}, got ${String(concurrency)}.`,
    );
  }
  return {
    handler,
    concurrency,
    lockDuration: lockDuration ?? engine.lockDuration,
    backoff: backoff === undefined ? engine.backoff : toBackoffFunction(backoff),
    maxRetries: o.maxRetries === undefined ? undefined : validMaxRetries(o.maxRetries),
    priority: o.priority === undefined ? undefined : validPriority(o.priority),
  };
}

function isExponential(value: unknown): value is ExponentialBackoff {
  const { base, max } = (value ?? {}) as Partial<ExponentialBackoff>;
  return typeof base === 'number' && typeof max === 'number' && base >= 0 && max >= 0;
}
