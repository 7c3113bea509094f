// Writes docs/benchmarks.md from one run. Everything is regenerated except the hand-written
// notes between the NOTES markers, which are carried over from the previous file.
import { readFile, writeFile } from 'node:fs/promises';
import { SYSTEMS, systemById } from '../adapters/queue-adapter.mjs';
import { makeFigures } from './figures.mjs';
import { cell, count, ms, percent, rate, ratio, table } from './format.mjs';
import { DEPTH_SYSTEMS, ENQUEUE_SYSTEMS } from './plan.mjs';
import { evaluateTargets } from './targets.mjs';

const NOTES_START = '<!-- notes:start -->';
const NOTES_END = '<!-- notes:end -->';
const DEFAULT_NOTES = '_No notes yet: findings from profiles go here and survive the next run._';

const label = (id) => systemById(id).label;
const jobsPerSecond = (v) => v.jobsPerSecond;

export async function writeReport(file, run) {
  let notes = DEFAULT_NOTES;
  try {
    const previous = await readFile(file, 'utf8');
    const start = previous.indexOf(NOTES_START);
    const end = previous.indexOf(NOTES_END);
    if (start >= 0 && end > start) notes = previous.slice(start + NOTES_START.length, end).trim();
  } catch {
    // no previous report
  }
  await writeFile(file, render(run, notes));
}

function render(run, notes) {
  const f = makeFigures(run.results);
  const { mode } = run;
  const repeats = `${mode.repeats} repeat${mode.repeats === 1 ? '' : 's'}`;
  return `# Benchmarks

Jobbase against the queues its users would otherwise pick — graphile-worker and pg-boss on
PostgreSQL, plainjob on SQLite — in one run on one machine (issue 7). Written by
\`npm run bench${mode.name === 'full' ? ' -- --full' : ''}\` on ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC
(**${mode.name} mode**, ${repeats}, ${run.minutes.toFixed(1)} minutes). Do not edit by hand except
the notes at the end: the next run rewrites the rest.

Each figure is the median of the repeats, with [min–max] when they differ. Every measurement ran
in a fresh Node process against a fresh database (a new PostgreSQL database, or a new SQLite
file). Absolute numbers on a shared 2-core machine are noisy; the ratios within one run are the
point.${mode.name === 'quick' ? '\n\n> **Quick mode**: fewer jobs and repeats, and the depth scenario stops at ' + mode.depths.at(-1).toLocaleString('en-US') + ' waiting jobs. Run `npm run bench -- --full` for the figures to quote.' : ''}

## Targets

${table(['target (issue 7)', 'measured', 'verdict'], evaluateTargets(f, run).map((t) => [t.name, t.measured, t.verdict]))}

## A. Throughput

### Enqueue ${mode.enqueueJobs.toLocaleString('en-US')} no-op jobs, no workers running

One by one: each call awaited before the next. Bulk: the queue's bulk API in calls of 1,000 jobs.
"% of limit" compares with the machine's single-row INSERT rate on the same database (section E).

${table(
  ['system', 'one by one, jobs/s', '% of limit', 'bulk, jobs/s'],
  ENQUEUE_SYSTEMS.map((id) => {
    const limit = f.median(`limit:${systemById(id).dialect}`, (v) => v.insertsPerSecond);
    const one = f.median(`enqueue:${id}:one`, jobsPerSecond);
    const bulkKey = `enqueue:${id}:bulk`;
    return [
      label(id).replace(/ \(.*\)$/, ''),
      cell(f.values(`enqueue:${id}:one`, jobsPerSecond), rate) + gapNote(f, `enqueue:${id}:one`),
      percent(one / limit),
      f.gap(bulkKey) === 'no bulk API' ? 'n/a (no bulk API)' : cell(f.values(bulkKey, jobsPerSecond), rate) + gapNote(f, bulkKey),
    ];
  }),
)}

### Drain ${mode.drainJobs.toLocaleString('en-US')} waiting no-op jobs

From the first handler start until the database shows every job completed. A drain still
running after ${mode.drainCapMs / 1000} s stops and reports the rate it reached (marked *capped*). The timer column is
the worst gap of a 10 ms \`setInterval\` in the worker process during the drain at concurrency 10
(a queue that never yields starves its process's timers, sockets and health checks).

${table(
  ['system', ...mode.drainConcurrency.map((c) => `concurrency ${c}, jobs/s`), 'worst 10 ms-timer gap, ms', 'peak RSS, MB'],
  SYSTEMS.map(({ id }) => [
    label(id),
    ...mode.drainConcurrency.map((c) => {
      const key = `drain:${id}:${c}`;
      const capped = f.values(key, (v) => v.capped).some(Boolean);
      return cell(f.values(key, jobsPerSecond), rate) + (capped ? ' *capped*' : '') + gapNote(f, key);
    }),
    cell(f.values(`drain:${id}:${mode.drainConcurrency[0]}`, (v) => v.timerMaxGapMs), ms),
    cell(f.values(`drain:${id}:${mode.drainConcurrency[0]}`, (v) => v.peakRssMb), rate),
  ]),
)}

### Ratios, Jobbase / peer (same dialect; above 1 means Jobbase is faster)

${ratioTable(f, mode)}

## B. Latency to idle workers

${mode.latencyJobs} jobs enqueued ${mode.latencyGapMs} ms apart to workers at concurrency 10 that have been idle
for 1.5 s; each measured from the moment its enqueue call returned to the moment its handler
started, in ms. "Other process": the enqueuer is a separate Node process. A job not started 5 s
after the last enqueue counts as *never* (it makes the high percentiles "never").

${table(
  ['system', 'same process p50', 'p95', 'p99', 'max', 'other process p50', 'p95', 'p99', 'max'],
  SYSTEMS.map(({ id }) => [
    label(id),
    ...['same', 'other'].flatMap((where) =>
      ['p50', 'p95', 'p99', 'max'].map((q) => cell(f.values(`latency:${id}:${where}`, (v) => v[q] ?? Infinity), ms) + (q === 'p50' ? gapNote(f, `latency:${id}:${where}`) : '')),
    ),
  ]),
)}

## C. Depth: does the cost grow with the backlog?

Claim: the queue's own claim call on its own (Jobbase's \`jobClaim\` of 10, pg-boss \`fetch\` of
10, plainjob's claim of 1; graphile-worker has no public one), p50 over ${mode.claimProbes} claims, ms. Drain:
workers at concurrency 10 starting the first ${mode.depthDrainJobs.toLocaleString('en-US')} jobs, jobs/s. The backlog is one bulk SQL
insert into each queue's own table; PostgreSQL then gets \`VACUUM ANALYZE\` (what autovacuum
does soon after such an insert), SQLite nothing (nothing analyzes it by default).

${table(
  ['system', ...mode.depths.map((d) => `claim p50 @ ${d.toLocaleString('en-US')}`), 'growth', ...mode.depths.map((d) => `drain @ ${d.toLocaleString('en-US')}`), 'growth'],
  DEPTH_SYSTEMS.map((id) => {
    const claims = mode.depths.map((d) => f.median(`depth:${id}:${d}`, (v) => v.claimP50Ms ?? NaN));
    const drains = mode.depths.map((d) => f.median(`depth:${id}:${d}`, (v) => v.drainJobsPerSecond));
    return [
      label(id),
      ...mode.depths.map((d) => cell(f.values(`depth:${id}:${d}`, (v) => v.claimP50Ms ?? NaN), ms) + gapNote(f, `depth:${id}:${d}`)),
      ratio(claims.at(-1) / claims[0]),
      ...mode.depths.map((d) => cell(f.values(`depth:${id}:${d}`, (v) => v.drainJobsPerSecond), rate)),
      ratio(drains.at(-1) / drains[0]),
    ];
  }),
)}

## D. HTTP: \`POST /api/jobs/enqueue\`

Jobbase's server (\`createApp\`, no workers) on 127.0.0.1 with a superuser's token; autocannon in
another process, ${mode.httpConnections} connections, ${mode.httpSeconds} s, one request per connection at a time.

${table(
  ['database', 'requests/s', 'p50, ms', 'p99, ms', 'non-2xx', 'errors'],
  ['sqlite', 'postgres'].map((d) => [
    d === 'sqlite' ? 'SQLite' : 'PostgreSQL',
    cell(f.values(`http:${d}`, (v) => v.requestsPerSecond), rate) + gapNote(f, `http:${d}`),
    cell(f.values(`http:${d}`, (v) => v.p50Ms), ms),
    cell(f.values(`http:${d}`, (v) => v.p99Ms), ms),
    cell(f.values(`http:${d}`, (v) => v.non2xx), count),
    cell(f.values(`http:${d}`, (v) => v.errors), count),
  ]),
)}

## E. The machine's own limit

Single-row INSERT transactions per second, one at a time, ${mode.limitSeconds} s each, into a table shaped like a
job's essentials: node-pg with a prepared statement on one connection (PostgreSQL's default
\`synchronous_commit = on\`), and better-sqlite3 in WAL mode with \`synchronous=${run.synchronous}\`.

${table(
  ['database', 'inserts/s'],
  ['postgres', 'sqlite'].map((d) => [d === 'sqlite' ? 'SQLite (better-sqlite3)' : 'PostgreSQL (node-pg)', cell(f.values(`limit:${d}`, (v) => v.insertsPerSecond), rate) + gapNote(f, `limit:${d}`)]),
)}

## Settings

Every queue runs its defaults unless named here; "(default)" marks a default spelled out. The
concurrency is the scenario's (10 unless a column says otherwise). Both SQLite queues use
\`synchronous=${run.synchronous}\`. Child processes log at \`JOBBASE_LOG_LEVEL=${process.env.JOBBASE_LOG_LEVEL ?? 'warn'}\`.

${SYSTEMS.map(({ id }) => {
  const settings = f.settings(`drain:${id}:10`) ?? f.settings(`latency:${id}:same`);
  const text = settings ? Object.entries(settings).map(([k, v]) => `\`${k}\`: ${v}`).join('; ') : 'not run';
  return `- **${label(id)}** — ${text}`;
}).join('\n')}

## Machine and versions

${table(
  ['', ''],
  [
    ['CPUs (nproc)', `${run.machine.nproc} × ${run.machine.cpuModel}`],
    ['memory', `${run.machine.memoryGiB.toFixed(1)} GiB`],
    ['OS', run.machine.os],
    ['load average at start (1/5/15 min)', run.machine.loadAverage.map((l) => l.toFixed(2)).join(' / ')],
    ['Node.js', run.machine.node],
    ['PostgreSQL', `${run.machine.postgres} (127.0.0.1:5432, server defaults)`],
    ['SQLite (better-sqlite3’s)', run.machine.sqliteBetter],
    ...Object.entries(run.versions),
  ],
)}

graphile-worker 0.18 and pg-boss 11+ need Node 22; these are the newest releases that run on
Node 20, which Jobbase supports.

## How to reproduce

\`\`\`sh
npm ci                      # the workspace, as for the tests
npm run bench               # quick mode, a few minutes
npm run bench -- --full     # the full run, the one to quote
\`\`\`

\`npm run bench\` installs \`test/bench\` (its own package and lockfile, outside the workspaces) on
first use, builds the workspace (\`npm run build\`, i.e. \`tsc -b\` and the admin UI), and runs \`test/bench/run-bench.mjs\`. It needs
PostgreSQL on 127.0.0.1:5432 (user \`postgres\`, trust auth), where it creates and drops one
\`jb_bench_*\` database per measurement. Other flags: \`--only=A,C\` (scenarios), \`--systems=id,…\`,
\`--synchronous=FULL\`, \`--cpu-prof\` (profiles every child into \`test/bench/.results/profiles\`),
\`--no-write\`. Raw results of every run land in \`test/bench/.results/\`.

## Notes

${NOTES_START}
${notes}
${NOTES_END}
`;
}

function gapNote(f, key) {
  const gap = f.gap(key);
  return gap && gap !== 'no bulk API' ? ` (${gap})` : '';
}

function ratioTable(f, mode) {
  const pairs = [
    ['jobbase-postgres', 'graphile-worker'],
    ['jobbase-postgres', 'graphile-worker-batched'],
    ['jobbase-postgres', 'pg-boss'],
    ['jobbase-postgres', 'pg-boss-batch'],
    ['jobbase-sqlite', 'plainjob'],
  ];
  // Enqueueing does not depend on worker settings: a peer's batched variant shares its enqueue.
  const enqueueId = (id) => id.replace(/-(batched|batch)$/, '');
  const r = (a, b) => ratio(a / b);
  return table(
    ['Jobbase vs', 'enqueue one by one', 'enqueue bulk', ...mode.drainConcurrency.map((c) => `drain c=${c}`), 'latency p50, other process (below 1 is better)'],
    pairs.map(([jb, peer]) => {
      const m = (key, field) => f.median(key, field);
      return [
        `${label(jb).replace(/ \(defaults\)$/, '')} / ${label(peer)}`,
        r(m(`enqueue:${enqueueId(jb)}:one`, jobsPerSecond), m(`enqueue:${enqueueId(peer)}:one`, jobsPerSecond)),
        r(m(`enqueue:${enqueueId(jb)}:bulk`, jobsPerSecond), m(`enqueue:${enqueueId(peer)}:bulk`, jobsPerSecond)),
        ...mode.drainConcurrency.map((c) => r(m(`drain:${jb}:${c}`, jobsPerSecond), m(`drain:${peer}:${c}`, jobsPerSecond))),
        r(m(`latency:${jb}:other`, (v) => v.p50 ?? Infinity), m(`latency:${peer}:other`, (v) => v.p50 ?? Infinity)),
      ];
    }),
  );
}
