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
} from './engine/jobs.js';
export { PermanentError, type JobContext, type JobHandler, type JobSnoozed } from './engine/job.js';
export type { TopicOptions } from './engine/topic-settings.js';
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
} from '@jobbase/contract';
