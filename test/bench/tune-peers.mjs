// node test/bench/tune-peers.mjs [--peer=pg-boss|graphile-worker] [--jobs=20000] [--repeats=2]
//                                [--concurrency=10] [--pick=0,2,5]  (indexes into the peer's list)
//
// How each peer's "tuned" setting in adapters/queue-adapter.mjs was chosen: the drain scenario
// (measure/drain.mjs, fresh process and database each time) over the settings its documentation
// allows, repeats interleaved. Prints the median jobs/s of each and writes the raw results to
// test/bench/.results/. Needs `npm run build` and the bench install, as `npm run bench` does.
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runChild } from './lib/child.mjs';
import { dropLeftoverDatabases, freshDatabase, postgresVersion } from './lib/databases.mjs';
import { rate, table } from './lib/format.mjs';
import { spread } from './lib/stats.mjs';

const RESULTS_DIR = new URL('./.results/', import.meta.url);

/** Candidate settings per peer: `options` go to the adapter as the system's own. */
const CANDIDATES = {
  'pg-boss': [
    { label: '1 work(), batchSize 500, 0.5 s poll (the old "batch mode")', options: { workers: 1, batchSize: 500 } },
    { label: '1 work(), batchSize 5,000, 0.5 s poll', options: { workers: 1, batchSize: 5_000 } },
    { label: '1 work(), batchSize 5,000, 0.5 s poll, priority false', options: { workers: 1, batchSize: 5_000, priority: false } },
    { label: '1 work(), batchSize 500, notifyWorker when full', options: { workers: 1, batchSize: 500, notifyWhenFull: true } },
    { label: '1 work(), batchSize 5,000, notifyWorker when full', options: { workers: 1, batchSize: 5_000, notifyWhenFull: true } },
    { label: '4 work(), batchSize 500, 0.5 s poll', options: { workers: 4, batchSize: 500 } },
    { label: '4 work(), batchSize 5,000, 0.5 s poll', options: { workers: 4, batchSize: 5_000 } },
    { label: '4 work(), batchSize 5,000, notifyWorker when full', options: { workers: 4, batchSize: 5_000, notifyWhenFull: true } },
    { label: '8 work(), batchSize 5,000, 0.5 s poll', options: { workers: 8, batchSize: 5_000 } },
    { label: '4 work(), batchSize 10,000, 0.5 s poll', options: { workers: 4, batchSize: 10_000 } },
    { label: '2 work(), batchSize 10,000, notifyWorker when full', options: { workers: 2, batchSize: 10_000, notifyWhenFull: true } },
  ],
  'graphile-worker': [
    { label: 'defaults (one job per fetch, one per completion)', preset: 'defaults' },
    { label: 'localQueue.size 11 (concurrency + 1), completeJobBatchDelay 0', options: { localQueueSize: 11, completeJobBatchDelay: 0 } },
    { label: 'localQueue.size 100, completeJobBatchDelay 0', options: { localQueueSize: 100, completeJobBatchDelay: 0 } },
    { label: 'localQueue.size 500, completeJobBatchDelay 0', options: { localQueueSize: 500, completeJobBatchDelay: 0 } },
    { label: 'localQueue.size 500, completeJobBatchDelay 250 (its docs’ starting point)', options: { localQueueSize: 500, completeJobBatchDelay: 250 } },
    { label: 'localQueue.size 2,000, completeJobBatchDelay 0', options: { localQueueSize: 2_000, completeJobBatchDelay: 0 } },
  ],
};

function parseArgs(argv) {
  const args = { peer: 'pg-boss', jobs: 20_000, repeats: 2, concurrency: 10, pick: null };
  for (const arg of argv) {
    const [flag, value = ''] = arg.split('=');
    if (flag === '--peer' && value in CANDIDATES) args.peer = value;
    else if (flag === '--pick') args.pick = new Set(value.split(',').map(Number));
    else if (['--jobs', '--repeats', '--concurrency'].includes(flag) && Number(value) > 0) args[flag.slice(2)] = Number(value);
    else throw new Error(`Unknown argument "${arg}". See the comment at the top of test/bench/tune-peers.mjs.`);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!(await postgresVersion())) throw new Error('PostgreSQL is not reachable on 127.0.0.1:5432 (user postgres).');
  await dropLeftoverDatabases();
  const candidates = CANDIDATES[args.peer].flatMap((c, i) => (args.pick && !args.pick.has(i) ? [] : [{
    ...c,
    system: { id: `${args.peer}-tune-${i}`, queue: args.peer, dialect: 'postgres', preset: c.preset ?? 'tuned', label: c.label, options: c.options },
    runs: [],
  }]));
  for (let repeat = 1; repeat <= args.repeats; repeat++) {
    for (const c of candidates) {
      const database = await freshDatabase('postgres');
      try {
        const v = await runChild(
          'drain',
          { system: c.system, database, jobs: args.jobs, concurrency: args.concurrency, capMs: 60_000, synchronous: 'NORMAL' },
          { timeoutMs: 180_000 },
        );
        c.runs.push({ ok: true, value: v });
        console.log(`${c.label} #${repeat}: ${rate(v.jobsPerSecond)} jobs/s${v.capped ? ' (capped)' : ''}`);
      } catch (err) {
        c.runs.push({ ok: false, error: err.message });
        console.log(`${c.label} #${repeat}: ERROR ${err.message}`);
      } finally {
        await database.dispose();
      }
    }
  }
  console.log(`\n${args.peer}, drain of ${args.jobs.toLocaleString('en-US')} jobs at concurrency ${args.concurrency}, ${args.repeats} repeats:\n`);
  console.log(
    table(
      ['setting', 'jobs/s, median [min–max]', 'failed repeats'],
      candidates.map((c) => {
        const s = spread(c.runs.filter((r) => r.ok).map((r) => r.value.jobsPerSecond));
        const failed = c.runs.filter((r) => !r.ok).length;
        return [c.label, s.n ? `${rate(s.median)} [${rate(s.min)}–${rate(s.max)}]` : 'n/a', `${failed} of ${c.runs.length}`];
      }),
    ),
  );
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = new URL(`tune-${args.peer}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, RESULTS_DIR);
  await writeFile(file, JSON.stringify({ args, candidates }, null, 2));
  console.log(`\nraw results: ${fileURLToPath(file)}`);
}

main().catch((err) => {
  console.error(err.message);
  process.exitCode = 1;
});
