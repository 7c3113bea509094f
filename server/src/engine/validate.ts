import {
  DEFAULT_UNIQUE_STATES,
  ListQuerySchema,
  MaxRetriesSchema,
  PrioritySchema,
  OnConflictSchema,
  TopicSchema,
  UniqueKeySchema,
  UniqueStatesSchema,
  WorkerTokenNameSchema,
  type JobStatus,
  type ListQuery,
  type OnConflict,
} from '@jobbase/contract';
import type { UniqueInsert } from '../store/types.js';
import type { ZodType, ZodTypeDef } from 'zod';
import { JobsError, validationError } from '../errors.js';

export interface EnqueueOptions {
  /** When the job is due; now when omitted. A Date or an ISO 8601 string. */
  runAt?: Date | string;
  /** Retries after the first execution (0: run once); the topic's default, else the engine's, when omitted. */
  maxRetries?: number;
  /**
   * While a job with this key is in one of its unique states, no other job with the key is
   * stored; `onConflict` says what happens instead. 1–255 characters, shared by all topics.
   */
  uniqueKey?: string;
  /** The statuses in which this job holds its key; `['pending', 'processing']` when omitted. */
  uniqueStates?: readonly JobStatus[];
  /**
   * Another job holds the key: `existing` (default) answers it and writes nothing; `replace`
   * gives it this enqueue's topic, payload, runAt, maxRetries and priority if it is pending, and throws a
   * `unique_conflict` JobsError otherwise; `error` throws that error, naming it.
   */
  onConflict?: OnConflict;
  /** -32768 to 32767; lower runs first among due jobs. The topic's default, else 0, when omitted. */
  priority?: number;
}

/** Years 1..9999, as ms since the epoch: see `validRunAt`. */
const MIN_RUN_AT = -62_135_596_800_000;
export const MAX_RUN_AT = 253_402_300_799_999;

/** Topics already found valid: a service enqueues few topics many times (bounded: cleared when full). */
const validTopics = new Set<string>();
const VALID_TOPICS_KEPT = 1_024;

/** The same rules the HTTP contract states, applied to library calls (wire field names). */
export function validTopic(topic: unknown): string {
  if (typeof topic === 'string' && validTopics.has(topic)) return topic;
  const valid = check(TopicSchema, topic, 'topic');
  if (validTopics.size >= VALID_TOPICS_KEPT) validTopics.clear();
  validTopics.add(valid);
  return valid;
}

/** A worker token's name, as `POST /api/worker-tokens` checks it (the CLI's `--name` too). */
export function validWorkerTokenName(name: unknown): string {
  return check(WorkerTokenNameSchema, name, 'name');
}

export function validMaxRetries(maxRetries: unknown): number {
  return check(MaxRetriesSchema, maxRetries, 'max_retries');
}

/** The unique key and its settings, or undefined without a key (settings without one are refused). */
export function validUnique(options: EnqueueOptions): UniqueInsert | undefined {
  const { uniqueKey, uniqueStates, onConflict } = options;
  if (uniqueKey === undefined) {
    for (const [field, value] of [['unique_states', uniqueStates], ['on_conflict', onConflict]] as const) {
      if (value !== undefined) throw validationError(field, 'missing_unique_key', `${field} needs a unique_key.`);
    }
    return undefined;
  }
  const key = check(UniqueKeySchema, uniqueKey, 'unique_key');
  const states = uniqueStates === undefined ? DEFAULT_UNIQUE_STATES : check(UniqueStatesSchema, uniqueStates, 'unique_states');
  return {
    key,
    states: [...new Set(states)],
    onConflict: onConflict === undefined ? 'existing' : check(OnConflictSchema, onConflict, 'on_conflict'),
  };
}

export function validPriority(priority: unknown): number {
  return check(PrioritySchema, priority, 'priority');
}

export function validRunAt(runAt: Date | string | undefined, now: Date): Date {
  if (runAt === undefined) return now;
  const date = runAt instanceof Date ? runAt : typeof runAt === 'string' ? new Date(runAt) : new Date(NaN);
  const time = date.getTime();
  // Years 1..9999: ISO text stays fixed-width, so times sort as text on SQLite, and PostgreSQL
  // has no year 0 (it would come back as 1 BC).
  if (!Number.isFinite(time) || time < MIN_RUN_AT || time > MAX_RUN_AT) {
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
  // JSON.stringify writes a lone surrogate as a \udXXX escape (paired ones stay raw), and
  // PostgreSQL's jsonb refuses those; refused on both dialects, so they behave alike.
  if (LONE_SURROGATE_ESCAPE.test(json)) {
    throw validationError('payload', 'invalid_text', 'payload strings must be valid Unicode (no lone surrogates).');
  }
  // NUL, in a value or a key, is written `\u0000`; PostgreSQL's jsonb refuses it. Checked here
  // so SQLite refuses it too, and a batch names the job it is in.
  if (json.includes('\\u0000') && NUL_ESCAPE.test(json)) {
    throw validationError('payload', 'unsupported_text', 'payload must not contain NUL (\\u0000) characters.');
  }
  return json;
}

/** A `\ud800`–`\udfff` escape whose backslash is not itself escaped. */
const LONE_SURROGATE_ESCAPE = /(?<!\\)(?:\\\\)*\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

/** A `\u0000` escape whose backslash is not itself escaped (`\\u0000` is text, not NUL). */
const NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/;

/** List options under the HTTP query's rules (limit 1..500, default 20; offset ≥ 0). */
export function validListQuery(options: Partial<ListQuery>): ListQuery {
  return check(ListQuerySchema, options);
}

/**
 * The value as the schema parses it, or a validation error on its first problem, named `field`
 * (or, for an object, the field the problem is in).
 */
function check<T>(schema: ZodType<T, ZodTypeDef, unknown>, value: unknown, field?: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw validationError(field ?? String(issue.path[0] ?? 'query'), issue.code, issue.message);
}
