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
 * its defaults, or the settings its documentation gives for throughput.
 */
export const SYSTEMS = [
  { id: 'jobbase-sqlite', queue: 'jobbase', dialect: 'sqlite', preset: 'defaults', label: 'Jobbase SQLite (defaults)' },
  { id: 'jobbase-postgres', queue: 'jobbase', dialect: 'postgres', preset: 'defaults', label: 'Jobbase PostgreSQL (defaults)' },
  { id: 'graphile-worker', queue: 'graphile-worker', dialect: 'postgres', preset: 'defaults', label: 'graphile-worker (defaults)' },
  {
    id: 'graphile-worker-batched',
    queue: 'graphile-worker',
    dialect: 'postgres',
    preset: 'batched',
    label: 'graphile-worker (local queue + batched completion)',
  },
  { id: 'pg-boss', queue: 'pg-boss', dialect: 'postgres', preset: 'defaults', label: 'pg-boss (defaults)' },
  { id: 'pg-boss-batch', queue: 'pg-boss', dialect: 'postgres', preset: 'batch', label: 'pg-boss (batch mode)' },
  { id: 'plainjob', queue: 'plainjob', dialect: 'sqlite', preset: 'defaults', label: 'plainjob (better-sqlite3)' },
];

export function systemById(id) {
  const system = SYSTEMS.find((s) => s.id === id);
  if (!system) throw new Error(`Unknown system "${id}"; known: ${SYSTEMS.map((s) => s.id).join(', ')}`);
  return system;
}

/**
 * Opens the queue of `systemId` on `database` (from lib/databases.mjs). `concurrency` is how many
 * jobs its workers may run at once; `synchronous` is the SQLite sync level (both SQLite queues get
 * the same one).
 * @returns {Promise<QueueAdapter>}
 */
export async function openQueue(systemId, { database, concurrency = 10, synchronous = 'NORMAL' }) {
  const system = systemById(systemId);
  const module = await import(`./${system.queue}.mjs`);
  return module.open({ system, database, concurrency, synchronous });
}
