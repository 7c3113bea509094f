// pg-boss through its library API. Its defaults: one work() per concurrency slot, each fetching
// one job every 2 s (its documented default). Batch mode: one work() with batchSize 500 and the
// minimum polling interval (0.5 s); the handler runs the batch's jobs at most `concurrency` at a time.
import PgBoss from 'pg-boss';
import { withPostgres } from '../lib/raw-sql.mjs';
import { TOPIC } from './queue-adapter.mjs';

const BATCH_SIZE = 500;
const MIN_POLLING_SECONDS = 0.5;

export async function open({ system, database, concurrency }) {
  const batch = system.preset === 'batch';
  const boss = new PgBoss({ connectionString: database.url });
  boss.on('error', (err) => process.stderr.write(`pg-boss: ${err.message}\n`));
  await boss.start();
  await boss.createQueue(TOPIC);

  const settings = batch
    ? {
        workers: '1 work() call',
        batchSize: String(BATCH_SIZE),
        pollingIntervalSeconds: `${MIN_POLLING_SECONDS} (its minimum)`,
        'jobs run at once': `${concurrency} (within each batch)`,
        wake: 'polling only',
      }
    : {
        workers: `${concurrency} work() calls`,
        batchSize: '1 (default)',
        pollingIntervalSeconds: '2 (default)',
        wake: 'polling only',
      };

  return {
    system: system.id,
    settings,
    async enqueue(payload) {
      await boss.send(TOPIC, payload);
    },
    async enqueueMany(payloads) {
      await boss.insert(payloads.map((data) => ({ name: TOPIC, data })));
    },
    fillBacklog: (count) =>
      withPostgres(database.url, (c) =>
        c.query(
          `insert into pgboss.job (name, data, policy, start_after)
           select $1, '{}'::jsonb, 'standard', now() - interval '1 minute' from generate_series(1, $2)`,
          [TOPIC, count],
        ),
      ),
    async startWorkers(onJob) {
      if (batch) {
        const options = { batchSize: BATCH_SIZE, pollingIntervalSeconds: MIN_POLLING_SECONDS };
        await boss.work(TOPIC, options, async (jobs) => {
          for (let i = 0; i < jobs.length; i += concurrency) {
            await Promise.all(jobs.slice(i, i + concurrency).map(async (job) => onJob(job.data)));
          }
        });
        return;
      }
      for (let i = 0; i < concurrency; i++) {
        await boss.work(TOPIC, async ([job]) => {
          onJob(job.data);
        });
      }
    },
    countUnfinished: () => boss.getQueueSize(TOPIC, { before: 'completed' }),
    // fetch() is pg-boss's public claim: it marks the jobs active.
    claimOnce: async () => (await boss.fetch(TOPIC, { batchSize: 10 }))?.length ?? 0,
    close: () => boss.stop({ graceful: true, wait: true, timeout: 5_000 }),
  };
}
