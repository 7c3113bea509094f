import { initContract } from '@ts-rest/core';
import { z } from 'zod';
import * as examples from './examples.js';
import { metricsContract, operationsContract } from './operations.js';
import { routeDocs, type RouterDocs } from './route-docs.js';
import { topicControlContract } from './topic-control.js';
import { schedulesContract } from './schedules.js';
import { runningJobsContract } from './running-jobs.js';
import { workersContract } from './workers.js';
import { workerTokensContract } from './worker-tokens.js';
import {
  ApiIndexSchema,
  AuthRequestSchema,
  AuthResponseSchema,
  EnqueueBatchBodySchema,
  EnqueueBodySchema,
  EnqueuedJobSchema,
  ErrorSchema,
  HealthSchema,
  JobBatchSchema,
  JobPageSchema,
  JobSchema,
  ListQuerySchema,
  StatsSchema,
} from './schemas.js';

const c = initContract();

const idParams = z.object({ id: z.string().describe('The job’s id.') });

const superuserOnly: RouterDocs = { security: 'superuser' };

/**
 * Every HTTP endpoint, defined once. The server implements this router, the client is
 * inferred from it and the OpenAPI document is generated from it (`metadata` feeds the last).
 * Order matters: `/api/jobs/stats` comes before `/api/jobs/:id` so it is not taken for an id.
 */
export const jobsContract = c.router(
  {
    enqueue: {
      method: 'POST',
      path: '/api/jobs/enqueue',
      body: EnqueueBodySchema,
      responses: { 200: EnqueuedJobSchema, 400: ErrorSchema, 401: ErrorSchema, 409: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema },
      summary: 'Enqueue a job',
      description:
        'Stores a job for `topic`, due at `run_at` (now when omitted). The job is committed to the database before the answer is sent. A worker with a handler for the topic runs it; among due jobs a lower `priority` runs first; a failed attempt is retried with backoff up to `max_retries` times. `max_retries` and `priority` left out take the defaults the server registered for the topic, else the server’s. ' +
        'With a `unique_key`, no job is stored while another job with that key is in one of its `unique_states`: the answer is then that job (`on_conflict`), and `enqueued` says which case it was (`created`, `existing` or `replaced`).',
      metadata: routeDocs({
        operationId: 'enqueueJob',
        responses: {
          200: 'The job and `enqueued`: the stored job, `pending` (`created`), or the job holding the `unique_key` (`existing`, `replaced`).',
          400: 'The body is invalid (empty or missing topic, topic over 255 characters, bad `run_at`, `max_retries` not an integer ≥ 0, `priority` not an integer from -32768 to 32767, a NUL character in the topic or payload, an empty or over-long `unique_key`, an empty or unknown `unique_states`, an unknown `on_conflict`) or the payload is over 1 MiB; `data` names the field.',
          409: 'Another job holds the `unique_key` and `on_conflict` is `error`, or is `replace` and that job is no longer pending; the message names it, `data.unique_key.code` is `conflict`. Nothing was written.',
          413: 'The request body is larger than the server’s body limit (4 MiB unless set otherwise: `serve --body-limit`).',
          415: 'The body was sent with another `Content-Type` than `application/json`.',
        },
        examples: {
          request: examples.enqueueRequestExample,
          responses: {
            200: examples.enqueuedJobExample,
            400: examples.validationErrorExample,
            409: examples.uniqueConflictExample,
            413: examples.payloadTooLargeExample,
            415: examples.notJsonExample,
          },
        },
      }),
    },
    enqueueBatch: {
      method: 'POST',
      path: '/api/jobs/enqueue/batch',
      body: EnqueueBatchBodySchema,
      responses: { 200: JobBatchSchema, 400: ErrorSchema, 401: ErrorSchema, 409: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema },
      summary: 'Enqueue many jobs at once',
      description:
        'Stores up to 1,000 jobs in one transaction: all or none. Each job is validated as a single enqueue would be, and an error names the job by its index (`jobs.<index>.<field>`). The whole request body counts against the server’s body limit. ' +
        'Unique keys follow the single enqueue’s rules, job after job: a key repeated in the batch meets the job stored for it earlier in the batch. A conflict (409) refuses the whole batch.',
      metadata: routeDocs({
        operationId: 'enqueueJobs',
        responses: {
          200: 'A job per job given, in the order given, each with `enqueued` as a single enqueue answers it.',
          400: 'The body or one of its jobs is invalid; `data` names the job and field, e.g. `jobs.1.topic`.',
          409: 'A job met a unique-key conflict (`data` names it, e.g. `jobs.1.unique_key`); nothing was written.',
          413: 'The request body is larger than the server’s body limit (4 MiB unless set otherwise: `serve --body-limit`).',
          415: 'The body was sent with another `Content-Type` than `application/json`.',
        },
        examples: {
          request: examples.enqueueBatchRequestExample,
          responses: {
            200: examples.jobBatchExample,
            400: examples.batchValidationErrorExample,
            409: examples.batchUniqueConflictExample,
            413: examples.payloadTooLargeExample,
            415: examples.notJsonExample,
          },
        },
      }),
    },
    list: {
      method: 'GET',
      path: '/api/jobs',
      query: ListQuerySchema,
      responses: { 200: JobPageSchema, 400: ErrorSchema, 401: ErrorSchema, 422: ErrorSchema },
      summary: 'List jobs, newest first or by priority',
      description:
        'A page of jobs, optionally of one topic, one status and one priority, ordered by `created` then `id`, descending ' +
        '(`sort=-created`, the default), or in the order they would run: `priority`, then `run_at`, then `id`, ascending ' +
        '(`sort=priority`; quickest with `status=pending`, which walks the claim’s own index). ' +
        'The payloads of one page may take at most 8 MiB of JSON text (unless the server is set otherwise: ' +
        '`maxListPayloadSize`); past that the page is refused with a 422 before any payload is read. ' +
        'A page of one job (`limit=1`) is always answered, and `payload=false` lists jobs of any size.',
      metadata: routeDocs({
        operationId: 'listJobs',
        parameters: {
          topic: 'Only jobs of this topic. Sent empty (`?topic=`), it is no filter.',
          unique_key: 'Only jobs enqueued with this unique key (holding it or not). Sent empty, it is no filter.',
          status: 'Only jobs in this status. Sent empty (`?status=`), it is no filter.',
          priority: 'Only jobs of this priority (an integer from -32768 to 32767). Sent empty, it is no filter.',
          sort: '`-created` (newest first, the default) or `priority` (the order the jobs would run: lowest `priority`, then earliest `run_at`, then `id`). Sent empty, the default.',
          limit: 'Jobs per page. Sent empty, the default.',
          offset: 'Jobs to skip before the page starts. Sent empty, 0.',
          payload:
            '`false` leaves each job’s `payload` out of the page (read one with `GET /api/jobs/{id}`); the page then has no size budget. Sent empty, `true`.',
          fields:
            'PocketBase’s parameter: a comma-separated list of job fields (`id,topic,status`); each item of the page carries only those. Without `payload` among them the payloads are not read, as with `payload=false`. Sent empty, every field.',
        },
        responses: {
          200: 'The page and the number of jobs matching the filters.',
          400: 'A query parameter is invalid; `data` names it.',
          422: 'The page’s payloads take more than the server’s budget for one page (8 MiB unless set otherwise: `serve --list-payload-limit`): ask for fewer jobs (`limit`), or leave the payloads out (`payload=false`).',
        },
        examples: {
          responses: { 200: examples.jobPageExample, 400: examples.listValidationErrorExample, 422: examples.pageTooLargeExample },
        },
      }),
    },
    stats: {
      method: 'GET',
      path: '/api/jobs/stats',
      responses: { 200: StatsSchema, 401: ErrorSchema },
      summary: 'Count jobs by status',
      description: 'Jobs in each status (`cancelled` counted on its own), their total, and `success_rate` = completed / (completed + failed), 0 when both are 0.',
      metadata: routeDocs({
        operationId: 'getJobStats',
        responses: { 200: 'The counts.' },
        examples: { responses: { 200: examples.statsExample } },
      }),
    },
    get: {
      method: 'GET',
      path: '/api/jobs/:id',
      pathParams: idParams,
      responses: { 200: JobSchema, 401: ErrorSchema, 404: ErrorSchema },
      summary: 'Get one job',
      description: 'The job with this id, in whatever status it is.',
      metadata: routeDocs({
        operationId: 'getJob',
        responses: { 200: 'The job.' },
        examples: { responses: { 200: examples.jobExample } },
      }),
    },
    requeue: {
      method: 'POST',
      path: '/api/jobs/:id/requeue',
      pathParams: idParams,
      body: c.noBody(),
      responses: { 200: JobSchema, 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
      summary: 'Requeue a failed or cancelled job',
      description: 'Puts a `failed` or `cancelled` job back to `pending`, due now, with `retries` 0 and `last_error` cleared.',
      metadata: routeDocs({
        operationId: 'requeueJob',
        responses: {
          200: 'The job, `pending` again.',
          400: 'The job is neither `failed` nor `cancelled`.',
          409: 'The job has a `unique_key`, `pending` is one of its `unique_states`, and another job holds the key; the message names it. Nothing changed.',
        },
        examples: {
          responses: { 200: examples.requeuedJobExample, 400: examples.requeueConflictExample, 409: examples.requeueUniqueConflictExample },
        },
      }),
    },
    delete: {
      method: 'DELETE',
      path: '/api/jobs/:id',
      pathParams: idParams,
      body: c.noBody(),
      responses: { 204: c.noBody(), 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema },
      summary: 'Delete a pending, failed or cancelled job',
      description: 'Removes a job that is `pending`, `failed` or `cancelled`; a job being processed or completed stays.',
      metadata: routeDocs({
        operationId: 'deleteJob',
        responses: { 204: 'Deleted.', 400: 'The job is neither `pending`, `failed` nor `cancelled`.' },
        examples: { responses: { 400: examples.deleteConflictExample } },
      }),
    },
  },
  { metadata: superuserOnly },
);

export const authContract = c.router({
  authWithPassword: {
    method: 'POST',
    path: '/api/collections/_superusers/auth-with-password',
    body: AuthRequestSchema,
    responses: { 200: AuthResponseSchema, 400: ErrorSchema, 415: ErrorSchema, 429: ErrorSchema },
    summary: 'Sign in as a superuser (PocketBase-compatible)',
    description:
      'Exchanges a superuser’s email and password for a token to send in `Authorization` on the `/api/jobs` routes. The same route and answer as PocketBase’s, so its JS SDK signs in here too. Like PocketBase, it takes the body as JSON, form-urlencoded or multipart/form-data.',
    metadata: routeDocs({
      operationId: 'authWithPassword',
      requestContentTypes: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'],
      responses: {
        200: 'The token and the superuser it belongs to.',
        400: 'Wrong email or password (the same answer for both), or an invalid body.',
        415: 'The body is neither JSON, form-urlencoded nor multipart/form-data.',
        429: 'Too many failed attempts from this address or at this email, or too many sign-ins at once; retry after the `Retry-After` seconds.',
      },
      examples: {
        request: examples.authRequestExample,
        responses: {
          200: examples.authResponseExample,
          400: examples.authFailedExample,
          415: examples.signInMediaTypeExample,
          429: examples.tooManyAttemptsExample,
        },
      },
    }),
  },
  authRefresh: {
    method: 'POST',
    path: '/api/collections/_superusers/auth-refresh',
    body: c.noBody(),
    responses: { 200: AuthResponseSchema, 401: ErrorSchema },
    summary: 'Refresh a superuser’s token (PocketBase-compatible)',
    description:
      'Exchanges a valid token, sent in `Authorization`, for a new one with a full lifetime, answered with the superuser as `authWithPassword` answers. PocketBase’s route, so its JS SDK’s `authRefresh()` works here too.',
    metadata: {
      ...routeDocs({
        operationId: 'authRefresh',
        responses: { 200: 'A new token and the superuser it belongs to.' },
        examples: { responses: { 200: examples.authResponseExample } },
      }),
      ...superuserOnly,
    },
  },
});

export const systemContract = c.router({
  index: {
    method: 'GET',
    // `/api/` too (Express routes ignore a trailing slash); written without, as OpenAPI paths are.
    path: '/api',
    responses: { 200: ApiIndexSchema },
    summary: 'Where things are',
    description:
      'The address the server’s start banner shows: the API’s name and version, and the paths of the health check, the API reference, the OpenAPI document, sign-in, the jobs and the admin UI.',
    metadata: routeDocs({
      operationId: 'getApiIndex',
      responses: { 200: 'The index.' },
      examples: { responses: { 200: examples.apiIndexExample } },
    }),
  },
  health: {
    method: 'GET',
    path: '/api/health',
    responses: { 200: HealthSchema },
    summary: 'Health check',
    description: 'Answers while the process serves HTTP; says nothing about the database.',
    metadata: routeDocs({
      operationId: 'getHealth',
      responses: { 200: 'The server is up.' },
      examples: { responses: { 200: examples.healthExample } },
    }),
  },
});

export const contract = c.router({
  jobs: jobsContract,
  runningJobs: runningJobsContract,
  auth: authContract,
  system: systemContract,
  operations: { ...operationsContract, ...metricsContract },
  topics: topicControlContract,
  schedules: schedulesContract,
  workers: workersContract,
  workerTokens: workerTokensContract,
});
export type Contract = typeof contract;
