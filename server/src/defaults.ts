import { MAX_PAYLOAD_SIZE } from '@jobbase/contract';

/** SPEC §2: every default is exported and each is an option of `createJobs`/`createApp`. */
export const DEFAULT_MAX_PAYLOAD_SIZE = MAX_PAYLOAD_SIZE;
/**
 * Bytes of payload JSON one list page may carry: eight of the largest payloads (1 MiB). The
 * server holds a page's payloads several times over while it answers (as rows, as objects, as
 * the JSON reply), so without a bound one `?limit=500` of 1 MiB payloads took 2.7 GB.
 */
export const DEFAULT_MAX_LIST_PAYLOAD_SIZE = 8 * 1024 * 1024;
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_LOCK_DURATION = 5 * 60_000;
export const DEFAULT_POLL_INTERVAL = 1_000;
export const DEFAULT_WORKER_POOL_SIZE = 10;
export const DEFAULT_BATCH_SIZE = 10;
export const DEFAULT_SHUTDOWN_TIMEOUT = 10_000;
/** First retry waits about `base` ms, doubling per retry up to `max`. */
export const DEFAULT_BACKOFF = { base: 1_000, max: 60 * 60_000 } as const;
/** How often expired locks are looked for (capped by the lock duration). */
export const DEFAULT_RESCUE_INTERVAL = 30_000;
export const DEFAULT_DATABASE = 'sqlite:./jb_data/data.db';
/** How often finished jobs past their retention are looked for. */
export const DEFAULT_CLEANUP_INTERVAL = 60_000;

/**
 * 4 MiB. A batch of 1,000 jobs with typical payloads of about 1 KiB of JSON (an email's address,
 * subject, template and a few line items) measured 1.0 MiB, so a full batch has room for jobs
 * four times that size. A single 1 MiB payload (the engine's own limit, which answers 400)
 * still fits when a client escapes its non-ASCII text as `\uXXXX` (up to 3× the UTF-8 size for
 * two-byte characters). The server holds a body in memory while it reads it, so not more.
 */
export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;
/** How long a superuser's token is valid, ms: 24 h. */
export const DEFAULT_TOKEN_DURATION = 24 * 60 * 60_000;
/** How often each started engine looks for due schedules (a per-second cron fires within this). */
export const DEFAULT_SCHEDULE_INTERVAL = 1_000;
/** How late a schedule's tick may fire before it counts as missed (its `misfire` then applies). */
export const DEFAULT_MISFIRE_GRACE = 60_000;
