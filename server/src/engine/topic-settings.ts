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
  /**
   * Renew a running job's lock every `heartbeat` ms (to two heartbeats ahead, never past its
   * lockDuration): a job whose worker died is rescued about 2 × heartbeat after its last
   * renewal rather than when its whole lockDuration has run out. The engine's when undefined.
   */
  heartbeat?: number;
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
  /** Undefined: no heartbeats, the job is locked for its whole lockDuration. */
  heartbeat: number | undefined;
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
  engine: { lockDuration: number; backoff: BackoffFunction; heartbeat: number | undefined },
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
  const { heartbeat } = o;
  if (heartbeat !== undefined) validHeartbeat(heartbeat, `Option heartbeat of topic "${topic}"`);
  return {
    handler,
    concurrency,
    heartbeat: heartbeat ?? engine.heartbeat,
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

/** Shortest heartbeat, ms: a renewal a statement, for every running job, this often at most. */
export const MIN_HEARTBEAT = 100;

/** A heartbeat in ms, or a validation JobsError naming `name`. */
export function validHeartbeat(heartbeat: unknown, name: string): number {
  const max = Math.floor(MAX_TIMER / 2);
  if (typeof heartbeat !== 'number' || !Number.isInteger(heartbeat) || heartbeat < MIN_HEARTBEAT || heartbeat > max) {
    throw new JobsError('validation', `${name} must be an integer from ${MIN_HEARTBEAT} to ${max}, got ${String(heartbeat)}.`);
  }
  return heartbeat;
}

/**
 * How long a claim locks a job of a topic: its lockDuration, or two heartbeats when it has
 * heartbeats (the first renewal comes one heartbeat after the claim).
 */
export function claimLockOf(topic: { lockDuration: number; heartbeat: number | undefined }): number {
  return topic.heartbeat === undefined ? topic.lockDuration : Math.min(topic.lockDuration, 2 * topic.heartbeat);
}
