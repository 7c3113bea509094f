import { initContract } from '@ts-rest/core';
import { z } from 'zod';
import * as examples from './examples.js';
import { routeDocs, type RouterDocs } from './route-docs.js';
import { ErrorSchema, JobSchema, WaitQuerySchema } from './schemas.js';

const c = initContract();

const idParams = z.object({ id: z.string().describe('The job’s id.') });

const superuserOnly: RouterDocs = { security: 'superuser' };

/** Jobs while they run (issue 15): stopping one, and waiting for one to end. */
export const runningJobsContract = c.router(
  {
    cancel: {
      method: 'POST',
      path: '/api/jobs/:id/cancel',
      pathParams: idParams,
      body: c.noBody(),
      responses: { 200: JobSchema, 401: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
      summary: 'Cancel a job',
      description:
        'A `pending` job becomes `cancelled` at once and never runs. A `processing` job is marked (`cancel_requested`): ' +
        'its handler’s `job.signal` aborts within a second, in whichever process runs it, and the job becomes `cancelled` ' +
        'when the handler settles, whatever it returned or threw (it is never retried). A cancelled job may be requeued or deleted like a failed one.',
      metadata: routeDocs({
        operationId: 'cancelJob',
        responses: {
          200: 'The job: `cancelled`, or still `processing` with `cancel_requested` true until its handler settles.',
          409: 'The job is already finished (`completed`, `failed` or `cancelled`); nothing changed.',
        },
        examples: { responses: { 200: examples.cancelledJobExample, 409: examples.cancelFinishedExample } },
      }),
    },
    wait: {
      method: 'GET',
      path: '/api/jobs/:id/wait',
      pathParams: idParams,
      query: WaitQuerySchema,
      responses: { 200: JobSchema, 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema },
      summary: 'Wait for a job to finish',
      description:
        'Long poll: answers the job as soon as it is `completed`, `failed` or `cancelled`, or as it is when `timeout` ms have passed. ' +
        'Check `status` to tell which. The server is woken by the database’s change signal, not by reading the row in a loop.',
      metadata: routeDocs({
        operationId: 'waitForJob',
        parameters: { timeout: 'How long to wait at most, ms: 0 to 60000 (default 30000). 0 answers the job as it is.' },
        responses: {
          200: 'The job: final, or as it was when the time ran out.',
          400: '`timeout` is not an integer from 0 to 60000.',
        },
        examples: { responses: { 200: examples.completedJobExample, 400: examples.waitTimeoutErrorExample } },
      }),
    },
  },
  { metadata: superuserOnly },
);
