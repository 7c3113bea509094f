// The one interface every queue under test is driven through, and the table of systems.

/**
 * @typedef {object} QueueAdapter
 * @property {string} system   id from SYSTEMS, e.g. 'graphile-worker-batched'
 * @property {Record<string, string>} settings   every setting in force, named ("(default)" when it is one)
 * @property {(payload: object) => Promise<void>} enqueue   one job; resolves once committed
 * @property {((payloads: object[]) => Promise<void>) | null} enqueueMany   null: no bulk API
 * @property {(count: number) => Promise<void>} fillBacklog   `count` waiting jobs by one bulk SQL insert
 * @property {(onJob: (payload: object) => void) => Promise<void>} startWorkers   no-op handlers calling onJob as they start
 * @property {() => Promise<number>} countUnfinished   jobs not yet recorded as completed
 * @property {(() => Promise<number>) | null} claimOnce   one claim through the queue's own API; null: none is public
 * @property {() => Promise<void>} close
 */

/** Every job the harness enqueues goes to this topic / task / queue name. */
export const TOPIC = 'bench';

/**
 * The systems measured. `queue` picks the adapter module; `preset` is which settings it runs:
 * its defaults, or settings from its documentation (`options` are handed to the adapter). Each
 * peer runs at least once at the setting its documentation gives for throughput, chosen with
 * tune-peers.mjs; `label` names the setting, so every figure in the report says what it ran with.
 * `short` is the name the headline sentences use.
 */
export const SYSTEMS = [
  { id: 'jobbase-sqlite', queue: 'jobbase', dialect: 'sqlite', preset: 'defaults', label: 'Jobbase SQLite (defaults)', short: 'Jobbase SQLite' },
  { id: 'jobbase-postgres', queue: 'jobbase', dialect: 'postgres', preset: 'defaults', label: 'Jobbase PostgreSQL (defaults)', short: 'Jobbase PostgreSQL' },
  // Latency only: what transaction pooling costs the wake-up, with LISTEN on a direct
  // connection and without it (the listener finds PgBouncer and the worker polls).
  {
    id: 'jobbase-pgbouncer-listen',
    queue: 'jobbase',
    dialect: 'postgres',
    preset: 'pgbouncer',
    options: { pgbouncer: true, listenUrl: true },
    scenarios: ['B'],
    label: 'Jobbase PostgreSQL through PgBouncer, listenUrl direct',
    short: 'Jobbase through PgBouncer with listenUrl',
  },
  {
    id: 'jobbase-pgbouncer',
    queue: 'jobbase',
    dialect: 'postgres',
    preset: 'pgbouncer',
    options: { pgbouncer: true, listenUrl: false },
    scenarios: ['B'],
    label: 'Jobbase PostgreSQL through PgBouncer, no listenUrl (polls)',
    short: 'Jobbase through PgBouncer without listenUrl',
  },
  {
    id: 'graphile-worker',
    queue: 'graphile-worker',
    dialect: 'postgres',
    preset: 'defaults',
    label: 'graphile-worker (defaults: 1 job per fetch, 1 per completion)',
    short: 'graphile-worker with its defaults (one job per fetch and one per completion)',
  },
  {
    id: 'graphile-worker-lq10',
    queue: 'graphile-worker',
    dialect: 'postgres',
    preset: 'batched',
    options: { localQueueSize: 10, completeJobBatchDelay: 0 },
    label: 'graphile-worker (localQueue.size 10, completeJobBatchDelay 0)',
    short: 'graphile-worker batching like Jobbase (localQueue.size 10 = Jobbase’s batchSize, completeJobBatchDelay 0)',
  },
  {
    id: 'graphile-worker-batched',
    queue: 'graphile-worker',
    dialect: 'postgres',
    preset: 'batched',
    options: { localQueueSize: 500, completeJobBatchDelay: 0 },
    label: 'graphile-worker (localQueue.size 500, completeJobBatchDelay 0)',
    short: 'graphile-worker at its performance page’s setting (localQueue.size 500, completeJobBatchDelay 0)',
  },
  {
    id: 'pg-boss',
    queue: 'pg-boss',
    dialect: 'postgres',
    preset: 'defaults',
    label: 'pg-boss (defaults: 1 job per work() every 2 s)',
    short: 'pg-boss with its defaults (1 job per work() call every 2 s)',
  },
  {
    id: 'pg-boss-tuned',
    queue: 'pg-boss',
    dialect: 'postgres',
    preset: 'tuned',
    options: { workers: 4, batchSize: 5_000, pollingIntervalSeconds: 0.5 },
    label: 'pg-boss (4 × work(), batchSize 5,000, 0.5 s poll)',
    short: 'pg-boss tuned (4 × work(), batchSize 5,000, 0.5 s poll)',
  },
  {
    id: 'plainjob',
    queue: 'plainjob',
    dialect: 'sqlite',
    preset: 'defaults',
    label: 'plainjob (defaults: 1 s poll)',
    short: 'plainjob with its defaults (1 s poll)',
  },
];

/** The systems scenario `scenario` ('A' … 'E') measures: a system with `scenarios` runs only in those. */
export function systemsIn(scenario) {
  return SYSTEMS.filter((s) => !s.scenarios || s.scenarios.includes(scenario));
}

export function systemById(id) {
  const system = SYSTEMS.find((s) => s.id === id);
  if (!system) throw new Error(`Unknown system "${id}"; known: ${SYSTEMS.map((s) => s.id).join(', ')}`);
  return system;
}

/**
 * Opens the queue of `systemId` (an id, or a system object) on `database` (from lib/databases.mjs). `concurrency` is how many
 * jobs its workers may run at once; `synchronous` is the SQLite sync level (both SQLite queues get
 * the same one).
 * @returns {Promise<QueueAdapter>}
 */
export async function openQueue(systemId, { database, concurrency = 10, synchronous = 'NORMAL' }) {
  // An id from SYSTEMS, or a whole system object (test/bench/tune-peers.mjs tries settings that way).
  const system = typeof systemId === 'string' ? systemById(systemId) : systemId;
  const module = await import(`./${system.queue}.mjs`);
  return module.open({ system, database, concurrency, synchronous });
}
