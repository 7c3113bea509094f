import type { ZodType, ZodTypeDef } from 'zod';
import type { JobRecord } from '../store/types.js';
import { JobsError } from '../errors.js';
import { MAX_RUN_AT } from './validate.js';

/** What a handler receives: the job, its abort signal and a typed view of its payload. */
export interface JobContext<P = unknown> extends JobRecord {
  payload: P;
  /**
   * Fires when the job's lock expires, when it is cancelled (`jobs.cancel`, from any process:
   * the reason is a JobCancelledError), when its lock was lost, or when shutdown gives up
   * waiting for it.
   */
  signal: AbortSignal;
  /**
   * The payload as is, or parsed by a zod schema. A payload that does not fit fails the job
   * for good (a PermanentError naming the wrong fields): a stored payload never changes, so
   * another attempt could not fit it either.
   */
  unmarshalPayload(): P;
  unmarshalPayload<T>(schema: ZodType<T, ZodTypeDef, unknown>): T;
  /**
   * Puts the job back for later without using an attempt: `return job.snooze(ms)`. When the
   * handler returns, the job is `pending` again, due `ms` milliseconds from then, its `snoozes`
   * counted one more; `retries` and `last_error` stay as they were. A handler that throws after
   * asking for a snooze fails its attempt as usual. `ms`: an integer ≥ 0, else this throws.
   */
  snooze(ms: number): JobSnoozed;
  /**
   * Stores `value` (any JSON, up to 64 KiB) as the job's `progress`, and counts as a heartbeat.
   * Writes are coalesced: at most one per job per 250 ms, the last value always lands (before
   * the job finishes at the latest). Resolves once this value or a later one is stored; rejects
   * at once, the job going on, when the value is not JSON or too large.
   */
  progress(value: unknown): Promise<void>;
  /**
   * Pushes the job's execution timeout to `ms` from now (an integer ≥ 1). Resolves true, or
   * false when the lock was already lost (then `signal` aborts).
   */
  extendLock(ms: number): Promise<boolean>;
}

/** What the handler's `job` does beyond the record: the execution's side of progress and extendLock. */
export interface RunningJobHooks {
  progress(value: unknown): Promise<void>;
  extendLock(ms: number): Promise<boolean>;
}

/** The reason of `job.signal` when the job was cancelled. */
export class JobCancelledError extends Error {
  override readonly name = 'JobCancelledError';
}

/** What `job.snooze(ms)` returns, for the handler to return. */
export interface JobSnoozed {
  readonly snoozeMs: number;
}

export type JobHandler<P = unknown> = (job: JobContext<P>) => unknown | Promise<unknown>;

/**
 * Thrown by a handler (or anything it calls) to fail its job for good: the job goes to
 * `failed` at once with the error's message as `last_error`, whatever retries it had left
 * (`retries` is not counted up). Anything else a handler throws is retried while retries remain.
 *
 *     throw new PermanentError(`No account ${id}: retrying cannot help.`);
 */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

/** Marks a PermanentError across copies of this package, where `instanceof` would not hold. */
const PERMANENT = Symbol.for('jobbase.PermanentError');
Object.defineProperty(PermanentError.prototype, PERMANENT, { value: true });

/** Whether a handler's error asks for its job to fail for good. */
export function isPermanent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[PERMANENT] === true;
}

/** The latest `snooze(ms)` a handler asked for, if any. */
export interface SnoozeRequest {
  ms: number | undefined;
}

const CONTROLLER = Symbol('jobbase.controller');

/** The context's `signal`: its controller's, which Node creates on first access. */
const SIGNAL: PropertyDescriptor = {
  get(this: { [CONTROLLER]: AbortController }) {
    return this[CONTROLLER].signal;
  },
  enumerable: true,
  configurable: true,
};

/**
 * Built by copying, then adding, with `signal` made only when a handler reads it (docs/benchmarks.md,
 * notes, Memory). On Node 20 an object literal that spreads the record and then adds properties
 * (`{ ...record, signal, unmarshalPayload() {} }`) kept each job's objects alive through young
 * collections (test/engine-garbage.test.ts: ~1,200 promoted bytes a job, ~90 without), and
 * making an AbortSignal per job is costly whether or not anyone listens to it.
 */
const HOOKS = Symbol('jobbase.hooks');
type WithHooks = { [HOOKS]: RunningJobHooks };

/**
 * `progress` and `extendLock` as getters, like `signal`: the function is made when a handler
 * reads it, so a job whose handler never does costs no closures (test/engine-garbage.test.ts).
 */
const PROGRESS: PropertyDescriptor = {
  get(this: WithHooks) {
    const hooks = this[HOOKS];
    return (value: unknown) => hooks.progress(value);
  },
  enumerable: true,
  configurable: true,
};

const EXTEND_LOCK: PropertyDescriptor = {
  get(this: WithHooks) {
    const hooks = this[HOOKS];
    return (ms: number) => hooks.extendLock(ms);
  },
  enumerable: true,
  configurable: true,
};

export function toJobContext(
  record: JobRecord,
  controller: AbortController,
  snooze: SnoozeRequest = { ms: undefined },
  hooks?: RunningJobHooks,
): JobContext {
  const context = Object.assign({}, record) as JobContext & { [CONTROLLER]: AbortController } & WithHooks;
  context[CONTROLLER] = controller;
  Object.defineProperty(context, 'signal', SIGNAL);
  context.unmarshalPayload = ((schema?: ZodType<unknown, ZodTypeDef, unknown>) => {
    if (!schema) return record.payload;
    const parsed = schema.safeParse(record.payload);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`);
      throw new PermanentError(`Invalid payload for topic "${record.topic}": ${issues.join('; ')}`);
    }
    return parsed.data;
  }) as JobContext['unmarshalPayload'];
  context.snooze = (ms: number): JobSnoozed => {
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0) {
      throw new JobsError('validation', `job.snooze(ms): ms must be an integer ≥ 0, got ${String(ms)}.`);
    }
    if (Date.now() + ms > MAX_RUN_AT) {
      throw new JobsError('validation', `job.snooze(ms): ${ms} ms from now is past the last run_at a job can have (year 9999).`);
    }
    snooze.ms = ms;
    return Object.freeze({ snoozeMs: ms });
  };
  if (hooks) {
    context[HOOKS] = hooks;
    Object.defineProperty(context, 'progress', PROGRESS);
    Object.defineProperty(context, 'extendLock', EXTEND_LOCK);
  } else {
    context.progress = () => Promise.resolve();
    context.extendLock = () => Promise.resolve(true);
  }
  return context;
}
