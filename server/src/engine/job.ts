import type { ZodType, ZodTypeDef } from 'zod';
import type { JobRecord } from '../store/types.js';
import { JobsError } from '../errors.js';

/** What a handler receives: the job, its abort signal and a typed view of its payload. */
export interface JobContext<P = unknown> extends JobRecord {
  payload: P;
  /** Fires when the job's lock expires or when shutdown gives up waiting for it. */
  signal: AbortSignal;
  /** The payload as is, or parsed by a zod schema (a mismatch throws, so the attempt fails). */
  unmarshalPayload(): P;
  unmarshalPayload<T>(schema: ZodType<T, ZodTypeDef, unknown>): T;
}

export type JobHandler<P = unknown> = (job: JobContext<P>) => unknown | Promise<unknown>;

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
export function toJobContext(record: JobRecord, controller: AbortController): JobContext {
  const context = Object.assign({}, record) as JobContext & { [CONTROLLER]: AbortController };
  context[CONTROLLER] = controller;
  Object.defineProperty(context, 'signal', SIGNAL);
  context.unmarshalPayload = ((schema?: ZodType<unknown, ZodTypeDef, unknown>) => {
    if (!schema) return record.payload;
    const parsed = schema.safeParse(record.payload);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`);
      throw new JobsError('validation', `Invalid payload for topic "${record.topic}": ${issues.join('; ')}`);
    }
    return parsed.data;
  }) as JobContext['unmarshalPayload'];
  return context;
}
