// What loads when: this entry imports the engine and nothing of the HTTP server (express, helmet,
// ts-rest's server, jose, the docs and admin assets), and `openStore` loads only the driver of
// the dialect it opens, so an embedded engine holds the engine, the store and one driver;
// `createApp` loads the HTTP server when first called.
import type { TopicSchemas } from '@jobbase/contract';
import type { App, AppOptions } from './app.js';
import type { Jobs } from './engine/jobs.js';
import type { JobMetrics } from './metrics.js';

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
export { JobCancelledError, PermanentError, type JobContext, type JobHandler, type JobSnoozed } from './engine/job.js';
export type { TopicOptions } from './engine/topic-settings.js';
export type { TopicInfo, TopicUpdate } from './engine/topic-control.js';
export type { Retention } from './engine/cleaner.js';
export type { InsertWindow } from './engine/insert-batcher.js';
export { nextRuns, type ScheduleOptions, type ScheduleSpec, type ScheduleRecord, type MisfirePolicy, type OverlapPolicy } from './engine/schedules.js';
export type { ScheduleControls } from './engine/schedule-controls.js';
export type { EnqueueOptions } from './engine/validate.js';
export {
  exponentialBackoff,
  retryAt,
  type BackoffFunction,
  type ExponentialBackoff,
} from './engine/retry-policy.js';
export type { JobRecord, ClaimedJob, JobStore } from './store/types.js';
export { parseDatabaseUrl, redactDatabaseUrl } from './store/open.js';
export type { App, AppOptions, ListenOptions, ListeningServer } from './app.js';
export { upsertSuperuser, countSuperusers, type UpsertResult } from './auth/superusers.js';
export { WorkerTokens, type WorkerToken } from './auth/worker-tokens.js';
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

export type { JobMetrics } from './metrics.js';
export type { BulkFilter, BulkOptions, BulkResult } from './engine/bulk-actions.js';

/**
 * Prometheus metrics of an engine (prom-client, loaded on this first call): the kept counts and
 * this process's counters and histograms, for a worker to serve from its own HTTP server
 * (`await metrics.exposition(req.headers.accept)`). `createApp` builds its own for `/api/metrics`.
 */
export async function createMetrics(jobs: Pick<Jobs, 'store' | 'events'>): Promise<JobMetrics> {
  return new (await import('./metrics.js')).JobMetrics(jobs);
}

/** Opens (and migrates) the database and builds the HTTP app around the engine; does not listen. */
export async function createApp<T extends TopicSchemas = {}>(options: AppOptions<T> = {}): Promise<App<T>> {
  return (await import('./app.js')).createApp(options);
}
