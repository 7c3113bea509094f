// plainjob on better-sqlite3. One defineWorker() per concurrency slot (a plainjob worker runs
// one job at a time), its default 1 s polling, and the same `synchronous` as Jobbase's run.
import Database from 'better-sqlite3';
import { better, defineQueue, defineWorker, JobStatus } from 'plainjob';
import { SQLITE_SERIES } from '../lib/raw-sql.mjs';
import { TOPIC } from './queue-adapter.mjs';

const silentLogger = { error() {}, warn() {}, info() {}, debug() {} };

export async function open({ system, database, concurrency, synchronous }) {
  const db = new Database(database.sqliteFile);
  const queue = defineQueue({ connection: better(db), logger: silentLogger });
  // defineQueue sets WAL and synchronous = NORMAL itself; a FULL run overrides it here.
  db.pragma(`synchronous = ${synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
  const workers = [];
  /** Each worker's loop; it ends once stop() is seen, so close() can wait for it. */
  const loops = [];

  return {
    system: system.id,
    settings: {
      workers: `${concurrency} defineWorker() calls`,
      pollIntervall: '1000 ms (default)',
      synchronous,
      journal: 'WAL (set by plainjob)',
      wake: 'polling only',
    },
    async enqueue(payload) {
      queue.add(TOPIC, payload);
    },
    async enqueueMany(payloads) {
      queue.addMany(TOPIC, payloads);
    },
    async fillBacklog(count) {
      const due = Date.now() - 60_000;
      db.prepare(
        `${SQLITE_SERIES}
         insert into plainjob_jobs (type, data, status, created_at, next_run_at)
         select ?, '{}', ${JobStatus.Pending}, ?, ? from series`,
      ).run(count, TOPIC, due, due);
    },
    async startWorkers(onJob) {
      for (let i = 0; i < concurrency; i++) {
        const worker = defineWorker(
          TOPIC,
          async (job) => {
            onJob(JSON.parse(job.data));
          },
          { queue, logger: silentLogger },
        );
        workers.push(worker);
        loops.push(worker.start().catch((err) => process.stderr.write(`plainjob worker: ${err.message}\n`)));
      }
    },
    async countUnfinished() {
      return queue.countJobs({ status: JobStatus.Pending }) + queue.countJobs({ status: JobStatus.Processing });
    },
    claimOnce: async () => (queue.getAndMarkJobAsProcessing(TOPIC) ? 1 : 0),
    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all(loops);
      queue.close();
    },
  };
}
