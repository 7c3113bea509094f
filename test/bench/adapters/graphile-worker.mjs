// graphile-worker through its library API: makeWorkerUtils for enqueueing, run() for workers.
// Defaults: each worker fetches one job per round trip and completes it in another. `batched`
// is the batching its performance page documents (worker.graphile.org/docs/performance#batching,
// options `localQueue.size` and `completeJobBatchDelay`/`failJobBatchDelay` in 0.17):
// `system.options.localQueueSize` jobs locked per fetch and handed out from memory, and
// completions/failures gathered for `completeJobBatchDelay` ms into one statement.
import graphile from 'graphile-worker';
import { withPostgres } from '../lib/raw-sql.mjs';
import { TOPIC } from './queue-adapter.mjs';

const silentLogger = new graphile.Logger(() => () => {});

export async function open({ system, database, concurrency }) {
  const batched = system.preset !== 'defaults';
  const localQueueSize = system.options?.localQueueSize ?? 500;
  const batchDelay = system.options?.completeJobBatchDelay ?? 0;
  const connectionString = database.url;
  const utils = await graphile.makeWorkerUtils({ connectionString, logger: silentLogger });
  await utils.migrate();
  let runner = null;

  const maxPoolSize = batched ? Math.max(10, concurrency + 2) : undefined;
  const settings = batched
    ? {
        concurrency: String(concurrency),
        maxPoolSize: `${maxPoolSize} (max(10, concurrency + 2), as its docs advise)`,
        'localQueue.size': String(localQueueSize),
        completeJobBatchDelay: `${batchDelay} ms`,
        failJobBatchDelay: `${batchDelay} ms`,
        pollInterval: '2000 ms (default)',
        wake: 'LISTEN/NOTIFY (default)',
      }
    : {
        concurrency: String(concurrency),
        maxPoolSize: '10 (default)',
        localQueue: 'off (default)',
        completeJobBatchDelay: 'off (default)',
        pollInterval: '2000 ms (default)',
        wake: 'LISTEN/NOTIFY (default)',
      };

  return {
    system: system.id,
    settings,
    async enqueue(payload) {
      await utils.addJob(TOPIC, payload);
    },
    async enqueueMany(payloads) {
      await utils.addJobs(payloads.map((payload) => ({ identifier: TOPIC, payload })));
    },
    fillBacklog: (count) =>
      withPostgres(connectionString, async (c) => {
        await c.query(`insert into graphile_worker._private_tasks (identifier) values ($1) on conflict do nothing`, [TOPIC]);
        await c.query(
          `insert into graphile_worker._private_jobs (task_id, payload, run_at)
           select t.id, '{}'::json, now() - interval '1 minute'
           from graphile_worker._private_tasks t, generate_series(1, $2)
           where t.identifier = $1`,
          [TOPIC, count],
        );
      }),
    async startWorkers(onJob) {
      runner = await graphile.run({
        connectionString,
        concurrency,
        noHandleSignals: true,
        logger: silentLogger,
        ...(batched ? { maxPoolSize } : {}),
        taskList: {
          [TOPIC]: async (payload) => {
            onJob(payload);
          },
        },
        preset: batched
          ? { worker: { localQueue: { size: localQueueSize }, completeJobBatchDelay: batchDelay, failJobBatchDelay: batchDelay } }
          : undefined,
      });
    },
    // Completed jobs are deleted by graphile-worker; none of ours fail.
    countUnfinished: () =>
      utils.withPgClient(async (c) => Number((await c.query('select count(*) as n from graphile_worker._private_jobs')).rows[0].n)),
    // Its claim is internal (no public fetch-one call), so it has no claim probe.
    claimOnce: null,
    async close() {
      if (runner) await runner.stop();
      await utils.release();
    },
  };
}
