import { ListQuerySchema, MaxRetriesSchema, TopicSchema, type ListQuery } from '@jobbase/contract';
import type { ZodType } from 'zod';
import { JobsError, validationError } from '../errors.js';

export interface EnqueueOptions {
  /** When the job is due; now when omitted. A Date or an ISO 8601 string. */
  runAt?: Date | string;
  /** Retries after the first execution (0: run once); the engine's default when omitted. */
  maxRetries?: number;
}

/** The same rules the HTTP contract states, applied to library calls (wire field names). */
export function validTopic(topic: unknown): string {
  return check(TopicSchema, topic, 'topic');
}

export function validMaxRetries(maxRetries: unknown): number {
  return check(MaxRetriesSchema, maxRetries, 'max_retries');
}

export function validRunAt(runAt: Date | string | undefined, now: Date): Date {
  if (runAt === undefined) return now;
  const date = runAt instanceof Date ? runAt : typeof runAt === 'string' ? new Date(runAt) : new Date(NaN);
  const time = date.getTime();
  // Year 0..9999 keeps ISO text fixed-width, so times still sort as text on SQLite.
  if (!Number.isFinite(time) || time < -62_167_219_200_000 || time > 253_402_300_799_999) {
    throw validationError('run_at', 'invalid_date', 'run_at must be a valid ISO 8601 date-time.');
  }
  return date;
}

/** The payload's JSON text ({} when omitted), refused when not JSON or over `maxBytes`. */
export function encodePayload(payload: unknown, maxBytes: number): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload === undefined ? {} : payload);
  } catch (err) {
    throw validationError('payload', 'invalid_json', `payload is not serializable to JSON: ${(err as Error).message}`);
  }
  if (json === undefined) {
    throw validationError('payload', 'invalid_json', 'payload must be a JSON value.');
  }
  // Cheap upper bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (json.length * 3 > maxBytes && Buffer.byteLength(json, 'utf8') > maxBytes) {
    const message = `payload must be at most ${maxBytes} bytes of JSON.`;
    throw new JobsError('payload_too_large', message, { payload: { code: 'too_large', message } });
  }
  return json;
}

/** List options under the HTTP query's rules (limit 1..500, default 20; offset ≥ 0). */
export function validListQuery(options: Partial<ListQuery>): ListQuery {
  const parsed = ListQuerySchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw validationError(String(issue.path[0] ?? 'query'), issue.code, issue.message);
}

function check<T>(schema: ZodType<T>, value: unknown, field: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw validationError(field, issue.code, issue.message);
}
