import { z, type ZodEffects, type ZodString, type ZodTypeAny } from 'zod';

/** Largest value a 32-bit signed integer column holds; bounds every integer we store. */
export const INT32_MAX = 2_147_483_647;

/** Bytes of UTF-8 JSON text a payload may take (SPEC §2: 1 MiB). */
export const MAX_PAYLOAD_SIZE = 1_048_576;

/** Longest topic name, in characters. */
export const MAX_TOPIC_LENGTH = 255;

/** `cancelled` is final, like `completed` and `failed`: `POST /api/jobs/{id}/cancel` put it there. */
export const JOB_STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled'] as const;
/** The statuses a job never leaves by itself: waiting for a job ends in one of them. */
export const FINAL_STATUSES = ['completed', 'failed', 'cancelled'] as const;
export const JobStatusSchema = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatusSchema>;

const isoTime = z.string().datetime({ offset: true });

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * NUL cannot be stored in PostgreSQL text, and a lone surrogate is not text at all (it would come
 * back as U+FFFD); refusing both everywhere keeps both dialects alike, and keeps such a string
 * from ever reaching a query (PostgreSQL answers it with an error, not with "no row").
 */
export function isStorableText(s: string): boolean {
  return !s.includes('\u0000') && !LONE_SURROGATE.test(s);
}

/** `schema` refusing what `isStorableText` refuses, with a message naming the field. */
function storable(schema: ZodString, name: string) {
  return schema.refine(isStorableText, `${name} must be valid Unicode without NUL (\\u0000) characters.`);
}

/**
 * A query parameter sent empty (`?status=`, what a form with nothing chosen sends) counts as
 * absent rather than as a filter on the empty string. Built as a preprocess effect with the
 * schema's own input type (`z.preprocess` would widen it to `unknown`), so clients stay typed.
 */
function emptyAsAbsent<T extends ZodTypeAny>(schema: T): ZodEffects<T> {
  return z.effect(schema, { type: 'preprocess', transform: (value) => (value === '' ? undefined : value) });
}

export const TopicSchema = storable(
  z
    .string({ required_error: 'Topic is required.' })
    .min(1, 'Topic must not be empty.')
    .max(MAX_TOPIC_LENGTH, `Topic must be at most ${MAX_TOPIC_LENGTH} characters.`),
  'Topic',
);

export const MaxRetriesSchema = z
  .number({ invalid_type_error: 'max_retries must be an integer ≥ 0.' })
  .int('max_retries must be an integer ≥ 0.')
  .min(0, 'max_retries must be an integer ≥ 0.')
  .max(INT32_MAX, `max_retries must be at most ${INT32_MAX}.`);

/** Longest unique key, in characters. */
export const MAX_UNIQUE_KEY_LENGTH = 255;

export const UniqueKeySchema = storable(
  z
    .string({ invalid_type_error: 'unique_key must be a string.' })
    .min(1, 'unique_key must not be empty.')
    .max(MAX_UNIQUE_KEY_LENGTH, `unique_key must be at most ${MAX_UNIQUE_KEY_LENGTH} characters.`),
  'unique_key',
);

/** The statuses in which a job holds its unique key when the enqueue names none. */
export const DEFAULT_UNIQUE_STATES: readonly JobStatus[] = ['pending', 'processing'];

const UNIQUE_STATES_MESSAGE = `unique_states must be a non-empty list of job statuses (${JOB_STATUSES.join(', ')}).`;

export const UniqueStatesSchema = z
  .array(z.enum(JOB_STATUSES, { errorMap: () => ({ message: UNIQUE_STATES_MESSAGE }) }), {
    invalid_type_error: UNIQUE_STATES_MESSAGE,
  })
  .min(1, UNIQUE_STATES_MESSAGE);

export const ON_CONFLICT_MODES = ['existing', 'replace', 'error'] as const;
export const OnConflictSchema = z.enum(ON_CONFLICT_MODES, {
  errorMap: () => ({ message: `on_conflict must be one of ${ON_CONFLICT_MODES.join(', ')}.` }),
});
export type OnConflict = z.infer<typeof OnConflictSchema>;

/** What an enqueue did: made a new job, or answered the one holding the key (as it was, or replaced). */
export const ENQUEUE_OUTCOMES = ['created', 'existing', 'replaced'] as const;
export type EnqueueOutcome = (typeof ENQUEUE_OUTCOMES)[number];

/** Lowest and highest `priority`: a PostgreSQL smallint. */
export const MIN_PRIORITY = -32_768;
export const MAX_PRIORITY = 32_767;

const PRIORITY_MESSAGE = `priority must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}.`;

function priorityRange(schema: z.ZodNumber) {
  return schema.int(PRIORITY_MESSAGE).min(MIN_PRIORITY, PRIORITY_MESSAGE).max(MAX_PRIORITY, PRIORITY_MESSAGE);
}

export const PrioritySchema = priorityRange(z.number({ invalid_type_error: PRIORITY_MESSAGE, required_error: PRIORITY_MESSAGE }));

/** A job as it leaves the API. */
export const JobSchema = z
  .object({
    id: z.string().uuid().describe('UUID v7: time-ordered.'),
    topic: z.string(),
    payload: z.unknown().describe('Any JSON value, as enqueued. Left out of a list page asked for with `payload=false`.'),
    status: JobStatusSchema,
    run_at: isoTime.describe('When the job is (or was) due, ISO 8601 UTC.'),
    retries: z.number().int().describe('Failed attempts that were retried.'),
    max_retries: z.number().int(),
    last_error: z.string().nullable().describe('The last failed attempt’s error message, or null.'),
    priority: z.number().int().describe('Lower runs first, among due jobs; 0 by default.'),
    snoozes: z.number().int().describe('Times a handler put the job back for later with `job.snooze(ms)`.'),
    cancel_requested: z
      .boolean()
      .describe('A `processing` job was asked to stop (`POST /api/jobs/{id}/cancel`): its handler’s signal aborted, and it becomes `cancelled` when the handler settles.'),
    result: z
      .unknown()
      .describe('What the handler returned (any JSON value) once `completed`; null when it returned nothing. Left out of a list page asked for with `payload=false`.'),
    progress: z
      .unknown()
      .describe('The last value the handler reported with `job.progress(value)` (any JSON value up to 64 KiB), or null. Left out of a list page asked for with `payload=false`.'),
    unique_key: z.string().nullable().describe('The unique key the job was enqueued with, or null.'),
    unique_states: z
      .array(JobStatusSchema)
      .nullable()
      .describe('The statuses in which the job holds its unique key (no other job with that key can be enqueued meanwhile); null without a key.'),
    schedule_name: z.string().nullable().describe('The recurring schedule that made the job, or null.'),
    schedule_tick: isoTime
      .nullable()
      .describe('The schedule’s tick (ISO 8601 UTC) this job is for; null for a job no schedule made, or one a trigger made.'),
    created: isoTime,
    updated: isoTime,
  })
  .describe('Job');
export type JobBody = z.infer<typeof JobSchema>;

/** A job as an enqueue answers it: the job, and whether this enqueue made it. */
export const EnqueuedJobSchema = JobSchema.extend({
  enqueued: z
    .enum(ENQUEUE_OUTCOMES)
    .describe(
      '`created`: this enqueue stored a new job. `existing`: another job held the `unique_key`; nothing was written and this is that job. `replaced`: that job was pending and took this enqueue’s topic, payload, `run_at`, `max_retries` and `priority`.',
    ),
}).describe('EnqueuedJob');
export type EnqueuedJobBody = z.infer<typeof EnqueuedJobSchema>;

export const EnqueueBodySchema = z
  .object({
    topic: TopicSchema,
    payload: z
      .unknown()
      .optional()
      .describe('Any JSON value; {} when omitted. At most 1 MiB of UTF-8 JSON; no NUL (\\u0000) in its strings or keys.'),
    run_at: isoTime.optional().describe('When to run; now when omitted.'),
    max_retries: MaxRetriesSchema.optional().describe('Retries after the first execution; the server default when omitted.'),
    priority: PrioritySchema.optional().describe(
      `${MIN_PRIORITY} to ${MAX_PRIORITY}; a lower number runs first among due jobs. The topic’s default (or 0) when omitted.`,
    ),
    unique_key: UniqueKeySchema.optional().describe(
      'While a job with this key is in one of its `unique_states`, no other job with the key is stored: `on_conflict` says what happens instead. 1–255 characters. Keys are shared by all topics.',
    ),
    unique_states: UniqueStatesSchema.optional().describe(
      'The statuses in which this job holds its `unique_key`; `["pending", "processing"]` when omitted. Only with `unique_key`.',
    ),
    on_conflict: OnConflictSchema.optional().describe(
      'When another job holds the `unique_key`: `existing` (default) answers that job and writes nothing; `replace` gives that job this topic, payload, `run_at`, `max_retries` and `priority` if it is pending, and answers a 409 otherwise; `error` answers a 409 naming it. Only with `unique_key`.',
    ),
  })
  .describe('EnqueueBody');
export type EnqueueBody = z.infer<typeof EnqueueBodySchema>;

/** Most jobs one batch enqueue takes. */
export const MAX_BATCH_SIZE = 1_000;

export const EnqueueBatchBodySchema = z
  .object({
    jobs: z
      .array(EnqueueBodySchema)
      .min(1, 'jobs must hold at least one job.')
      .max(MAX_BATCH_SIZE, `jobs must hold at most ${MAX_BATCH_SIZE} jobs.`)
      .describe('The jobs, each as the body of a single enqueue.'),
  })
  .describe('EnqueueBatchBody');
export type EnqueueBatchBody = z.infer<typeof EnqueueBatchBodySchema>;

export const JobBatchSchema = z
  .object({
    items: z
      .array(EnqueuedJobSchema)
      .describe('A job per job given, in the order given: the one stored, or the one holding its `unique_key`.'),
  })
  .describe('JobBatch');
export type JobBatch = z.infer<typeof JobBatchSchema>;

export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 500;

/**
 * A yes/no query parameter: the words `true` and `false` (a query string holds only text), or
 * a boolean from a typed caller; sent empty, the default. Anything else is a 400 naming it.
 */
function queryBoolean(name: string, fallback: boolean) {
  const schema = z.boolean({ invalid_type_error: `${name} must be true or false.` }).default(fallback);
  return z.effect(schema, {
    type: 'preprocess',
    transform: (value: unknown) => (value === '' ? undefined : value === 'true' ? true : value === 'false' ? false : value),
  });
}

/**
 * How a list page is ordered: `-created` newest first (`created`, then `id`, descending), or
 * `priority` in the order the jobs would run (`priority`, then `run_at`, then `id`, ascending).
 */
export const LIST_SORTS = ['-created', 'priority'] as const;
export type ListSort = (typeof LIST_SORTS)[number];

/** The fields of a job as the API answers it, which `?fields=` may name. */
export const JOB_FIELDS = Object.keys(JobSchema.shape) as (keyof JobBody)[];

const FIELDS_MESSAGE = `fields must be a comma-separated list of job fields (${JOB_FIELDS.join(', ')}).`;

/** `?fields=id,topic,status` (PocketBase's parameter): each item carries only these. */
export const FieldsSchema = z
  .string()
  .max(1_000, FIELDS_MESSAGE)
  .refine((value) => value.split(',').every((f) => (JOB_FIELDS as string[]).includes(f.trim())), FIELDS_MESSAGE);

export const ListQuerySchema = z.object({
  topic: emptyAsAbsent(storable(z.string().max(MAX_TOPIC_LENGTH), 'Topic').optional()),
  unique_key: emptyAsAbsent(UniqueKeySchema.optional()),
  status: emptyAsAbsent(JobStatusSchema.optional()),
  priority: emptyAsAbsent(priorityRange(z.coerce.number({ invalid_type_error: PRIORITY_MESSAGE })).optional()),
  sort: emptyAsAbsent(z.enum(LIST_SORTS, { message: `sort must be ${LIST_SORTS.join(' or ')}.` }).default('-created')),
  limit: emptyAsAbsent(z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(DEFAULT_LIST_LIMIT)),
  offset: emptyAsAbsent(z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0)),
  payload: queryBoolean('payload', true),
  fields: emptyAsAbsent(FieldsSchema.optional()),
});
export type ListQuery = z.infer<typeof ListQuerySchema>;

/** The longest `GET /api/jobs/{id}/wait` waits, ms, and how long it waits when not told. */
export const MAX_WAIT_TIMEOUT = 60_000;
export const DEFAULT_WAIT_TIMEOUT = 30_000;
const WAIT_TIMEOUT_MESSAGE = `timeout must be an integer from 0 to ${MAX_WAIT_TIMEOUT} (ms).`;

export const WaitQuerySchema = z.object({
  timeout: emptyAsAbsent(
    z.coerce
      .number({ invalid_type_error: WAIT_TIMEOUT_MESSAGE })
      .int(WAIT_TIMEOUT_MESSAGE)
      .min(0, WAIT_TIMEOUT_MESSAGE)
      .max(MAX_WAIT_TIMEOUT, WAIT_TIMEOUT_MESSAGE)
      .default(DEFAULT_WAIT_TIMEOUT),
  ),
});
export type WaitQuery = z.infer<typeof WaitQuerySchema>;

export const JobPageSchema = z
  .object({
    items: z.array(JobSchema),
    total: z.number().int(),
    limit: z.number().int(),
    offset: z.number().int(),
  })
  .describe('JobPage');
export type JobPage = z.infer<typeof JobPageSchema>;

export const StatsSchema = z
  .object({
    pending: z.number().int(),
    processing: z.number().int(),
    completed: z.number().int(),
    failed: z.number().int(),
    cancelled: z.number().int(),
    total: z.number().int(),
    success_rate: z.number().min(0).max(1).describe('completed / (completed + failed); 0 when both are 0.'),
  })
  .describe('Stats');
export type Stats = z.infer<typeof StatsSchema>;

/** PocketBase's error body: `data` maps a field to its first problem. */
export const ErrorSchema = z
  .object({
    status: z.number().int(),
    message: z.string(),
    data: z.record(z.object({ code: z.string(), message: z.string() })),
  })
  .describe('Error');
export type ErrorBody = z.infer<typeof ErrorSchema>;

export const AuthRequestSchema = z
  .object({
    identity: storable(z.string().min(1).max(255), 'identity'),
    password: storable(z.string().min(1).max(1024), 'password'),
  })
  .describe('AuthRequest');
export type AuthRequest = z.infer<typeof AuthRequestSchema>;

export const SuperuserSchema = z
  .object({
    id: z.string(),
    collectionId: z.string(),
    collectionName: z.literal('_superusers'),
    email: z.string(),
    created: isoTime,
    updated: isoTime,
  })
  .describe('Superuser');
export type SuperuserBody = z.infer<typeof SuperuserSchema>;

export const AuthResponseSchema = z
  .object({ token: z.string(), record: SuperuserSchema })
  .describe('AuthResponse');
export type AuthResponse = z.infer<typeof AuthResponseSchema>;

/** `GET /api/`: where things are, for a person or a program that starts at the banner's address. */
export const ApiIndexSchema = z
  .object({
    name: z.literal('Jobbase'),
    version: z.string().describe('The API’s version, as in the OpenAPI document.'),
    links: z
      .object({
        health: z.string(),
        docs: z.string().describe('The rendered API reference.'),
        openapi: z.string().describe('The OpenAPI document.'),
        signIn: z.string().describe('Where a superuser signs in (POST).'),
        jobs: z.string().describe('The jobs, for a superuser.'),
        admin: z.string().describe('The admin UI.'),
      })
      .describe('Paths on this server.'),
  })
  .describe('ApiIndex');
export type ApiIndex = z.infer<typeof ApiIndexSchema>;

export const HealthSchema = z
  .object({ code: z.number().int(), message: z.string(), data: z.record(z.unknown()) })
  .describe('Health');
export type Health = z.infer<typeof HealthSchema>;
