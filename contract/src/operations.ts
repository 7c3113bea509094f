import { initContract } from '@ts-rest/core';
import { z } from 'zod';
import { routeDocs, type RouterDocs } from './route-docs.js';
import { ErrorSchema, JOB_STATUSES, JobStatusSchema, MAX_TOPIC_LENGTH } from './schemas.js';

const c = initContract();

const isoTime = z.string().datetime({ offset: true });

/** Most jobs one bulk call changes when it is given a `limit`. */
export const MAX_BULK_LIMIT = 1_000_000;

/**
 * The body of a bulk action: the list's filters, `dry_run` and `limit`. The statuses an action
 * takes are its own (requeue: failed or cancelled; delete: pending, failed or cancelled; cancel:
 * pending or processing); a `status` outside them is a 400.
 */
export const BulkActionBodySchema = z
  .object({
    topic: z.string().min(1).max(MAX_TOPIC_LENGTH).optional().describe('Only jobs of this topic.'),
    status: JobStatusSchema.optional().describe('Only jobs in this status; it must be one the action takes. All of those when omitted.'),
    created_before: isoTime.optional().describe('Only jobs created before this instant.'),
    created_after: isoTime.optional().describe('Only jobs created after this instant.'),
    dry_run: z.boolean().optional().describe('`true`: count the jobs that would change, change none.'),
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_BULK_LIMIT)
      .optional()
      .describe('Change at most this many jobs in this call (call again for the next ones: a screen can show progress). All by default.'),
  })
  .strict()
  .describe('BulkActionBody');
export type BulkActionBody = z.infer<typeof BulkActionBodySchema>;

export const BulkResultSchema = z
  .object({
    dry_run: z.boolean(),
    matched: z.number().int().optional().describe('Dry run only: the jobs the filters take (at most `limit`).'),
    changed: z.number().int().describe('Jobs this call changed (0 in a dry run).'),
  })
  .describe('BulkResult');
export type BulkResult = z.infer<typeof BulkResultSchema>;

/** `GET /api/jobs/events`: one server-sent event's `data`. */
export const JobEventSchema = z
  .object({
    id: z.string().describe('As the SSE `id:` line; send it back as `Last-Event-ID` to resume.'),
    type: z
      .string()
      .describe(
        `What happened: \`created\`, \`started\`, \`progress\` (a running job reported progress), \`completed\`, \`failed\`, \`cancelled\`, \`retried\`, \`snoozed\`, \`released\`, \`requeued\`, \`deleted\`, or the name of a status a job moved into (${JOB_STATUSES.join(', ')}); \`gap\`: events may have been lost, reload what you show.`,
      ),
    job: z.object({ id: z.string(), topic: z.string(), status: JobStatusSchema }).optional(),
    at: isoTime.describe('When this server heard of it.'),
  })
  .describe('JobEvent');
export type JobEvent = z.infer<typeof JobEventSchema>;

export const EventsQuerySchema = z.object({
  topic: z.string().max(MAX_TOPIC_LENGTH).optional(),
});

const superuserOnly: RouterDocs = { security: 'superuser' };

const bulkResponses = {
  200: BulkResultSchema,
  400: ErrorSchema,
  401: ErrorSchema,
  415: ErrorSchema,
};

const bulkExample = { topic: 'send_email', status: 'failed', dry_run: true };

export const operationsContract = c.router(
  {
    requeueMatching: {
      method: 'POST',
      path: '/api/jobs/requeue',
      body: BulkActionBodySchema,
      responses: bulkResponses,
      summary: 'Requeue the failed or cancelled jobs matching filters',
      description:
        'Puts the `failed` and `cancelled` jobs the filters take back to `pending`, as `POST /api/jobs/{id}/requeue` does each, in chunks of 500 (each its own short statement, so no long lock). A job whose `unique_key` another job holds stays as it is. With `dry_run`, answers how many jobs match and changes none.',
      metadata: routeDocs({
        operationId: 'requeueJobs',
        responses: {
          200: '`changed`: the jobs requeued; with `dry_run`, `matched`: the jobs that would be.',
          400: 'A field is invalid, or `status` is neither `failed` nor `cancelled`; `data` names it.',
          415: 'The body was sent with another `Content-Type` than `application/json`.',
        },
        examples: {
          request: bulkExample,
          responses: {
            200: { dry_run: true, matched: 1204, changed: 0 },
            400: { status: 400, message: 'requeue takes failed or cancelled jobs only, not completed.', data: { status: { code: 'not_allowed', message: 'requeue takes failed or cancelled jobs only, not completed.' } } },
          },
        },
      }),
    },
    deleteMatching: {
      method: 'POST',
      path: '/api/jobs/delete',
      body: BulkActionBodySchema,
      responses: bulkResponses,
      summary: 'Delete the pending, failed or cancelled jobs matching filters',
      description:
        'Deletes the `pending`, `failed` and `cancelled` jobs the filters take (a job being processed or completed stays), in chunks of 500, each its own short statement. With `dry_run`, answers how many jobs match and deletes none.',
      metadata: routeDocs({
        operationId: 'deleteJobs',
        responses: {
          200: '`changed`: the jobs deleted; with `dry_run`, `matched`: the jobs that would be.',
          400: 'A field is invalid, or `status` is not `pending`, `failed` or `cancelled`; `data` names it.',
          415: 'The body was sent with another `Content-Type` than `application/json`.',
        },
        examples: { request: { topic: 'send_email', status: 'failed', created_before: '2026-11-01T00:00:00Z' }, responses: { 200: { dry_run: false, changed: 318 } } },
      }),
    },
    cancelMatching: {
      method: 'POST',
      path: '/api/jobs/cancel',
      body: BulkActionBodySchema,
      responses: bulkResponses,
      summary: 'Cancel the pending or processing jobs matching filters',
      description:
        'Cancels the `pending` and `processing` jobs the filters take, as `POST /api/jobs/{id}/cancel` does each, in chunks of 500, each its own short statement: a pending job becomes `cancelled` at once; a processing one is marked, its handler’s `job.signal` aborts within a second in whichever process runs it, and it becomes `cancelled` when the handler settles. `changed` counts both (a job already marked is not counted again). With `dry_run`, answers how many jobs match and cancels none.',
      metadata: routeDocs({
        operationId: 'cancelJobs',
        responses: {
          200: '`changed`: the jobs cancelled or marked; with `dry_run`, `matched`: the jobs that would be.',
          400: 'A field is invalid, or `status` is neither `pending` nor `processing`; `data` names it.',
          415: 'The body was sent with another `Content-Type` than `application/json`.',
        },
        examples: { request: { topic: 'send_email', status: 'pending' }, responses: { 200: { dry_run: false, changed: 42 } } },
      }),
    },
    events: {
      method: 'GET',
      path: '/api/jobs/events',
      query: EventsQuerySchema,
      responses: {
        200: c.otherResponse({ contentType: 'text/event-stream', body: z.string().describe('Server-sent events; each `data:` is a JobEvent.') }),
        400: ErrorSchema,
        401: ErrorSchema,
      },
      summary: 'Follow job changes live (server-sent events)',
      description:
        'A `text/event-stream` of what happens to jobs, changed by any process on the database: created, started, completed, failed, retried, requeued, deleted… Each event’s `data` is a JSON JobEvent, its `event:` the type and its `id:` resumable: reconnect with `Last-Event-ID` and the events missed meanwhile come first, if the server still keeps them (the last 10,000), else a `gap` event says to reload. `topic` keeps one topic’s events. A comment line every 15 s keeps proxies from closing the stream.',
      metadata: routeDocs({
        operationId: 'followJobEvents',
        parameters: { topic: 'Only events of jobs of this topic.' },
        responses: { 200: 'The stream; it stays open.', 400: 'A query parameter is invalid; `data` names it.' },
        examples: {
          responses: {
            200: 'id: 5f1c2a9b.42\nevent: completed\ndata: {"id":"5f1c2a9b.42","type":"completed","job":{"id":"0190a0b2-7c1e-7000-8000-000000000001","topic":"send_email","status":"completed"},"at":"2026-11-29T12:00:00.000Z"}\n\n',
          },
        },
      }),
    },
  },
  { metadata: superuserOnly },
);

export const metricsContract = c.router({
  metrics: {
    method: 'GET',
    path: '/api/metrics',
    responses: {
      200: c.otherResponse({ contentType: 'text/plain; version=0.0.4', body: z.string().describe('The Prometheus text format (OpenMetrics when `Accept` asks for it).') }),
      401: ErrorSchema,
    },
    summary: 'Prometheus metrics',
    description:
      'Jobs by topic and status (from the kept counts), how long each topic’s next job has been due, and this process’s jobs started / completed / failed / retried, handler durations, due-to-start waits and claim round trips. In the Prometheus text format, or OpenMetrics when `Accept` names `application/openmetrics-text`. Send a superuser token, or the metrics token the server was started with (`serve --metrics-token`), as `Authorization: Bearer <token>`.',
    metadata: {
      ...routeDocs({
        operationId: 'getMetrics',
        responses: { 200: 'The metrics.', 401: 'No token, or neither a superuser’s nor the metrics token.' },
        examples: { responses: { 200: '# HELP jobbase_jobs Jobs in the database by topic and status, from the kept counts.\n# TYPE jobbase_jobs gauge\njobbase_jobs{topic="send_email",status="failed"} 1204\n' } },
      }),
      ...superuserOnly,
    },
  },
});
