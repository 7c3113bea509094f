import { initContract } from '@ts-rest/core';
import { z } from 'zod';
import { routeDocs, type RouterDocs } from './route-docs.js';
import { ErrorSchema, JobSchema, TopicSchema } from './schemas.js';

const c = initContract();

const idParams = z.object({ id: z.string().describe('The job’s id.') });

const superuserOnly: RouterDocs = { security: 'superuser' };

/** Most jobs one claim answers, and most items one batched finish takes. */
export const MAX_CLAIM_LIMIT = 100;
export const MAX_FINISH_ITEMS = 100;
/** Longest long poll of a claim, ms. */
export const MAX_CLAIM_WAIT = 30_000;
/** Longest lock a heartbeat may ask for (`extend_ms`), ms: a day. */
export const MAX_EXTEND_MS = 86_400_000;
/** Longest `error` a failed attempt keeps, characters (as the engine's `last_error`). */
export const MAX_WORKER_ERROR_LENGTH = 8_192;

const int = (name: string, min: number, max: number) => {
  const message = `${name} must be an integer from ${min} to ${max}.`;
  return z.number({ invalid_type_error: message, required_error: `${name} is required.` }).int(message).min(min, message).max(max, message);
};

const LockTokenSchema = z
  .string({ required_error: 'token is required.', invalid_type_error: 'token must be a string.' })
  .min(1, 'token must not be empty.')
  .max(200, 'token must be at most 200 characters.')
  .describe('The lock token the claim answered with the job.');

export const ClaimedJobSchema = JobSchema.extend({
  lock_token: z.string().describe('Send it with every finish and heartbeat of this job: only its holder may finish the job.'),
  locked_until: z
    .string()
    .describe('When the lock runs out, ISO 8601 UTC: heartbeat before then, or the job is rescued (retried) as a vanished worker’s.'),
}).describe('ClaimedJob');
export type ClaimedJobBody = z.infer<typeof ClaimedJobSchema>;


export const CompleteBodySchema = z
  .object({ token: LockTokenSchema, result: z.unknown().optional().describe('Any JSON value: stored as the job’s `result`.') })
  .strict()
  .describe('CompleteRequest');

export const FailBodySchema = z
  .object({
    token: LockTokenSchema,
    error: z
      .string({ required_error: 'error is required.', invalid_type_error: 'error must be a string.' })
      .min(1, 'error must not be empty.')
      .describe('Why the attempt failed: stored as `last_error` (cut to 8,192 characters).'),
    permanent: z.boolean({ invalid_type_error: 'permanent must be a boolean.' }).optional().describe('true: failed for good, no retry.'),
  })
  .strict()
  .describe('FailRequest');

export const SnoozeBodySchema = z
  .object({ token: LockTokenSchema, ms: int('ms', 0, 2_147_483_647).describe('Due again after this many ms; no attempt counted.') })
  .strict()
  .describe('SnoozeRequest');

export const HeartbeatBodySchema = z
  .object({
    token: LockTokenSchema,
    progress: z.unknown().optional().describe('Any JSON value: stored as the job’s `progress`.'),
    extend_ms: int('extend_ms', 1, MAX_EXTEND_MS)
      .optional()
      .describe('Lock the job until this many ms from now; default the topic’s claim lock (the engine’s lock duration, or two heartbeats).'),
  })
  .strict()
  .describe('HeartbeatRequest');

export const HeartbeatResponseSchema = z
  .object({
    id: z.string(),
    locked_until: z.string().describe('When the renewed lock runs out, ISO 8601 UTC.'),
    cancel_requested: z.boolean().describe('true: the job was cancelled; stop its work and finish it (any finish makes it `cancelled`).'),
  })
  .describe('Heartbeat');

const FinishItemSchema = z.discriminatedUnion(
  'action',
  [
    CompleteBodySchema.extend({ id: z.string().describe('The job’s id.'), action: z.literal('complete') }),
    FailBodySchema.extend({ id: z.string(), action: z.literal('fail') }),
    SnoozeBodySchema.extend({ id: z.string(), action: z.literal('snooze') }),
    z.object({ token: LockTokenSchema, id: z.string(), action: z.literal('release') }).strict(),
  ],
  { errorMap: () => ({ message: 'action must be complete, fail, snooze or release.' }) },
);

export const FinishBodySchema = z
  .object({
    items: z
      .array(FinishItemSchema, { required_error: 'items is required.' })
      .min(1, 'items must hold at least one job.')
      .max(MAX_FINISH_ITEMS, `items must hold at most ${MAX_FINISH_ITEMS} jobs.`),
  })
  .strict()
  .describe('FinishRequest');
export type FinishBody = z.infer<typeof FinishBodySchema>;

const FinishResultsSchema = z.array(
  z.object({
    id: z.string(),
    outcome: z
      .enum(['completed', 'retried', 'failed', 'snoozed', 'released', 'cancelled', 'lost'])
      .describe(
        'What became of the job; `released`: pending again, due now, no attempt counted (a worker shutting down); `lost`: the token no longer holds it, nothing was written.',
      ),
  }),
);

export const FinishResponseSchema = z.object({ items: FinishResultsSchema }).describe('FinishResults');

export const FinishedJobSchema = z
  .object({
    id: z.string(),
    outcome: z.enum(['completed', 'retried', 'failed', 'snoozed', 'released', 'cancelled']),
    status: z.string().describe('The job’s status after the finish.'),
    run_at: z.string().describe('When the job is due again (retried, snoozed), else when it was last due.'),
  })
  .describe('Finished');

export const ClaimBodySchema = z
  .object({
    topics: z
      .array(TopicSchema, { required_error: 'topics is required.', invalid_type_error: 'topics must be an array of topics.' })
      .min(1, 'topics must name at least one topic.')
      .max(100, 'topics must name at most 100 topics.')
      .describe('The topics whose jobs this worker runs.'),
    limit: int('limit', 1, MAX_CLAIM_LIMIT).optional().describe('Most jobs to answer: 1 to 100, default 1.'),
    wait: int('wait', 0, MAX_CLAIM_WAIT)
      .optional()
      .describe('Long poll, ms: 0 to 30000, default 0. When no job is due, the answer waits until one is or the time is up.'),
    finish: z
      .array(FinishItemSchema)
      .max(MAX_FINISH_ITEMS, `finish must hold at most ${MAX_FINISH_ITEMS} jobs.`)
      .optional()
      .describe('Jobs to finish, as `POST /api/workers/finish` would, alongside the claim: a worker’s finished jobs ride on its next claim, one round trip for both. When they are refused (400, 403) the request claims nothing.'),
  })
  .strict()
  .describe('ClaimRequest');
export type ClaimBody = z.infer<typeof ClaimBodySchema>;

export const ClaimResponseSchema = z
  .object({
    items: z.array(ClaimedJobSchema),
    finished: FinishResultsSchema.optional().describe('With `finish`: each item’s outcome, in the order given.'),
  })
  .describe('ClaimedJobs');

const lost = 'The token no longer holds the job (`data.token.code` is `lock_lost`): its lock ran out and the job was rescued, or it was finished already. Nothing was written.';
const worker = 'The token is a worker token of other topics than the job’s (a batch naming such a job is refused whole: nothing is written).';

/** Remote workers (issue 19): claiming jobs over HTTP and finishing them on the lock token. */
export const workersContract = c.router(
  {
    claim: {
      method: 'POST',
      path: '/api/workers/claim',
      body: ClaimBodySchema,
      responses: { 200: ClaimResponseSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema },
      summary: 'Claim due jobs (long poll)',
      description:
        'Locks up to `limit` due jobs of `topics` for this worker, in the order an embedded worker claims them, each with its `lock_token` and `locked_until`. ' +
        'With `wait`, an answer with no jobs is held until a job is due (the server is woken by the database’s change signal) or `wait` ms passed. ' +
        'A paused topic, or one at its `max_running` or rate limit, answers nothing. Heartbeat a job before `locked_until`, then complete, fail or snooze it.',
      metadata: routeDocs({
        operationId: 'claimJobs', examples: { request: { topics: ['send-email'], limit: 10, wait: 20000 } },
        responses: { 200: 'The claimed jobs; none when nothing was due within `wait`.', 400: 'The body is invalid; `data` names the field.', 403: worker },
      }),
    },
    finish: {
      method: 'POST',
      path: '/api/workers/finish',
      body: FinishBodySchema,
      responses: { 200: FinishResponseSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema },
      summary: 'Finish many jobs at once',
      description:
        'Completes, fails, snoozes or releases (`release`: back to pending at once, no attempt counted, for a worker shutting down) up to 100 jobs in one request, each on its own token as the single routes do (completions go out in one statement). ' +
        'A job whose token no longer holds it is answered `lost` and left alone; the others are finished all the same.',
      metadata: routeDocs({
        operationId: 'finishJobs', examples: { request: { items: [{ action: 'complete', id: '0194455b-5100-7c3a-9f2e-4b8d1a6e0c57', token: '5f1c9a8e-2f59-4a8b-9d55-3c1de0d8a2b4', result: { sent: true } }, { action: 'fail', id: '0194455b-5200-7c3a-9f2e-4b8d1a6e0c58', token: '9a0e5b1c-7d3f-4e2a-8b6c-1f4d2e3a5b6c', error: 'SMTP timeout' }] } },
        responses: { 200: 'Each item’s outcome, in the order given.', 400: 'The body is invalid; `data` names the item and field, e.g. `items.1.token`.', 403: worker },
      }),
    },
    complete: {
      method: 'POST',
      path: '/api/jobs/:id/complete',
      pathParams: idParams,
      body: CompleteBodySchema,
      responses: { 200: FinishedJobSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
      summary: 'Complete a claimed job',
      description: 'The job becomes `completed` with `result`, or `cancelled` if it was cancelled while it ran.',
      metadata: routeDocs({ operationId: 'completeJob', examples: { request: { token: '5f1c9a8e-2f59-4a8b-9d55-3c1de0d8a2b4', result: { sent: true } } }, responses: { 400: 'The body is invalid (a missing or empty `token`, a bad field); `data` names the field.', 200: 'The job’s outcome.', 409: lost, 403: worker } }),
    },
    fail: {
      method: 'POST',
      path: '/api/jobs/:id/fail',
      pathParams: idParams,
      body: FailBodySchema,
      responses: { 200: FinishedJobSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
      summary: 'Fail a claimed job’s attempt',
      description:
        'The attempt failed: the job is retried after the topic’s backoff while it has retries left (`retried`), else, or when `permanent`, it is `failed`; a job cancelled while it ran becomes `cancelled`. The same rules as for an embedded worker’s handler that threw.',
      metadata: routeDocs({ operationId: 'failJob', examples: { request: { token: '5f1c9a8e-2f59-4a8b-9d55-3c1de0d8a2b4', error: 'SMTP timeout', permanent: false } }, responses: { 400: 'The body is invalid (a missing or empty `token`, a bad field); `data` names the field.', 200: 'The job’s outcome.', 409: lost, 403: worker } }),
    },
    snooze: {
      method: 'POST',
      path: '/api/jobs/:id/snooze',
      pathParams: idParams,
      body: SnoozeBodySchema,
      responses: { 200: FinishedJobSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
      summary: 'Put a claimed job back for later',
      description: 'The job is pending again, due in `ms`, with one more snooze counted and no attempt.',
      metadata: routeDocs({ operationId: 'snoozeJob', examples: { request: { token: '5f1c9a8e-2f59-4a8b-9d55-3c1de0d8a2b4', ms: 60000 } }, responses: { 400: 'The body is invalid (a missing or empty `token`, a bad field); `data` names the field.', 200: 'The job’s outcome.', 409: lost, 403: worker } }),
    },
    heartbeat: {
      method: 'POST',
      path: '/api/jobs/:id/heartbeat',
      pathParams: idParams,
      body: HeartbeatBodySchema,
      responses: { 200: HeartbeatResponseSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
      summary: 'Renew a claimed job’s lock',
      description:
        'Renews the lock (to `extend_ms` from now, or the topic’s claim lock), stores `progress` if given, and says whether the job was cancelled: a cancelled job’s worker should stop and finish it.',
      metadata: routeDocs({ operationId: 'heartbeatJob', examples: { request: { token: '5f1c9a8e-2f59-4a8b-9d55-3c1de0d8a2b4', progress: { sent: 120, of: 400 }, extend_ms: 60000 } }, responses: { 400: 'The body is invalid (a missing or empty `token`, a bad field); `data` names the field.', 200: 'The renewed lock and the cancel mark.', 409: lost, 403: worker } }),
    },
  },
  { metadata: superuserOnly },
);
