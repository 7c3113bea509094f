import { initContract } from '@ts-rest/core';
import { z } from 'zod';
import { routeDocs, type RouterDocs } from './route-docs.js';
import { ErrorSchema, JOB_STATUSES, TopicSchema } from './schemas.js';

/**
 * Topic control (issue 17): each topic's figures and the settings every process applies to it
 * (paused, `max_running`, `rate_limit`). Its own router, `contract.topics`; `topics.ts` is
 * something else (`defineTopics`, typed payloads).
 */

const c = initContract();

/** The largest `max_running` and `rate_limit.max`: far above any pool, and an int4 on PostgreSQL. */
export const MAX_TOPIC_LIMIT = 1_000_000;
/** The longest `rate_limit.per_ms`: a day. */
export const MAX_RATE_WINDOW = 86_400_000;

const MAX_RUNNING_MESSAGE = `max_running must be null or an integer from 1 to ${MAX_TOPIC_LIMIT}.`;
const RATE_MAX_MESSAGE = `rate_limit.max must be an integer from 1 to ${MAX_TOPIC_LIMIT}.`;
const PER_MS_MESSAGE = `rate_limit.per_ms must be an integer from 1 to ${MAX_RATE_WINDOW} (ms).`;

export const MaxRunningSchema = z
  .number({ invalid_type_error: MAX_RUNNING_MESSAGE })
  .int(MAX_RUNNING_MESSAGE)
  .min(1, MAX_RUNNING_MESSAGE)
  .max(MAX_TOPIC_LIMIT, MAX_RUNNING_MESSAGE)
  .nullable()
  .describe('Most jobs of the topic `processing` at once, across every process; null: no cap.');

export const RateLimitSchema = z
  .object(
    {
      max: z
        .number({ invalid_type_error: RATE_MAX_MESSAGE, required_error: RATE_MAX_MESSAGE })
        .int(RATE_MAX_MESSAGE)
        .min(1, RATE_MAX_MESSAGE)
        .max(MAX_TOPIC_LIMIT, RATE_MAX_MESSAGE)
        .describe('Most jobs of the topic that start in any window of `per_ms`.'),
      per_ms: z
        .number({ invalid_type_error: PER_MS_MESSAGE, required_error: PER_MS_MESSAGE })
        .int(PER_MS_MESSAGE)
        .min(1, PER_MS_MESSAGE)
        .max(MAX_RATE_WINDOW, PER_MS_MESSAGE)
        .describe('The window, ms.'),
    },
    { invalid_type_error: 'rate_limit must be null or an object { max, per_ms }.' },
  )
  .strict()
  .nullable()
  .describe('At most `max` jobs of the topic start in any window of `per_ms` ms, across every process; null: no limit.');

/** `PATCH /api/topics/{topic}`: a field left out stays as it is; null clears it. Unknown fields are refused. */
export const TopicPatchSchema = z
  .object({ max_running: MaxRunningSchema.optional(), rate_limit: RateLimitSchema.optional() })
  .strict()
  .describe('TopicPatch');
export type TopicPatch = z.infer<typeof TopicPatchSchema>;

const isoTime = z.string().datetime({ offset: true });

export const TopicInfoSchema = z
  .object({
    topic: z.string(),
    counts: z
      .object(Object.fromEntries(JOB_STATUSES.map((s) => [s, z.number().int()])) as Record<(typeof JOB_STATUSES)[number], z.ZodNumber>)
      .describe('Jobs of the topic in each status.'),
    oldest_pending_age_ms: z
      .number()
      .int()
      .nullable()
      .describe('How long the longest-waiting due pending job has waited (since its `run_at`), ms; null when no job is due.'),
    paused: z.boolean().describe('No process claims the topic’s jobs while it is paused; enqueues are still accepted.'),
    max_running: z.number().int().nullable().describe('Most jobs of the topic `processing` at once, across every process; null: no cap.'),
    rate_limit: z
      .object({ max: z.number().int(), per_ms: z.number().int() })
      .nullable()
      .describe('At most `max` starts in any window of `per_ms` ms, across every process; null: no limit.'),
    registered_at: isoTime.nullable().describe('When a process last started with a handler for the topic; null if none has.'),
    updated: isoTime.nullable().describe('When the topic’s settings last changed; null if it never had any.'),
  })
  .describe('Topic');
export type TopicInfoBody = z.infer<typeof TopicInfoSchema>;

export const TopicListSchema = z.object({ items: z.array(TopicInfoSchema) }).describe('TopicList');
export type TopicList = z.infer<typeof TopicListSchema>;

const topicParams = z.object({ topic: TopicSchema.describe('The topic’s name (URL-encoded).') });

const superuserOnly: RouterDocs = { security: 'superuser' };

const exampleTopic: TopicInfoBody = {
  topic: 'email.send',
  counts: Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as TopicInfoBody['counts'],
  oldest_pending_age_ms: 1250,
  paused: false,
  max_running: 3,
  rate_limit: { max: 100, per_ms: 60_000 },
  registered_at: '2025-01-08T12:00:00.000Z',
  updated: '2025-01-08T12:00:00.000Z',
};
exampleTopic.counts.pending = 42;
exampleTopic.counts.processing = 3;
exampleTopic.counts.completed = 1200;

const pausedExample: TopicInfoBody = { ...exampleTopic, paused: true };

const topicPatchExample: TopicPatch = { max_running: 3, rate_limit: { max: 100, per_ms: 60_000 } };

const topicValidationErrorExample = {
  status: 400,
  message: 'rate_limit.per_ms: rate_limit.per_ms must be an integer from 1 to 86400000 (ms).',
  data: { 'rate_limit.per_ms': { code: 'too_small', message: 'rate_limit.per_ms must be an integer from 1 to 86400000 (ms).' } },
};

const topicNotFoundExample = { status: 404, message: 'Topic "email.send" has no jobs, handler or settings.', data: {} };

const NOT_FOUND = 'No job, handler or settings of this topic were ever recorded.';

export const topicControlContract = c.router(
  {
    list: {
      method: 'GET',
      path: '/api/topics',
      responses: { 200: TopicListSchema, 401: ErrorSchema },
      summary: 'List topics with their figures and settings',
      description:
        'Every topic that has jobs, whose handler a process registered, or that has settings: its jobs by status, how long its longest-waiting due job has waited, whether it is paused, its `max_running` and its `rate_limit`. Ordered by topic.',
      metadata: routeDocs({
        operationId: 'listTopics',
        responses: { 200: 'The topics.' },
        examples: { responses: { 200: { items: [exampleTopic] } } },
      }),
    },
    get: {
      method: 'GET',
      path: '/api/topics/:topic',
      pathParams: topicParams,
      responses: { 200: TopicInfoSchema, 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema },
      summary: 'Get one topic',
      description: 'The topic’s figures and settings, as the list shows them.',
      metadata: routeDocs({
        operationId: 'getTopic',
        responses: { 200: 'The topic.', 400: 'The topic name is invalid.', 404: NOT_FOUND },
        examples: { responses: { 200: exampleTopic, 404: topicNotFoundExample } },
      }),
    },
    update: {
      method: 'PATCH',
      path: '/api/topics/:topic',
      pathParams: topicParams,
      body: TopicPatchSchema,
      responses: { 200: TopicInfoSchema, 400: ErrorSchema, 401: ErrorSchema, 415: ErrorSchema },
      summary: 'Set a topic’s cap and rate limit',
      description:
        '`max_running`: never more jobs of the topic `processing` at once than this, however many processes claim. `rate_limit`: at most `max` jobs of the topic start in any window of `per_ms` ms; jobs over the limit wait, using no attempt. A field left out stays as it is; null clears it. Every process applies the new settings within a second.',
      metadata: routeDocs({
        operationId: 'updateTopic',
        responses: {
          200: 'The topic with its new settings.',
          400: 'The body is invalid (`max_running` not null or an integer from 1 to 1,000,000, `rate_limit` not null or `{ max, per_ms }` with integers ≥ 1, an unknown field); `data` names the field.',
          415: 'The body was sent with another `Content-Type` than `application/json`.',
        },
        examples: { request: topicPatchExample, responses: { 200: exampleTopic, 400: topicValidationErrorExample } },
      }),
    },
    pause: {
      method: 'POST',
      path: '/api/topics/:topic/pause',
      pathParams: topicParams,
      body: c.noBody(),
      responses: { 200: TopicInfoSchema, 400: ErrorSchema, 401: ErrorSchema },
      summary: 'Pause a topic',
      description:
        'No process claims the topic’s jobs from at most a second after the answer; jobs already running finish; enqueues are still accepted. The pause is stored, so it outlasts restarts.',
      metadata: routeDocs({
        operationId: 'pauseTopic',
        responses: { 200: 'The topic, paused.', 400: 'The topic name is invalid.' },
        examples: { responses: { 200: pausedExample } },
      }),
    },
    resume: {
      method: 'POST',
      path: '/api/topics/:topic/resume',
      pathParams: topicParams,
      body: c.noBody(),
      responses: { 200: TopicInfoSchema, 400: ErrorSchema, 401: ErrorSchema },
      summary: 'Resume a paused topic',
      description: 'The topic’s waiting jobs start again within a second.',
      metadata: routeDocs({
        operationId: 'resumeTopic',
        responses: { 200: 'The topic, not paused.', 400: 'The topic name is invalid.' },
        examples: { responses: { 200: exampleTopic } },
      }),
    },
  },
  { metadata: superuserOnly },
);
