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

export function toJobContext(record: JobRecord, signal: AbortSignal): JobContext {
  return {
    ...record,
    signal,
    unmarshalPayload(schema?: ZodType<unknown, ZodTypeDef, unknown>) {
      if (!schema) return record.payload;
      const parsed = schema.safeParse(record.payload);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`);
        throw new JobsError('validation', `Invalid payload for topic "${record.topic}": ${issues.join('; ')}`);
      }
      return parsed.data;
    },
  } as JobContext;
}
