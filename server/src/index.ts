export * from './defaults.js';
export { JobsError, type JobsErrorCode, type FieldProblem } from './errors.js';
export type { Logger } from './logger.js';
export {
  Jobs,
  createJobs,
  type JobsOptions,
  type JobsEvents,
  type ListOptions,
  type JobPage,
  type EnqueueManyItem,
  type EnqueuedJob,
} from './engine/jobs.js';
export type { JobContext, JobHandler } from './engine/job.js';
export type { Retention } from './engine/cleaner.js';
export type { EnqueueOptions } from './engine/validate.js';
export {
  exponentialBackoff,
  retryAt,
  type BackoffFunction,
  type ExponentialBackoff,
} from './engine/retry-policy.js';
export type { JobRecord, ClaimedJob, JobStore } from './store/types.js';
export { parseDatabaseUrl, redactDatabaseUrl } from './store/open.js';
export { createApp, DEFAULT_BODY_LIMIT, type App, type AppOptions, type ListenOptions, type ListeningServer } from './app.js';
export { DEFAULT_TOKEN_DURATION } from './auth/superuser-auth.js';
export { upsertSuperuser, countSuperusers, type UpsertResult } from './auth/superusers.js';
export {
  defineTopics,
  type Topics,
  type TopicSchemas,
  type TopicSchemasOf,
  type TopicPayload,
  type TopicPayloadInput,
  type EnqueueOutcome,
  type OnConflict,
} from '@jobbase/contract';
