import type {
  ApiIndex,
  AuthRequest,
  AuthResponse,
  EnqueueBatchBody,
  EnqueueBody,
  EnqueuedJobBody,
  ErrorBody,
  Health,
  JobBatch,
  JobBody,
  JobPage,
  Stats,
} from './schemas.js';

/*
 * Example bodies for the API reference, after the seed (seed/jobs-zh.md). Where the seed's
 * response predates our wire format (no `last_error`, times without milliseconds, an id that
 * is not a UUID v7) the example follows the format the server really sends.
 */

export const enqueueRequestExample = {
  topic: 'send_email',
  payload: { to: 'user@example.com', subject: 'Hello' },
  run_at: '2025-01-08T12:00:00Z',
  max_retries: 5,
  unique_key: 'welcome:user@example.com',
} satisfies EnqueueBody;

export const jobExample = {
  id: '0194455b-5100-7c3a-9f2e-4b8d1a6e0c57',
  topic: 'send_email',
  payload: { to: 'user@example.com', subject: 'Hello' },
  status: 'pending',
  run_at: '2025-01-08T12:00:00.000Z',
  retries: 0,
  max_retries: 5,
  last_error: null,
  priority: 0,
  snoozes: 0,
  unique_key: 'welcome:user@example.com',
  unique_states: ['pending', 'processing'],
  schedule_name: null,
  schedule_tick: null,
  created: '2025-01-08T10:00:00.000Z',
  updated: '2025-01-08T10:00:00.000Z',
} satisfies JobBody;

/** The enqueue's answer: the job, and that this enqueue created it. */
export const enqueuedJobExample = { ...jobExample, enqueued: 'created' } satisfies EnqueuedJobBody;

/** The message names the job holding the key, so the caller can look it up. */
export const uniqueConflictExample = {
  status: 409,
  message: 'Job "0194455b-5100-7c3a-9f2e-4b8d1a6e0c57" holds the unique key "welcome:user@example.com" (pending).',
  data: {
    unique_key: {
      code: 'conflict',
      message: 'Job "0194455b-5100-7c3a-9f2e-4b8d1a6e0c57" holds the unique key "welcome:user@example.com" (pending).',
    },
  },
} satisfies ErrorBody;

export const batchUniqueConflictExample = {
  status: 409,
  message: 'jobs.1.unique_key: Job "0194455b-5100-7c3a-9f2e-4b8d1a6e0c57" holds the unique key "welcome:user@example.com" (pending).',
  data: {
    'jobs.1.unique_key': {
      code: 'conflict',
      message: 'Job "0194455b-5100-7c3a-9f2e-4b8d1a6e0c57" holds the unique key "welcome:user@example.com" (pending).',
    },
  },
} satisfies ErrorBody;

export const requeueUniqueConflictExample = {
  status: 409,
  message: 'Job "0194455b-5100-7c3a-9f2e-4b8d1a6e0c58" holds the unique key "welcome:user@example.com".',
  data: {
    unique_key: {
      code: 'conflict',
      message: 'Job "0194455b-5100-7c3a-9f2e-4b8d1a6e0c58" holds the unique key "welcome:user@example.com".',
    },
  },
} satisfies ErrorBody;

/** The job above after it failed six times and was requeued: pending again, due now. */
export const requeuedJobExample = {
  ...jobExample,
  run_at: '2025-01-08T13:05:00.000Z',
  updated: '2025-01-08T13:05:00.000Z',
} satisfies JobBody;

export const jobPageExample = { items: [jobExample], total: 1, limit: 20, offset: 0 } satisfies JobPage;

export const statsExample = {
  pending: 10,
  processing: 2,
  completed: 100,
  failed: 5,
  total: 117,
  success_rate: 0.952,
} satisfies Stats;

export const validationErrorExample = {
  status: 400,
  message: 'topic: Topic must not be empty.',
  data: { topic: { code: 'too_small', message: 'Topic must not be empty.' } },
} satisfies ErrorBody;

export const listValidationErrorExample = {
  status: 400,
  message: "status: Invalid enum value. Expected 'pending' | 'processing' | 'completed' | 'failed', received 'done'",
  data: {
    status: {
      code: 'invalid_enum_value',
      message: "Invalid enum value. Expected 'pending' | 'processing' | 'completed' | 'failed', received 'done'",
    },
  },
} satisfies ErrorBody;

export const pageTooLargeExample = {
  status: 422,
  message:
    "This page's payloads take more than the 8MB one list page may carry: ask for fewer jobs (limit), " +
    'or leave the payloads out (payload=false) and read each job by its id.',
  data: {},
} satisfies ErrorBody;

export const requeueConflictExample = {
  status: 400,
  message: 'Only failed jobs can be requeued.',
  data: {},
} satisfies ErrorBody;

export const deleteConflictExample = {
  status: 400,
  message: 'Only pending or failed jobs can be deleted.',
  data: {},
} satisfies ErrorBody;

export const payloadTooLargeExample = {
  status: 413,
  message: 'The request body is larger than the 4MB limit (serve --body-limit / JOBBASE_BODY_LIMIT).',
  data: {},
} satisfies ErrorBody;

export const notJsonExample = {
  status: 415,
  message: 'Send the body as JSON with Content-Type: application/json.',
  data: {},
} satisfies ErrorBody;

export const signInMediaTypeExample = {
  status: 415,
  message: 'Send the body as JSON, form-urlencoded or multipart/form-data.',
  data: {},
} satisfies ErrorBody;

export const authRequestExample = {
  identity: 'admin@example.com',
  password: 'correct horse battery staple',
} satisfies AuthRequest;

export const authResponseExample = {
  token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzZjJhIn0.c2lnbmF0dXJl',
  record: {
    id: '3f2a9c4e-1b7d-4e8a-9c6f-2d5b8a1e7f30',
    collectionId: 'pbc_3142635823',
    collectionName: '_superusers',
    email: 'admin@example.com',
    created: '2025-01-08T09:00:00.000Z',
    updated: '2025-01-08T09:00:00.000Z',
  },
} satisfies AuthResponse;

export const authFailedExample = { status: 400, message: 'Failed to authenticate.', data: {} } satisfies ErrorBody;

export const tooManyAttemptsExample = {
  status: 429,
  message: 'Too many failed login attempts. Try again later.',
  data: {},
} satisfies ErrorBody;

export const apiIndexExample = {
  name: 'Jobbase',
  version: '0.1.0',
  links: {
    health: '/api/health',
    docs: '/api/docs',
    openapi: '/api/docs/openapi.json',
    signIn: '/api/collections/_superusers/auth-with-password',
    jobs: '/api/jobs',
    admin: '/_/',
  },
} satisfies ApiIndex;

export const healthExample = { code: 200, message: 'API is healthy.', data: {} } satisfies Health;

export const enqueueBatchRequestExample = {
  jobs: [
    { topic: 'send_email', payload: { to: 'user@example.com', subject: 'Hello' } },
    { topic: 'send_sms', payload: { to: '+15550100', text: 'Hello' }, max_retries: 2, priority: -10 },
  ],
} satisfies EnqueueBatchBody;

export const jobBatchExample = {
  items: [
    { ...jobExample, run_at: '2025-01-08T10:00:00.000Z', max_retries: 3, unique_key: null, unique_states: null, enqueued: 'created' },
    {
      ...jobExample,
      id: '0194455b-5100-7c3a-9f2e-4b8d1a6e0c58',
      topic: 'send_sms',
      payload: { to: '+15550100', text: 'Hello' },
      run_at: '2025-01-08T10:00:00.000Z',
      max_retries: 2,
      priority: -10,
      unique_key: null,
      unique_states: null,
      enqueued: 'created',
    },
  ],
} satisfies JobBatch;

export const batchValidationErrorExample = {
  status: 400,
  message: 'jobs.1.topic: Topic must not be empty.',
  data: { 'jobs.1.topic': { code: 'too_small', message: 'Topic must not be empty.' } },
} satisfies ErrorBody;
