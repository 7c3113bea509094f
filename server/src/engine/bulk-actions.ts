import { JOB_STATUSES, type JobStatus } from '@jobbase/contract';
import { validationError } from '../errors.js';
import type { JobChunkParams, JobChunkResult, JobFilter, JobStore, OperationsStore } from '../store/types.js';
import { validRunAt, validTopic } from './validate.js';

/**
 * The statuses each bulk action may change, as for its single-job route: requeue takes failed
 * or cancelled jobs, delete pending, failed or cancelled ones, cancel pending or processing
 * ones. A status filter outside them is refused (400), and no filter means all of them. A new
 * action is a line here and a chunk method in the store.
 */
export const BULK_ACTION_STATES = {
  requeue: ['failed', 'cancelled'],
  delete: ['pending', 'failed', 'cancelled'],
  cancel: ['pending', 'processing'],
} as const satisfies Record<string, readonly JobStatus[]>;
export type BulkAction = keyof typeof BULK_ACTION_STATES;

/** Which jobs, as the list filters them. */
export interface BulkFilter {
  topic?: string;
  status?: JobStatus;
  /** Only jobs created before this instant (a Date or ISO 8601 text). */
  createdBefore?: Date | string;
  /** Only jobs created after this instant. */
  createdAfter?: Date | string;
}

export interface BulkOptions {
  /** Count the jobs that would change; change none. */
  dryRun?: boolean;
  /** Change at most this many in this call (a screen showing progress calls again); all by default. */
  limit?: number;
}

/** A dry run's answer has `matched`; a real one `changed`. */
export interface BulkResult {
  dryRun: boolean;
  /** Jobs the filter takes (dry run only). */
  matched?: number;
  /** Jobs changed (0 in a dry run). */
  changed: number;
}

/**
 * Jobs looked at per statement: short enough that one statement's locks (SQLite's write lock,
 * PostgreSQL's row locks) are held for milliseconds, so claims and completions go on between.
 */
export const BULK_CHUNK = 500;
export const MAX_BULK_LIMIT = 1_000_000;

type ChunkRunner = (params: JobChunkParams) => Promise<JobChunkResult>;

/** The filter, checked, as the store takes it. */
export function validBulkFilter(action: BulkAction, filter: BulkFilter): JobFilter {
  const allowed: readonly JobStatus[] = BULK_ACTION_STATES[action];
  if (filter.status !== undefined && !allowed.includes(filter.status)) {
    const known = (JOB_STATUSES as readonly string[]).includes(filter.status);
    throw validationError(
      'status',
      known ? 'not_allowed' : 'invalid',
      `${action} takes ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)} jobs only${known ? `, not ${filter.status}` : ''}.`,
    );
  }
  const time = (field: string, value: Date | string | undefined) => {
    if (value === undefined) return undefined;
    try {
      return validRunAt(value, new Date());
    } catch {
      throw validationError(field, 'invalid_date', `${field} must be a valid ISO 8601 date-time.`);
    }
  };
  return {
    topic: filter.topic === undefined ? undefined : validTopic(filter.topic),
    statuses: filter.status ? [filter.status] : allowed,
    createdBefore: time('created_before', filter.createdBefore),
    createdAfter: time('created_after', filter.createdAfter),
  };
}

/**
 * A bulk action: a dry run counts; otherwise chunk after chunk, each its own statement walking
 * (created, id) on from the last, a turn of the event loop between, until the filter has no
 * more jobs or `limit` changed. Jobs another process changes meanwhile are simply not matched.
 */
export async function runBulkAction(
  store: JobStore & OperationsStore,
  action: BulkAction,
  filter: BulkFilter,
  options: BulkOptions = {},
  /** Cancel only: the processing jobs each chunk marked, so this process aborts its own handlers at once. */
  onMarked?: (ids: string[]) => void,
): Promise<BulkResult> {
  const valid = validBulkFilter(action, filter);
  const limit = options.limit ?? MAX_BULK_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BULK_LIMIT) {
    throw validationError('limit', 'invalid', `limit must be an integer from 1 to ${MAX_BULK_LIMIT}.`);
  }
  if (options.dryRun) return { dryRun: true, matched: Math.min(await store.jobCountMatching(valid), limit), changed: 0 };
  const runners: Record<BulkAction, ChunkRunner> = {
    requeue: (p) => store.jobRequeueChunk(p),
    delete: (p) => store.jobDeleteChunk(p),
    cancel: async (p) => {
      const result = await store.jobCancelChunk(p);
      if (result.marked.length > 0) onMarked?.(result.marked);
      return result;
    },
  };
  const chunk = runners[action];
  let changed = 0;
  let after: JobChunkParams['after'];
  while (changed < limit) {
    const result = await chunk({ filter: valid, limit: Math.min(BULK_CHUNK, limit - changed), after });
    changed += result.changed;
    if (result.cursor === null) break;
    after = result.cursor;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { dryRun: false, changed };
}
