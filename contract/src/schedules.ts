import { initContract } from '@ts-rest/core';
import { z } from 'zod';
import { routeDocs, type RouterDocs } from './route-docs.js';
import { ErrorSchema, JobSchema, JobStatusSchema, MaxRetriesSchema, PrioritySchema, TopicSchema, type ErrorBody, type JobBody } from './schemas.js';

/*
 * Recurring schedules (issue 16): shapes and routes. The server checks what a shape cannot say
 * (a cron that parses and fires, an IANA time zone, a free name) and answers 400 naming the field.
 */

const c = initContract();
const isoTime = z.string().datetime({ offset: true });

export const MisfireSchema = z
  .union([
    z.enum(['skip', 'run_once']),
    z.object({ backfill: z.object({ max: z.number().int().describe('1 to 1,000: the most missed ticks run.') }).strict() }).strict(),
  ])
  .describe(
    'What happens to ticks missed while no process ran: `skip` (default: none runs), `run_once` (one job for the latest), or `{ "backfill": { "max": N } }` (the N latest, each its own job).',
  );

export const OverlapSchema = z
  .enum(['allow', 'skip'])
  .describe('`allow` (default): a job per tick. `skip`: no new job while the schedule’s last job is pending or processing; the tick is counted in `skipped_ticks`.');

const definition = {
  cron: z.string().describe('5 fields (minute hour day month weekday), or 6 with seconds first, as croner reads them.'),
  timezone: z.string().describe('The IANA time zone the cron is read in; `UTC` when omitted.'),
  topic: TopicSchema,
  payload: z.unknown().describe('The payload of each job; `{}` when omitted.'),
  max_retries: MaxRetriesSchema.describe('Of each job; the topic’s default, else the server’s, when omitted.'),
  priority: PrioritySchema.describe('Of each job; the topic’s default, else 0, when omitted.'),
  misfire: MisfireSchema,
  overlap: OverlapSchema,
};

export const ScheduleSchema = z
  .object({
    name: z.string(),
    cron: z.string(),
    timezone: z.string(),
    topic: z.string(),
    payload: z.unknown(),
    max_retries: z.number().int().nullable().describe('null: the topic’s or server’s default.'),
    priority: z.number().int().nullable().describe('null: the topic’s default, else 0.'),
    misfire: MisfireSchema,
    overlap: OverlapSchema,
    paused: z.boolean(),
    next_run_at: isoTime.describe('The next tick to fire, ISO 8601 UTC.'),
    last_run_at: isoTime.nullable().describe('The tick of the last job a tick made, or null.'),
    last_job_id: z.string().nullable().describe('The last job the schedule made (a tick’s or a trigger’s), or null.'),
    last_job_status: JobStatusSchema.nullable().describe('That job’s status; null when there is none or it was deleted.'),
    skipped_ticks: z.number().int().describe('Ticks not run because the last job was still pending or processing (`overlap: skip`).'),
    last_skipped_at: isoTime.nullable(),
    created: isoTime,
    updated: isoTime,
  })
  .describe('Schedule');
export type ScheduleBody = z.infer<typeof ScheduleSchema>;

export const ScheduleCreateBodySchema = z
  .object({
    name: z.string().describe('Unique; 1–255 letters, digits, `.`, `_`, `:` and `-`.'),
    cron: definition.cron,
    timezone: definition.timezone.optional(),
    topic: definition.topic,
    payload: definition.payload.optional(),
    max_retries: definition.max_retries.optional(),
    priority: definition.priority.optional(),
    misfire: definition.misfire.optional(),
    overlap: definition.overlap.optional(),
    paused: z.boolean().optional().describe('Created paused; false when omitted.'),
  })
  .strict()
  .describe('ScheduleCreateBody');
export type ScheduleCreateBody = z.infer<typeof ScheduleCreateBodySchema>;

export const ScheduleUpdateBodySchema = z
  .object({
    cron: definition.cron.optional(),
    timezone: definition.timezone.optional(),
    topic: definition.topic.optional(),
    payload: definition.payload.optional(),
    max_retries: definition.max_retries.optional(),
    priority: definition.priority.optional(),
    misfire: definition.misfire.optional(),
    overlap: definition.overlap.optional(),
  })
  .strict()
  .describe('ScheduleUpdateBody');
export type ScheduleUpdateBody = z.infer<typeof ScheduleUpdateBodySchema>;

export const ScheduleListSchema = z.object({ items: z.array(ScheduleSchema).describe('Every schedule, by name.') }).describe('ScheduleList');
export type ScheduleList = z.infer<typeof ScheduleListSchema>;

const nameParams = z.object({ name: z.string().describe('The schedule’s name.') });

export const scheduleExample = {
  name: 'nightly-report',
  cron: '30 2 * * *',
  timezone: 'Europe/Berlin',
  topic: 'send_report',
  payload: { to: 'team@example.com' },
  max_retries: null,
  priority: null,
  misfire: 'run_once',
  overlap: 'skip',
  paused: false,
  next_run_at: '2025-01-09T01:30:00.000Z',
  last_run_at: '2025-01-08T01:30:00.000Z',
  last_job_id: '0194455b-5100-7c3a-9f2e-4b8d1a6e0c57',
  last_job_status: 'completed',
  skipped_ticks: 0,
  last_skipped_at: null,
  created: '2025-01-01T10:00:00.000Z',
  updated: '2025-01-08T01:30:00.010Z',
} satisfies ScheduleBody;

export const scheduleCreateExample = {
  name: 'nightly-report',
  cron: '30 2 * * *',
  timezone: 'Europe/Berlin',
  topic: 'send_report',
  payload: { to: 'team@example.com' },
  misfire: 'run_once',
  overlap: 'skip',
} satisfies ScheduleCreateBody;

export const scheduleErrorExample = {
  status: 400,
  message: 'cron "0 0 30 2 *" never fires.',
  data: { cron: { code: 'never_fires', message: 'cron "0 0 30 2 *" never fires.' } },
} satisfies ErrorBody;

export const triggeredJobExample = {
  id: '0194455b-5100-7c3a-9f2e-4b8d1a6e0c59',
  topic: 'send_report',
  payload: { to: 'team@example.com' },
  status: 'pending',
  run_at: '2025-01-08T12:00:00.000Z',
  retries: 0,
  max_retries: 3,
  last_error: null,
  priority: 0,
  snoozes: 0,
  unique_key: null,
  unique_states: null,
  schedule_name: 'nightly-report',
  schedule_tick: null,
  created: '2025-01-08T12:00:00.000Z',
  updated: '2025-01-08T12:00:00.000Z',
} satisfies JobBody;

const superuserOnly: RouterDocs = { security: 'superuser' };
const BODY_ANSWERS = {
  413: 'The request body is larger than the server’s body limit (4 MiB unless set otherwise: `serve --body-limit`).',
  415: 'The body was sent with another `Content-Type` than `application/json`.',
};
const BAD_DEFINITION =
  'The body is invalid: an unknown field, a cron that does not parse or never fires (e.g. Feb 30), an unknown time zone, a bad topic, `misfire` or `overlap`, or a payload over 1 MiB; `data` names the field.';

export const schedulesContract = c.router(
  {
    list: {
      method: 'GET',
      path: '/api/schedules',
      responses: { 200: ScheduleListSchema, 401: ErrorSchema },
      summary: 'List recurring schedules',
      description: 'Every schedule, by name, with its next run, last run and last job’s status.',
      metadata: routeDocs({
        operationId: 'listSchedules',
        responses: { 200: 'The schedules.' },
        examples: { responses: { 200: { items: [scheduleExample] } } },
      }),
    },
    create: {
      method: 'POST',
      path: '/api/schedules',
      body: ScheduleCreateBodySchema,
      responses: { 200: ScheduleSchema, 400: ErrorSchema, 401: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema },
      summary: 'Create a recurring schedule',
      description:
        'Stores a schedule: each tick of `cron` in `timezone` makes one job of `topic` with `payload`, exactly once however many processes run the engine. Every started engine (and `serve`) fires due schedules.',
      metadata: routeDocs({
        operationId: 'createSchedule',
        responses: {
          200: 'The schedule as stored, with its first `next_run_at`.',
          400: `${BAD_DEFINITION} A name already taken is refused the same way (\`data.name.code\` \`taken\`).`,
          ...BODY_ANSWERS,
        },
        examples: { request: scheduleCreateExample, responses: { 200: scheduleExample, 400: scheduleErrorExample } },
      }),
    },
    get: {
      method: 'GET',
      path: '/api/schedules/:name',
      pathParams: nameParams,
      responses: { 200: ScheduleSchema, 401: ErrorSchema, 404: ErrorSchema },
      summary: 'Get one schedule',
      description: 'The schedule with this name.',
      metadata: routeDocs({ operationId: 'getSchedule', responses: { 200: 'The schedule.' }, examples: { responses: { 200: scheduleExample } } }),
    },
    update: {
      method: 'PATCH',
      path: '/api/schedules/:name',
      pathParams: nameParams,
      body: ScheduleUpdateBodySchema,
      responses: { 200: ScheduleSchema, 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema },
      summary: 'Change a schedule',
      description: 'Changes the fields given. A new `cron` or `timezone` moves `next_run_at` to its next tick from now; otherwise it stays.',
      metadata: routeDocs({
        operationId: 'updateSchedule',
        responses: { 200: 'The schedule as stored now.', 400: BAD_DEFINITION, ...BODY_ANSWERS },
        examples: { request: { overlap: 'allow' }, responses: { 200: { ...scheduleExample, overlap: 'allow' }, 400: scheduleErrorExample } },
      }),
    },
    delete: {
      method: 'DELETE',
      path: '/api/schedules/:name',
      pathParams: nameParams,
      body: c.noBody(),
      responses: { 204: c.noBody(), 401: ErrorSchema, 404: ErrorSchema },
      summary: 'Delete a schedule',
      description: 'No tick fires after this; the jobs it made stay.',
      metadata: routeDocs({ operationId: 'deleteSchedule', responses: { 204: 'Deleted.' } }),
    },
    pause: {
      method: 'POST',
      path: '/api/schedules/:name/pause',
      pathParams: nameParams,
      body: c.noBody(),
      responses: { 200: ScheduleSchema, 401: ErrorSchema, 404: ErrorSchema },
      summary: 'Pause a schedule',
      description: 'No tick fires while paused (a trigger still does).',
      metadata: routeDocs({
        operationId: 'pauseSchedule',
        responses: { 200: 'The schedule, `paused`.' },
        examples: { responses: { 200: { ...scheduleExample, paused: true } } },
      }),
    },
    resume: {
      method: 'POST',
      path: '/api/schedules/:name/resume',
      pathParams: nameParams,
      body: c.noBody(),
      responses: { 200: ScheduleSchema, 401: ErrorSchema, 404: ErrorSchema },
      summary: 'Resume a paused schedule',
      description: 'Ticks that passed while it was paused do not fire: `next_run_at` becomes the next tick from now.',
      metadata: routeDocs({ operationId: 'resumeSchedule', responses: { 200: 'The schedule, running.' }, examples: { responses: { 200: scheduleExample } } }),
    },
    trigger: {
      method: 'POST',
      path: '/api/schedules/:name/trigger',
      pathParams: nameParams,
      body: c.noBody(),
      responses: { 200: JobSchema, 401: ErrorSchema, 404: ErrorSchema },
      summary: 'Run a schedule’s job now',
      description: 'Makes one job now, as a tick would, with `schedule_tick` null: not counted as a tick, `next_run_at` unchanged. Paused or not.',
      metadata: routeDocs({ operationId: 'triggerSchedule', responses: { 200: 'The job made.' }, examples: { responses: { 200: triggeredJobExample } } }),
    },
  },
  { metadata: superuserOnly },
);
