// Jobbase through its public engine API (`createJobs`); its own defaults unless the scenario sets
// the worker pool (the concurrency).
import { loadJobbase } from '../lib/jobbase-server.mjs';
import { SQLITE_SERIES, withPostgres, withSqlite } from '../lib/raw-sql.mjs';
import { TOPIC } from './queue-adapter.mjs';
import { startPgBouncer } from '../lib/pgbouncer.mjs';

export async function open({ system, database, concurrency, synchronous }) {
  const jb = await loadJobbase();
  const isSqlite = database.dialect === 'sqlite';
  const options = { database: database.url, workerPoolSize: concurrency };
  if (isSqlite) options.synchronous = synchronous;
  // Through PgBouncer (transaction mode): every query goes through it; LISTEN on the direct
  // URL with listenUrl, or (without) the listener finds the pooler and the worker polls.
  const bouncer = system.options?.pgbouncer ? await startPgBouncer() : null;
  if (bouncer) {
    options.database = bouncer.urlFor(database.url);
    if (system.options.listenUrl) options.listenUrl = database.url;
  }
  let jobs;
  try {
    jobs = await jb.createJobs(options);
  } catch (err) {
    await bouncer?.stop();
    throw err;
  }

  const settings = {
    workerPoolSize: String(concurrency),
    batchSize: `${jb.DEFAULT_BATCH_SIZE} (default)`,
    pollInterval: `${jb.DEFAULT_POLL_INTERVAL} ms (default)`,
    wake: isSqlite
      ? 'in-process only (default)'
      : !bouncer
        ? 'LISTEN/NOTIFY (default)'
        : system.options.listenUrl
          ? 'LISTEN/NOTIFY, LISTEN on a direct connection (listenUrl)'
          : 'polling (no listenUrl: the listener finds PgBouncer and gives up); enqueues in the same process still wake it',
    ...(isSqlite
      ? { synchronous: `${synchronous}${synchronous === 'NORMAL' ? ' (default)' : ''}`, journal: 'WAL (default)' }
      : { poolSize: '10 (default)' }),
    ...(bouncer ? { pgbouncer: 'pool_mode transaction, default_pool_size 20 (docs/scaling.md)' } : {}),
  };
  const enqueueMany =
    typeof jobs.enqueueMany === 'function'
      ? async (payloads) => {
          await jobs.enqueueMany(payloads.map((payload) => ({ topic: TOPIC, payload })));
        }
      : null;

  return {
    system: system.id,
    settings,
    async enqueue(payload) {
      await jobs.enqueue(TOPIC, payload);
    },
    enqueueMany,
    fillBacklog: (count, { mixedPriorities = false } = {}) =>
      isSqlite ? fillSqlite(database.sqliteFile, count, mixedPriorities) : fillPostgres(database.url, count, mixedPriorities),
    async startWorkers(onJob) {
      jobs.register(TOPIC, async (job) => {
        onJob(job.payload);
      });
      jobs.start();
    },
    async countUnfinished() {
      const stats = await jobs.stats();
      return stats.pending + stats.processing;
    },
    // The engine's own claim query, the one its producer runs, at its default batch size.
    claimOnce: async () =>
      (await jobs.store.jobClaim({ topics: [TOPIC], limit: jb.DEFAULT_BATCH_SIZE, lockDuration: jb.DEFAULT_LOCK_DURATION }))
        .length,
    close: async () => {
      try {
        await jobs.close();
      } finally {
        await bouncer?.stop();
      }
    },
  };
}

/**
 * Backlog ids ascend like the engine's UUID v7 ids (random ones would make a million-row insert
 * several times slower and the primary key unlike the engine's); the zero time prefix keeps them
 * apart from real v7 ids.
 */
const ORDERED_ID_PREFIX = '00000000-0000-7000-8000-';

/** Due a minute ago, so every backlog job is claimable at once. */
function backlogRunAt() {
  return new Date(Date.now() - 60_000);
}

/**
 * The depth scenario's mixed priorities (issue 14): the due backlog spread over five priorities
 * (-2..2), and a tenth as many jobs again due in an hour at priority -10, ahead of every due job
 * in the claim index's order, which a claim must not have to read.
 */
const DUE_PRIORITIES = 5;
const FUTURE_PRIORITY = -10;

function inAnHour() {
  return new Date(Date.now() + 3_600_000);
}

function fillPostgres(url, count, mixedPriorities) {
  return withPostgres(url, async (c) => {
    const insert = (from, to, runAt, priority) =>
      c.query(
        `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, priority, created, updated)
         select ($4 || lpad(to_hex(g), 12, '0'))::uuid, $1, '{}'::jsonb, 'pending', $2, 0, 3, ${priority}, now(), now()
         from generate_series($3::int, $5::int) g`,
        [TOPIC, runAt, from, ORDERED_ID_PREFIX, to],
      );
    await insert(1, count, backlogRunAt(), mixedPriorities ? `(g % ${DUE_PRIORITIES}) - 2` : '0');
    if (mixedPriorities) await insert(count + 1, count + Math.floor(count / 10), inAnHour(), String(FUTURE_PRIORITY));
  });
}

function fillSqlite(file, count, mixedPriorities) {
  return withSqlite(file, (db) => {
    const insert = (from, n, runAt, priority) =>
      db
        .prepare(
          `${SQLITE_SERIES}
           insert into jobs (id, topic, payload, status, run_at, retries, max_retries, priority, created, updated)
           select ? || printf('%012x', n + ?), ?, '{}', 'pending', ?, 0, 3, ${priority}, ?, ? from series`,
        )
        .run(n, ORDERED_ID_PREFIX, from - 1, TOPIC, runAt, runAt, runAt);
    insert(1, count, backlogRunAt().toISOString(), mixedPriorities ? `(n % ${DUE_PRIORITIES}) - 2` : '0');
    if (mixedPriorities) insert(count + 1, Math.floor(count / 10), inAnHour().toISOString(), String(FUTURE_PRIORITY));
  });
}
