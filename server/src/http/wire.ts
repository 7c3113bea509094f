import type { BulkResult as BulkResultBody, EnqueuedJobBody, JobBody, JobPage as JobPageBody, SuperuserBody } from '@jobbase/contract';
import type { BulkResult } from '../engine/bulk-actions.js';
import type { Superuser } from '../auth/superusers.js';
import { SUPERUSERS_COLLECTION_ID } from '../auth/tokens.js';
import type { EnqueuedJob, JobPage, JobRecord } from '../engine/jobs.js';

/** camelCase records with Dates → the contract's snake_case bodies with ISO 8601 UTC times. */
export function toJobBody(job: JobRecord): JobBody {
  return {
    id: job.id,
    topic: job.topic,
    payload: job.payload,
    status: job.status,
    run_at: job.runAt.toISOString(),
    retries: job.retries,
    max_retries: job.maxRetries,
    last_error: job.lastError,
    priority: job.priority,
    snoozes: job.snoozes,
    cancel_requested: job.cancelRequested,
    // Left out with the payload (a list page asked for without payloads), as the payload is.
    ...(job.result === undefined ? {} : { result: job.result }),
    ...(job.progress === undefined ? {} : { progress: job.progress }),
    unique_key: job.uniqueKey,
    unique_states: job.uniqueStates,
    schedule_name: job.scheduleName,
    schedule_tick: job.scheduleTick?.toISOString() ?? null,
    created: job.created.toISOString(),
    updated: job.updated.toISOString(),
  };
}

export function toEnqueuedJobBody(job: EnqueuedJob): EnqueuedJobBody {
  return { ...toJobBody(job), enqueued: job.enqueued };
}

export function toJobPageBody(page: JobPage): JobPageBody {
  return { items: page.items.map(toJobBody), total: page.total, limit: page.limit, offset: page.offset };
}

/** Only what PocketBase shows of a superuser: never the hash or the token key. */
export function toSuperuserBody(superuser: Superuser): SuperuserBody {
  return {
    id: superuser.id,
    collectionId: SUPERUSERS_COLLECTION_ID,
    collectionName: '_superusers',
    email: superuser.email,
    created: superuser.created.toISOString(),
    updated: superuser.updated.toISOString(),
  };
}

export function toBulkResultBody(result: BulkResult): BulkResultBody {
  return { dry_run: result.dryRun, ...(result.matched === undefined ? {} : { matched: result.matched }), changed: result.changed };
}
