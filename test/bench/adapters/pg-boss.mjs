// pg-boss through its library API.
//
// Defaults: one work() per concurrency slot, each fetching one job every 2 s (its documented
// default).
//
// Tuned (`system.options`, see SYSTEMS): the work() options its docs list for 10.x (batchSize,
// priority, includeMetadata, pollingIntervalSeconds ≥ 0.5) plus notifyWorker(id), which its docs
// give for skipping the polling interval. A pg-boss worker waits out `pollingIntervalSeconds`
// after every fetch, even one that came back full, unless it has been notified; so without
// notifyWorker one work() drains at most batchSize jobs per interval (500 per 0.5 s = 1,000
// jobs/s). The handlers run at most `concurrency` jobs at a time in all, across every work().
import PgBoss from 'pg-boss';
import { withPostgres } from '../lib/raw-sql.mjs';
import { TOPIC } from './queue-adapter.mjs';

/** Its documented minimum (`pollingIntervalSeconds` must be ≥ 0.5). */
export const MIN_POLLING_SECONDS = 0.5;

export async function open({ system, database, concurrency }) {
  const tuned = system.preset !== 'defaults';
  const o = {
    workers: 1,
    batchSize: 500,
    pollingIntervalSeconds: MIN_POLLING_SECONDS,
    priority: true,
    notifyWhenFull: false,
    ...system.options,
  };
  const boss = new PgBoss({ connectionString: database.url });
  boss.on('error', (err) => process.stderr.write(`pg-boss: ${err.message}\n`));
  await boss.start();
  await boss.createQueue(TOPIC);

  const settings = tuned
    ? {
        workers: `${o.workers} work() call${o.workers === 1 ? '' : 's'}`,
        batchSize: String(o.batchSize),
        pollingIntervalSeconds: `${o.pollingIntervalSeconds}${o.pollingIntervalSeconds === MIN_POLLING_SECONDS ? ' (its minimum)' : ''}`,
        priority: o.priority ? 'true (default)' : 'false (no priority sort in the fetch)',
        includeMetadata: 'false (default)',
        notifyWorker: o.notifyWhenFull
          ? 'called from the handler when a fetch came back full, so the worker fetches again at once'
          : 'not called (the worker waits out the interval after every fetch)',
        'jobs run at once': `${concurrency} (in all, across the work() calls)`,
        'connection pool': '10 (default)',
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
      if (tuned) {
        const options = { batchSize: o.batchSize, pollingIntervalSeconds: o.pollingIntervalSeconds, priority: o.priority };
        const slots = limiter(concurrency);
        for (let w = 0; w < o.workers; w++) {
          let id = null;
          id = await boss.work(TOPIC, options, async (jobs) => {
            await Promise.all(jobs.map((job) => slots(async () => onJob(job.data))));
            // A full batch means more are probably waiting: skip this iteration's wait.
            if (o.notifyWhenFull && id && jobs.length === o.batchSize) boss.notifyWorker(id);
          });
        }
        return;
      }
      for (let i = 0; i < concurrency; i++) {
        await boss.work(TOPIC, async ([job]) => {
          onJob(job.data);
        });
      }
    },
    countUnfinished: () => boss.getQueueSize(TOPIC, { before: 'completed' }),
    // fetch() is pg-boss's public claim: it marks the jobs active. Same priority option as the workers.
    claimOnce: async () => (await boss.fetch(TOPIC, { batchSize: 10, priority: tuned ? o.priority : true }))?.length ?? 0,
    close: () => boss.stop({ graceful: true, wait: true, timeout: 5_000 }),
  };
}

/** Runs the functions handed to it at most `n` at a time (shared by every work() handler). */
function limiter(n) {
  let running = 0;
  const waiting = [];
  const next = () => {
    if (running >= n || waiting.length === 0) return;
    running++;
    const { fn, resolve, reject } = waiting.shift();
    Promise.resolve()
      .then(fn)
      .then(resolve, reject)
      .finally(() => {
        running--;
        next();
      });
  };
  return (fn) =>
    new Promise((resolve, reject) => {
      waiting.push({ fn, resolve, reject });
      next();
    });
}
