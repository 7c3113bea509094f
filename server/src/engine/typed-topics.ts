import type { Topics } from '@jobbase/contract';
import type { ZodTypeAny } from 'zod';
import { JobsError } from '../errors.js';
import type { JobContext, JobHandler } from './job.js';

/** Refuses a payload that does not fit its declared topic's schema, naming each field (`payload.to`). */
export function assertTopicPayload(topics: Topics | undefined, topic: string, payload: unknown): void {
  const rejection = topics?.checkPayload(topic, payload);
  if (rejection) throw new JobsError('validation', rejection.message, rejection.fields);
}

/**
 * A declared topic's handler gets its payload parsed by the schema, so `job.payload` really is
 * the schema's output (defaults applied, transforms run). A stored payload that no longer fits
 * (enqueued before the schema changed, or by another process without it) never reaches the
 * handler mistyped: the job fails for good at once (`unmarshalPayload` throws a PermanentError),
 * `last_error` naming the wrong fields, since no retry of the same payload could fit.
 */
export function withParsedPayload(schema: ZodTypeAny, handler: JobHandler): JobHandler {
  return (job) => {
    const payload: unknown = job.unmarshalPayload(schema);
    const unmarshalPayload = (other?: ZodTypeAny) => (other ? job.unmarshalPayload(other) : payload);
    // Descriptors, not a spread: the spread would read `signal`, which creates it (see toJobContext).
    const typed = Object.defineProperties({}, {
      ...Object.getOwnPropertyDescriptors(job),
      payload: { value: payload, enumerable: true, writable: true, configurable: true },
      unmarshalPayload: { value: unmarshalPayload, enumerable: true, writable: true, configurable: true },
    }) as JobContext;
    return handler(typed);
  };
}
