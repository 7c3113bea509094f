export {
  createJobsClient,
  type AuthResult,
  type EnqueueOptions,
  type EnqueueManyItem,
  type EnqueuedJob,
  type Job,
  type JobPage,
  type JobStats,
  type JobsClient,
  type JobsClientOptions,
  type ListOptions,
  type RawJobsClient,
  type TopicInfo,
  type TopicUpdate,
  type CreatedWorkerToken,
  type WorkerToken,
  type WorkerTokenOptions,
} from './jobs-client.js';
export type { Schedule, SchedulesClient } from './schedules-client.js';
export {
  createRemoteWorker,
  PermanentError,
  JobCancelledError,
  type ClaimedJob,
  type RemoteJobContext,
  type RemoteJobHandler,
  type RemoteSnoozed,
  type RemoteWorker,
  type RemoteWorkerOptions,
} from './remote-worker.js';
export { JobsApiError, NETWORK_ERROR_STATUS, type JobsApiErrorData } from './jobs-api-error.js';
export type { FetchFunction } from './fetcher.js';
export type { FollowEventsOptions } from './event-stream.js';
export type { BulkActionBody, BulkResult, JobEvent } from '@jobbase/contract';
export {
  defineTopics,
  type Topics,
  type TopicSchemas,
  type TopicSchemasOf,
  type TopicPayload,
  type TopicPayloadInput,
} from '@jobbase/contract';
