// Writes docs/benchmarks.md from one run. Everything is regenerated except the hand-written
// notes between the NOTES markers, which are carried over from the previous file.
import { readFile, writeFile } from 'node:fs/promises';
import { SYSTEMS, systemById, systemsIn } from '../adapters/queue-adapter.mjs';
import { makeFigures } from './figures.mjs';
import { cell, count, ms, percent, rate, ratio, ratioOf, table } from './format.mjs';
import { DEPTH_SYSTEMS, ENQUEUE_SYSTEMS, PRIORITY_DEPTH_SYSTEMS } from './plan.mjs';
import { evaluateTargets } from './targets.mjs';

const NOTES_START = '<!-- notes:start -->';
const NOTES_END = '<!-- notes:end -->';
const DEFAULT_NOTES = '_No notes yet: findings from profiles go here and survive the next run._';

const label = (id) => systemById(id).label;
const mb = (v) => v.toFixed(1);
/** Section F's rows, and the drain rows whose peak each shows (a peer's settings, in SYSTEMS order). */
const MEMORY_SYSTEMS = ENQUEUE_SYSTEMS;
const MEMORY_DRAINS = Object.fromEntries(
  MEMORY_SYSTEMS.map((id) => [id, SYSTEMS.filter((s) => s.id === id || (systemById(id).queue !== 'jobbase' && s.queue === id)).map((s) => s.id)]),
);
const jobsPerSecond = (v) => v.jobsPerSecond;
const cpuPerJob = (v) => v.cpuPerJobUs;
/** Enqueueing does not depend on worker settings: a peer's tuned variants share its enqueue figures. */
const enqueueId = (id) => (systemById(id).queue === 'jobbase' ? id : systemById(id).queue);
/** The calls each queue's enqueue scenario makes (one by one / bulk). */
const ENQUEUE_CALLS = {
  'jobbase-sqlite': '`enqueue` / `enqueueMany`',
  'jobbase-postgres': '`enqueue` / `enqueueMany`',
  'graphile-worker': '`addJob` / `addJobs`',
  'pg-boss': '`send` / `insert`',
  plainjob: '`add` / `addMany`',
};

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
\`npm run bench${mode.name === 'full' || mode.repeatsOverride ? ' --' : ''}${mode.name === 'full' ? ' --full' : ''}${mode.repeatsOverride ? ` --repeats=${mode.repeats}` : ''}\` on ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC
(**${mode.name} mode**${mode.repeatsOverride ? ` with \`--repeats=${mode.repeats}\`` : ''}, ${repeats}, ${run.minutes.toFixed(1)} minutes). Do not edit by hand except
the notes at the end: the next run rewrites the rest.

Each figure is the median of the repeats, with [min–max] when they differ; a figure that lost a
repeat (it failed, or the queue started no job) is *n/a* with the count, not the median of the
rest. Every measurement ran in a fresh Node process against a fresh database (a new PostgreSQL
database, or a new SQLite file). Each peer is named with the setting it ran: its defaults, and
the setting its documentation gives for throughput (section *Settings* says how each was
chosen). ${machineSentence(run)}${mode.name === 'quick' ? '\n\n> **Quick mode**: fewer jobs and repeats, and the depth scenario stops at ' + mode.depths.at(-1).toLocaleString('en-US') + ' waiting jobs. Run `npm run bench -- --full` for the figures to quote.' : ''}

## Headline

${headlineList(f, mode)}

## Targets

${table(['target (issue 7)', 'measured', 'verdict'], evaluateTargets(f, run).map((t) => [t.name, t.measured, t.verdict]))}

## A. Throughput

### Enqueue ${mode.enqueueJobs.toLocaleString('en-US')} no-op jobs, no workers running

One by one: each call awaited before the next. Bulk: the queue's bulk API in calls of 1,000 jobs.
"% of limit" compares with the machine's single-row INSERT rate on the same database (section E).

${table(
  ['system', 'calls', 'one by one, jobs/s', '% of limit', 'bulk, jobs/s'],
  ENQUEUE_SYSTEMS.map((id) => {
    const limit = f.median(`limit:${systemById(id).dialect}`, (v) => v.insertsPerSecond);
    const one = f.median(`enqueue:${id}:one`, jobsPerSecond);
    return [
      label(id).replace(/ \(.*\)$/, ''),
      ENQUEUE_CALLS[id] ?? '',
      cell(f.figure(`enqueue:${id}:one`, jobsPerSecond), rate),
      percent(one / limit),
      cell(f.figure(`enqueue:${id}:bulk`, jobsPerSecond), rate),
    ];
  }),
)}

### Drain ${mode.drainJobs.toLocaleString('en-US')} waiting no-op jobs

From the moment the workers are running (the queue's start call returned, or its first handler
started if that came first) until the database shows every job completed, so the first claim
and the completion writes are in it and process start-up is not. A drain still
running after ${mode.drainCapMs / 1000} s stops and reports the rate it reached (marked *capped*). The timer column is
the worst gap of a 10 ms \`setInterval\` in the worker process during the drain at concurrency 10
(a queue that never yields starves its process's timers, sockets and health checks).

${table(
  ['system', ...mode.drainConcurrency.map((c) => `concurrency ${c}, jobs/s`), 'worst 10 ms-timer gap, ms', 'peak RSS, MB'],
  systemsIn('A').map(({ id }) => [
    label(id),
    ...mode.drainConcurrency.map((c) => {
      const key = `drain:${id}:${c}`;
      const capped = f.values(key, (v) => v.capped).some(Boolean);
      return cell(f.figure(key, jobsPerSecond), rate) + (capped ? ' *capped*' : '');
    }),
    cell(f.figure(`drain:${id}:${mode.drainConcurrency[0]}`, (v) => v.timerMaxGapMs), ms, { terse: true }),
    cell(f.figure(`drain:${id}:${mode.drainConcurrency[0]}`, (v) => v.peakRssMb), rate, { terse: true }),
  ]),
)}

### Ratios, Jobbase / peer (same dialect; above 1 means Jobbase is faster)

Jobbase at its defaults claims up to min(free worker slots, \`batchSize\` = 10) jobs per round
trip and writes the completions that arrive while one write is in flight as one statement.
graphile-worker's defaults fetch one job per round trip and complete each in another; its
\`localQueue.size\` 10 row batches about as Jobbase does; its \`localQueue.size\` 500 row locks
500 jobs per fetch and hands them out from memory, which Jobbase's rule (a worker never claims
more than its free slots) does not allow. Enqueue figures do not depend on worker settings, so a
peer's rows share its enqueue figures.

${ratioTable(f, mode)}

## B. Latency to idle workers

${mode.latencyJobs} jobs enqueued ${mode.latencyGapMs} ms apart to workers at concurrency 10 that have been idle
for 1.5 s; each measured from the moment its enqueue call returned to the moment its handler
started, in ms. "Other process": the enqueuer is a separate Node process. A job not started 5 s
after the last enqueue counts as *never* (it makes the high percentiles "never"). A figure below
0 means the worker started the job before the enqueuing process, waiting for a CPU, noted that
its call had returned: on a loaded machine the "other process" figures come out too low, and a
ratio or target with one below 0 is n/a rather than a win.

${table(
  ['system', 'same process p50', 'p95', 'p99', 'max', 'other process p50', 'p95', 'p99', 'max'],
  systemsIn('B').map(({ id }) => [
    label(id),
    ...['same', 'other'].flatMap((where) =>
      ['p50', 'p95', 'p99', 'max'].map((q) => {
        const fig = f.figure(`latency:${id}:${where}`, (v) => v[q] ?? Infinity);
        // A lost repeat's reason is said once, in the p50 column.
        return cell(fig, ms, { terse: q !== 'p50' });
      }),
    ),
  ]),
)}

## C. Depth: does the cost grow with the backlog?

Claim: the queue's own claim call on its own (Jobbase's \`jobClaim\` of 10, pg-boss \`fetch\` of
10, plainjob's claim of 1; graphile-worker has no public one), p50 over ${mode.claimProbes} claims, ms. Drain:
workers at concurrency 10 starting the first ${mode.depthDrainJobs.toLocaleString('en-US')} jobs, from the moment they are running, jobs/s. The backlog is one bulk SQL
insert into each queue's own table; PostgreSQL then gets \`VACUUM ANALYZE\` (what autovacuum
does soon after such an insert), SQLite nothing (nothing analyzes it by default).

${table(
  ['system', ...mode.depths.map((d) => `claim p50 @ ${d.toLocaleString('en-US')}`), 'growth', ...mode.depths.map((d) => `drain @ ${d.toLocaleString('en-US')}`), 'growth'],
  [...DEPTH_SYSTEMS.map((id) => ['depth', id]), ...PRIORITY_DEPTH_SYSTEMS.map((id) => ['depth-priority', id])].map(([kind, id]) => {
    const claims = mode.depths.map((d) => f.median(`${kind}:${id}:${d}`, (v) => v.claimP50Ms ?? NaN));
    const drains = mode.depths.map((d) => f.median(`${kind}:${id}:${d}`, (v) => v.drainJobsPerSecond));
    return [
      kind === 'depth' ? label(id) : `${label(id)}, mixed priorities`,
      ...mode.depths.map((d) => cell(f.figure(`${kind}:${id}:${d}`, (v) => v.claimP50Ms ?? NaN), ms)),
      ratio(claims.at(-1) / claims[0]),
      ...mode.depths.map((d) => cell(f.figure(`${kind}:${id}:${d}`, (v) => v.drainJobsPerSecond), rate, { terse: true })),
      ratio(drains.at(-1) / drains[0]),
    ];
  }),
)}

"Mixed priorities": Jobbase's backlog spread over five priorities (-2 to 2), with a tenth as many
jobs again due in an hour at priority -10, ahead of every due job in the claim index's order:
the claim reads each waiting priority's due jobs and at most one job not yet due per priority, so
the jobs scheduled for later cost it nothing however many they are.

## D. HTTP: \`POST /api/jobs/enqueue\`

Jobbase's server (\`createApp\`, no workers) on 127.0.0.1 with a superuser's token; autocannon in
another process, ${mode.httpConnections} connections, ${mode.httpSeconds} s, one request per connection at a time.

"% of limit" compares with the machine's single-row INSERT rate on the same database (section E):
with ${mode.httpConnections} clients at once on PostgreSQL, one at a time on SQLite (one writer).

${table(
  ['database', 'requests/s', '% of limit', 'p50, ms', 'p99, ms', 'non-2xx', 'errors'],
  ['sqlite', 'postgres'].map((d) => [
    d === 'sqlite' ? 'SQLite' : 'PostgreSQL',
    cell(f.figure(`http:${d}`, (v) => v.requestsPerSecond), rate),
    percent(f.median(`http:${d}`, (v) => v.requestsPerSecond) / f.median(`limit:${d}`, (v) => (d === 'postgres' ? v.insertsPerSecond10 : v.insertsPerSecond))),
    cell(f.figure(`http:${d}`, (v) => v.p50Ms), ms, { terse: true }),
    cell(f.figure(`http:${d}`, (v) => v.p99Ms), ms, { terse: true }),
    cell(f.figure(`http:${d}`, (v) => v.non2xx), count, { terse: true }),
    cell(f.figure(`http:${d}`, (v) => v.errors), count, { terse: true }),
  ]),
)}

## E. The machine's own limit

Single-row INSERT transactions per second, ${mode.limitSeconds} s each, into a table shaped like a
job's essentials: node-pg with a prepared statement (PostgreSQL's default
\`synchronous_commit = on\`) on one connection, then on 10 at once; and better-sqlite3 in WAL mode
with \`synchronous=${run.synchronous}\`, one at a time (SQLite has one writer).

${table(
  ['database', 'inserts/s, one client', 'inserts/s, 10 clients'],
  ['postgres', 'sqlite'].map((d) => [
    d === 'sqlite' ? 'SQLite (better-sqlite3)' : 'PostgreSQL (node-pg)',
    cell(f.figure(`limit:${d}`, (v) => v.insertsPerSecond), rate),
    d === 'sqlite' ? '—' : cell(f.figure(`limit:${d}`, (v) => v.insertsPerSecond10), rate),
  ]),
)}

## F. Memory

What a queue costs the process it runs in, in MB of resident memory (RSS). *Import*: a fresh
process imports what a service imports to run the queue's workers — for Jobbase
\`@jobbase/server\` and the store module \`createJobs\` loads for the database's dialect (one
driver and MikroORM); graphile-worker and pg-boss their packages; plainjob its package and
better-sqlite3 — and the RSS it added is taken. *Opened*: the same process then opens the queue
on an empty database (migrations included), no job yet. *Drain peak*: the process's peak RSS in
the drain above at concurrency 10 (${mode.drainJobs.toLocaleString('en-US')} jobs), the harness's own backlog insert included.

${table(
  ['system', 'import, MB', 'import + open, MB', 'drain peak RSS, MB (each setting of section A, in its order)'],
  MEMORY_SYSTEMS.map((id) => [
    label(id).replace(/ \(.*\)$/, ''),
    cell(f.figure(`memory:${id}`, (v) => v.importMb), mb, { terse: true }),
    cell(f.figure(`memory:${id}`, (v) => v.openMb), mb, { terse: true }),
    MEMORY_DRAINS[id].map((d) => cell(f.figure(`drain:${d}:${mode.drainConcurrency[0]}`, (v) => v.peakRssMb), rate, { terse: true })).join(' / '),
  ]),
)}

## G. Remote workers

Issue 19: ${mode.drainJobs.toLocaleString('en-US')} waiting no-op jobs drained by two remote worker processes over the HTTP
API (\`createRemoteWorker\` at concurrency 10 each, with a worker token: long-poll claims of up to
10 jobs, batched finishes) against a server running \`jobbase serve\`'s engine, and by one embedded
worker at concurrency 10, each on a fresh database; from the workers' start until the database
shows every job completed. The target: remote at least half the embedded rate. *Prefetch*: the
same remote workers with the SDK's opt-in \`prefetch: 10\` (up to 10 more jobs claimed than free
slots, waiting locked in the worker). The last column is the CPU the server's process (remote)
or the embedded worker's process spent per job meanwhile.

${table(
  ['database', 'remote (2 × 10), jobs/s', 'prefetch (2 × 10 + 10), jobs/s', 'embedded (10), jobs/s', 'remote / embedded', 'prefetch / embedded', 'process CPU per job, µs: remote / prefetch / embedded'],
  ['sqlite', 'postgres'].map((d) => [
    d === 'sqlite' ? 'SQLite' : 'PostgreSQL',
    cell(f.figure(`remote:${d}:remote`, jobsPerSecond), rate),
    cell(f.figure(`remote:${d}:remote-prefetch`, jobsPerSecond), rate),
    cell(f.figure(`remote:${d}:embedded`, jobsPerSecond), rate),
    ratio(f.median(`remote:${d}:remote`, jobsPerSecond) / f.median(`remote:${d}:embedded`, jobsPerSecond)),
    ratio(f.median(`remote:${d}:remote-prefetch`, jobsPerSecond) / f.median(`remote:${d}:embedded`, jobsPerSecond)),
    ['remote', 'remote-prefetch', 'embedded'].map((v) => count(f.median(`remote:${d}:${v}`, cpuPerJob))).join(' / '),
  ]),
)}

## Settings

Every queue runs its defaults unless named here; "(default)" marks a default spelled out. The
concurrency is the scenario's (10 unless a column says otherwise). Both SQLite queues use
\`synchronous=${run.synchronous}\`. Child processes log at \`JOBBASE_LOG_LEVEL=${process.env.JOBBASE_LOG_LEVEL ?? 'warn'}\`.

How the peers' throughput settings were chosen: graphile-worker's \`localQueue.size\` 500 with
\`completeJobBatchDelay\` 0 is the configuration of its performance page (worker.graphile.org,
"Performance"); \`localQueue.size\` 10 is the same batching at Jobbase's claim size. pg-boss 10
documents \`batchSize\`, \`priority\`, \`includeMetadata\` and \`pollingIntervalSeconds\` (at least
0.5) for \`work()\`, and \`notifyWorker(id)\` to skip one wait; a worker waits out its interval
after every fetch, even a full one. Its setting is the fastest of a drain sweep over those
(\`node test/bench/tune-peers.mjs --peer=pg-boss\`; results in the notes). pg-boss 10 has no
\`teamSize\` or \`localConcurrency\`: more work() calls are how it fetches in parallel; here they
share one limit of \`concurrency\` jobs running at once. plainjob's only worker setting is its
poll interval (\`pollIntervall\`), left at its default; its documentation scales out with more
processes, which this single-process scenario does not measure.

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
\`--synchronous=FULL\`, \`--repeats=N\` (instead of the mode's own count), \`--cpu-prof\` (profiles every child into \`test/bench/.results/profiles\`),
\`--no-write\`. Raw results of every run land in \`test/bench/.results/\`.

## Notes

${NOTES_START}
${notes}
${NOTES_END}
`;
}


/** The machine: its CPUs and the load average sampled before each measurement. */
function machineSentence(run) {
  const samples = run.loadSamples ?? [];
  if (samples.length === 0) return 'Absolute numbers on a shared 2-core machine are noisy; the ratios within one run are the point.';
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1];
  const nproc = run.machine.nproc;
  const shared = median > nproc;
  return (
    `The 1-minute load average, sampled before each of the ${samples.length} measurements, was ` +
    `${median.toFixed(1)} at the median (${sorted[0].toFixed(1)}–${sorted.at(-1).toFixed(1)}) on ${nproc} CPUs` +
    (shared
      ? `: **the machine was shared with other work during this run**, so absolute numbers are low and noisy; the ratios within the run, whose repeats are interleaved so a busy minute hits every system alike, are the point.`
      : `; absolute numbers are still noisy, and the ratios within one run are the point.`)
  );
}

/** The pairs every comparison is made on: Jobbase at its defaults against each peer setting. */
const PAIRS = [
  ['jobbase-postgres', 'graphile-worker'],
  ['jobbase-postgres', 'graphile-worker-lq10'],
  ['jobbase-postgres', 'graphile-worker-batched'],
  ['jobbase-postgres', 'pg-boss'],
  ['jobbase-postgres', 'pg-boss-tuned'],
  ['jobbase-sqlite', 'plainjob'],
];

function ratioTable(f, mode) {
  const names = { a: 'Jobbase', b: 'peer' };
  return table(
    ['Jobbase vs', 'enqueue one by one', 'enqueue bulk', ...mode.drainConcurrency.map((c) => `drain c=${c}`), 'latency p50, other process (below 1 is better)'],
    PAIRS.map(([jb, peer]) => {
      const g = (key, field) => f.figure(key, field);
      return [
        `${label(jb).replace(/ \(defaults\)$/, '')} / ${label(peer)}`,
        ratioOf(g(`enqueue:${enqueueId(jb)}:one`, jobsPerSecond), g(`enqueue:${enqueueId(peer)}:one`, jobsPerSecond), names),
        ratioOf(g(`enqueue:${enqueueId(jb)}:bulk`, jobsPerSecond), g(`enqueue:${enqueueId(peer)}:bulk`, jobsPerSecond), names),
        ...mode.drainConcurrency.map((c) => ratioOf(g(`drain:${jb}:${c}`, jobsPerSecond), g(`drain:${peer}:${c}`, jobsPerSecond), names)),
        ratioOf(g(`latency:${jb}:other`, (v) => v.p50 ?? Infinity), g(`latency:${peer}:other`, (v) => v.p50 ?? Infinity), names),
      ];
    }),
  );
}

/**
 * The sentences to quote (the README's benchmark paragraph is written from these): Jobbase at its
 * defaults against each peer, the peer named with its setting, both figures beside the ratio.
 */
function headlineList(f, mode) {
  const c = mode.drainConcurrency[0];
  const short = (id) => systemById(id).short;
  /** Jobbase's figure `a` against peer figure `b`: "2.90× as fast as <peer>: 7,357 vs 2,534 jobs/s",
   * "0.27× as fast as <peer>, which is 3.65× as fast as Jobbase: …", or "n/a against <peer> (…)". */
  const versus = (peerName, a, b, unit, fmt) => {
    if (a.reason) return `n/a against ${peerName} (Jobbase: ${a.reason})`;
    if (b.reason) return `n/a against ${peerName} (${b.reason})`;
    const r = ratioOf(a, b);
    if (r.startsWith('n/a')) return `n/a against ${peerName} (${fmt(a.value)} vs ${fmt(b.value)} ${unit})`;
    const v = a.value / b.value;
    const figures = `${fmt(a.value)} vs ${fmt(b.value)} ${unit}`;
    return v >= 1
      ? `**${ratio(v)}** as fast as ${peerName}: ${figures}`
      : `**${ratio(v)}** as fast as ${peerName}, which is ${ratio(1 / v)} as fast as Jobbase: ${figures}`;
  };
  const drain = (id) => f.figure(`drain:${id}:${c}`, jobsPerSecond);
  const capped = (id) =>
    f.values(`drain:${id}:${c}`, (v) => v.capped).some(Boolean) ? ` (${systemById(id).queue}'s drain hit the ${mode.drainCapMs / 1000} s cap: its rate until then)` : '';
  const one = (id) => f.figure(`enqueue:${id}:one`, jobsPerSecond);
  const bulk = (id) => f.figure(`enqueue:${id}:bulk`, jobsPerSecond);
  const p50 = (id) => f.figure(`latency:${id}:other`, (v) => v.p50 ?? Infinity);
  const latencyLine = (peers) => {
    const below = (v) => (v < 0 ? ' (below 0: not a real figure, see section B)' : '');
    const shown = (f) =>
      f.reason ? `n/a (${f.reason})` : f.value === Infinity ? 'never (most jobs not started in time)' : `${ms(f.value)} ms${below(f.value)}`;
    return [`Jobbase (defaults) ${shown(p50('jobbase-postgres'))}`, ...peers.map((peer) => `${short(peer)} ${shown(p50(peer))}`)].join('; ');
  };
  const pgPeers = ['graphile-worker', 'graphile-worker-lq10', 'graphile-worker-batched', 'pg-boss', 'pg-boss-tuned'];
  return [
    `- **Drain of ${mode.drainJobs.toLocaleString('en-US')} waiting jobs, concurrency ${c}, PostgreSQL.** Jobbase (defaults) drained`,
    ...pgPeers.map((peer) => `  - ${versus(short(peer), drain('jobbase-postgres'), drain(peer), 'jobs/s', rate)}${capped(peer)}`),
    `- **Drain, SQLite.** Jobbase (defaults) drained ${versus(short('plainjob'), drain('jobbase-sqlite'), drain('plainjob'), 'jobs/s', rate)}.`,
    `- **Enqueue one by one, PostgreSQL** (no worker setting applies). Jobbase enqueued ${versus('graphile-worker’s `addJob`', one('jobbase-postgres'), one('graphile-worker'), 'jobs/s', rate)}, and ${versus('pg-boss’s `send`', one('jobbase-postgres'), one('pg-boss'), 'jobs/s', rate)}.`,
    `- **Bulk enqueue, PostgreSQL**, calls of 1,000. Jobbase enqueued ${versus('graphile-worker’s `addJobs`', bulk('jobbase-postgres'), bulk('graphile-worker'), 'jobs/s', rate)}, and ${versus('pg-boss’s `insert`', bulk('jobbase-postgres'), bulk('pg-boss'), 'jobs/s', rate)}.`,
    `- **Latency p50 to an idle worker, enqueued from another process, PostgreSQL.** ${latencyLine(['graphile-worker', 'graphile-worker-batched', 'pg-boss-tuned'])}.`,
  ].join('\n');
}
