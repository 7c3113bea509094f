// Issue 7's targets, each checked against this run's medians: met, or missed and by how much.
// A peer's side is always named with the setting it ran ("pg-boss tuned (4 × work(), …)"), and a
// figure that lost a repeat leaves its target "not measured" with the count, never a verdict
// from the repeats that were left.
import { systemById } from '../adapters/queue-adapter.mjs';
import { ms, percent, rate, ratio } from './format.mjs';

const jobsPerSecond = (v) => v.jobsPerSecond;
const mb = (v) => v.toFixed(1);

/** "not measured: <side> n/a (1 of 3 repeats failed)", or null when both figures stand. */
function unmeasured(sides) {
  for (const [name, f] of sides) {
    if (f.reason) return `not measured: ${name} n/a (${f.reason})`;
    if (Number.isNaN(f.value)) return `not measured: ${name} n/a`;
    // Only a latency can come out below 0: the enqueuing process noted its call's return late.
    if (f.value < 0) return `not measured: ${name}'s median is below 0 (see section B)`;
  }
  return null;
}

/** At least `threshold` × the reference (higher is better); `show` formats the ratio. */
function atLeast(name, value, reference, threshold, describe, show = ratio) {
  const missing = unmeasured([['Jobbase', value], ['reference', reference]]);
  if (missing) return { name, measured: describe, verdict: missing };
  const r = value.value / reference.value;
  if (!Number.isFinite(r) || r === 0) return { name, measured: describe, verdict: 'not measured: a side is 0 or never' };
  const verdict = r >= threshold ? `met (${show(r)})` : `missed: ${show(r)}, needs ${percent(threshold / r - 1)} more`;
  return { name, measured: describe, verdict };
}

/** At most `limit` (lower is better); `limit` is a number or a figure. */
function atMost(name, value, limit, describe) {
  const limitFigure = typeof limit === 'number' ? { value: limit, reason: null } : limit;
  const missing = unmeasured([['Jobbase', value], ['reference', limitFigure]]);
  if (missing) return { name, measured: describe, verdict: missing };
  if (value.value === Infinity) return { name, measured: describe, verdict: 'missed: jobs never started' };
  const verdict = value.value <= limitFigure.value ? 'met' : `missed by ${percent(value.value / limitFigure.value - 1)}`;
  return { name, measured: describe, verdict };
}

/** A figure as text for the "measured" column: its median, or n/a with the reason. */
function shown(f, fmt) {
  return f.reason ? `n/a (${f.reason})` : fmt(f.value);
}

/** A constant or derived number as a figure. */
const derived = (value, ...from) => ({ value, reason: from.find((f) => f.reason)?.reason ?? null });

export function evaluateTargets(f, run) {
  const out = [];
  const short = (id) => systemById(id).short;
  const drain = (id) => f.figure(`drain:${id}:10`, jobsPerSecond);
  const pgDrain = drain('jobbase-postgres');
  const gwBatched = drain('graphile-worker-batched');
  const bossTuned = drain('pg-boss-tuned');
  out.push(
    atLeast(`PostgreSQL drain, concurrency 10, Jobbase defaults ≥ 1.0× ${short('graphile-worker-batched')}`, pgDrain, gwBatched, 1,
      `${shown(pgDrain, rate)} vs ${shown(gwBatched, rate)} jobs/s`),
    atLeast(`… ≥ 3× pg-boss in batch mode, measured against ${short('pg-boss-tuned')}`, pgDrain, bossTuned, 3,
      `${shown(pgDrain, rate)} vs ${shown(bossTuned, rate)} jobs/s`),
  );

  const one = (id) => f.figure(`enqueue:${id}:one`, jobsPerSecond);
  const pgOne = one('jobbase-postgres');
  const gwOne = one('graphile-worker');
  const pgLimit = f.figure('limit:postgres', (v) => v.insertsPerSecond);
  out.push(
    atLeast('PostgreSQL enqueue one by one ≥ 2× graphile-worker (`addJob`)', pgOne, gwOne, 2,
      `${shown(pgOne, rate)} vs ${shown(gwOne, rate)} jobs/s (2× graphile-worker = ${percent((2 * gwOne.value) / pgLimit.value)} of the single-row INSERT limit)`),
    atLeast('… ≥ 50% of the machine’s single-row INSERT rate', pgOne, pgLimit, 0.5,
      `${shown(pgOne, rate)} of ${shown(pgLimit, rate)} inserts/s`, percent),
  );
  const pgBulk = f.figure('enqueue:jobbase-postgres:bulk', jobsPerSecond);
  const gwBulk = f.figure('enqueue:graphile-worker:bulk', jobsPerSecond);
  out.push(
    pgBulk.reason === 'no bulk API'
      ? { name: 'PostgreSQL bulk enqueue ≥ 1.0× graphile-worker addJobs', measured: 'Jobbase has no enqueueMany yet', verdict: 'missed: n/a' }
      : atLeast('PostgreSQL bulk enqueue ≥ 1.0× graphile-worker addJobs', pgBulk, gwBulk, 1, `${shown(pgBulk, rate)} vs ${shown(gwBulk, rate)} jobs/s`),
  );

  const p = (key, q) => f.figure(key, (v) => v[q] ?? Infinity);
  const pgP50 = p('latency:jobbase-postgres:other', 'p50');
  // graphile-worker's best configuration for latency: the lowest p50 of the ones measured.
  const gwP50s = ['graphile-worker', 'graphile-worker-lq10', 'graphile-worker-batched'].map((id) => ({ id, fig: p(`latency:${id}:other`, 'p50') }));
  const gwLost = gwP50s.find((g) => g.fig.reason);
  const gwBest = gwLost ?? gwP50s.reduce((a, b) => (b.fig.value < a.fig.value ? b : a));
  const pgP99 = p('latency:jobbase-postgres:other', 'p99');
  const liteP50 = p('latency:jobbase-sqlite:same', 'p50');
  out.push(
    atMost('Latency, PostgreSQL, other process: p50 ≤ graphile-worker’s (its best configuration here)', pgP50, gwBest.fig,
      `${shown(pgP50, ms)} vs ${shown(gwBest.fig, ms)} ms (${systemById(gwBest.id).label})`),
    atMost('… p99 ≤ 10 ms', pgP99, 10, `${shown(pgP99, ms)} ms`),
    atMost('Latency, SQLite, same process: p50 ≤ 5 ms', liteP50, 5, `${shown(liteP50, ms)} ms`),
  );

  const liteDrain = drain('jobbase-sqlite');
  const plain = drain('plainjob');
  const gap = f.figure('drain:jobbase-sqlite:10', (v) => v.timerMaxGapMs);
  const plainGap = f.figure('drain:plainjob:10', (v) => v.timerMaxGapMs);
  out.push(
    atLeast(`SQLite drain, concurrency 10, ≥ 1.0× ${short('plainjob')} (both synchronous=${run.synchronous})`, liteDrain, plain, 1,
      `${shown(liteDrain, rate)} vs ${shown(plain, rate)} jobs/s`),
    atMost('… while a 10 ms timer keeps firing (worst gap ≤ 50 ms)', gap, 50, `worst gap ${shown(gap, ms)} ms (plainjob: ${shown(plainGap, ms)} ms)`),
  );

  // Issue 20, Memory: against graphile-worker, its import and its lowest drain peak of the
  // settings measured (like the latency target, its best configuration here).
  const imported = (id) => f.figure(`memory:${id}`, (v) => v.importMb);
  const gwImport = imported('graphile-worker');
  const peak = (id) => f.figure(`drain:${id}:10`, (v) => v.peakRssMb);
  const gwPeaks = ['graphile-worker', 'graphile-worker-lq10', 'graphile-worker-batched'].map((id) => ({ id, fig: peak(id) }));
  const gwPeak = gwPeaks.find((g) => g.fig.reason) ?? gwPeaks.reduce((a, b) => (b.fig.value < a.fig.value ? b : a));
  for (const id of ['jobbase-postgres', 'jobbase-sqlite']) {
    const mine = imported(id);
    out.push(
      atMost(`Memory, ${id}: import of what \`createJobs\` needs ≤ 1.5× graphile-worker’s`, mine, derived(1.5 * gwImport.value, gwImport),
        `${shown(mine, mb)} vs ${shown(gwImport, mb)} MB (${mine.reason || gwImport.reason ? 'n/a' : ratio(mine.value / gwImport.value)})`),
    );
  }
  for (const id of ['jobbase-postgres', 'jobbase-sqlite']) {
    const mine = peak(id);
    out.push(
      atMost(`Memory, ${id}: drain peak RSS (concurrency 10) ≤ 1.2× graphile-worker’s`, mine, derived(1.2 * gwPeak.fig.value, gwPeak.fig),
        `${shown(mine, mb)} vs ${shown(gwPeak.fig, mb)} MB, ${systemById(gwPeak.id).label} (${mine.reason || gwPeak.fig.reason ? 'n/a' : ratio(mine.value / gwPeak.fig.value)})`),
    );
  }

  // Issue 20: the SQLite default against plainjob, and the HTTP path against the machine's limit.
  const liteOne = one('jobbase-sqlite');
  const plainOne = one('plainjob');
  const liteBulk = f.figure('enqueue:jobbase-sqlite:bulk', jobsPerSecond);
  const plainBulk = f.figure('enqueue:plainjob:bulk', jobsPerSecond);
  out.push(
    atLeast('SQLite enqueue one by one ≥ 1.0× plainjob', liteOne, plainOne, 1, `${shown(liteOne, rate)} vs ${shown(plainOne, rate)} jobs/s`),
    atLeast('SQLite bulk enqueue ≥ 0.5× plainjob', liteBulk, plainBulk, 0.5, `${shown(liteBulk, rate)} vs ${shown(plainBulk, rate)} jobs/s`),
  );
  const http = (d) => f.figure(`http:${d}`, (v) => v.requestsPerSecond);
  const httpP99 = (d) => f.figure(`http:${d}`, (v) => v.p99Ms);
  const pgLimit10 = f.figure('limit:postgres', (v) => v.insertsPerSecond10);
  out.push(
    atLeast(`HTTP enqueue, PostgreSQL, ${run.mode.httpConnections} connections ≥ 50% of the machine’s 10-client single-row INSERT rate`, http('postgres'), pgLimit10, 0.5,
      `${shown(http('postgres'), rate)} req/s of ${shown(pgLimit10, rate)} inserts/s`, percent),
    atLeast('HTTP enqueue, SQLite ≥ 3,000 req/s', http('sqlite'), derived(3000), 1, `${shown(http('sqlite'), rate)} req/s`),
    atMost('… p99 ≤ 10 ms, PostgreSQL', httpP99('postgres'), 10, `${shown(httpP99('postgres'), ms)} ms`),
    atMost('… p99 ≤ 10 ms, SQLite', httpP99('sqlite'), 10, `${shown(httpP99('sqlite'), ms)} ms`),
  );

  const [shallow, deep] = [Math.min(...run.mode.depths), Math.max(...run.mode.depths)];
  for (const id of ['jobbase-postgres', 'jobbase-sqlite']) {
    const a = f.figure(`depth:${id}:${shallow}`, (v) => v.claimP50Ms);
    const b = f.figure(`depth:${id}:${deep}`, (v) => v.claimP50Ms);
    const growth = derived(b.value / a.value, a, b);
    out.push(
      atMost(`Depth, ${id}: claim p50 with ${deep.toLocaleString('en-US')} waiting ≤ 2× with ${shallow.toLocaleString('en-US')}`, growth, 2,
        `${shown(b, ms)} vs ${shown(a, ms)} ms (${growth.reason ? 'n/a' : ratio(growth.value)})`),
    );
  }
  return out;
}
