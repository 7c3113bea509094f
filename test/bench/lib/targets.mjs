// Issue 7's targets, each checked against this run's medians: met, or missed and by how much.
import { ms, percent, rate, ratio } from './format.mjs';

const jobsPerSecond = (v) => v.jobsPerSecond;

/** At least `threshold` × the reference (higher is better); `show` formats the ratio. */
function atLeast(name, value, reference, threshold, describe, show = ratio) {
  const r = value / reference;
  if (!Number.isFinite(r)) return { name, measured: describe, verdict: 'not measured' };
  const verdict = r >= threshold ? `met (${show(r)})` : `missed: ${show(r)}, needs ${percent(threshold / r - 1)} more`;
  return { name, measured: describe, verdict };
}

/** At most `limit` (lower is better). */
function atMost(name, value, limit, describe) {
  if (typeof value !== 'number' || Number.isNaN(value) || !Number.isFinite(limit)) return { name, measured: describe, verdict: 'not measured' };
  if (value === Infinity) return { name, measured: describe, verdict: 'missed: jobs never started' };
  const verdict = value <= limit ? 'met' : `missed by ${percent(value / limit - 1)}`;
  return { name, measured: describe, verdict };
}

export function evaluateTargets(f, run) {
  const out = [];
  const drain = (id) => f.median(`drain:${id}:10`, jobsPerSecond);
  const pgDrain = drain('jobbase-postgres');
  const gwBatched = drain('graphile-worker-batched');
  const bossBatch = drain('pg-boss-batch');
  out.push(
    atLeast('PostgreSQL drain, concurrency 10, Jobbase defaults ≥ 1.0× graphile-worker batched', pgDrain, gwBatched, 1,
      `${rate(pgDrain)} vs ${rate(gwBatched)} jobs/s`),
    atLeast('… ≥ 3× pg-boss batch mode', pgDrain, bossBatch, 3, `${rate(pgDrain)} vs ${rate(bossBatch)} jobs/s`),
  );

  const one = (id) => f.median(`enqueue:${id}:one`, jobsPerSecond);
  const pgOne = one('jobbase-postgres');
  const gwOne = one('graphile-worker');
  const pgLimit = f.median('limit:postgres', (v) => v.insertsPerSecond);
  out.push(
    atLeast('PostgreSQL enqueue one by one ≥ 2× graphile-worker', pgOne, gwOne, 2,
      `${rate(pgOne)} vs ${rate(gwOne)} jobs/s (2× graphile-worker = ${percent((2 * gwOne) / pgLimit)} of the single-row INSERT limit)`),
    atLeast('… ≥ 50% of the machine’s single-row INSERT rate', pgOne, pgLimit, 0.5,
      `${rate(pgOne)} of ${rate(pgLimit)} inserts/s`, percent),
  );
  const bulkGap = f.gap('enqueue:jobbase-postgres:bulk');
  const pgBulk = f.median('enqueue:jobbase-postgres:bulk', jobsPerSecond);
  const gwBulk = f.median('enqueue:graphile-worker:bulk', jobsPerSecond);
  out.push(
    bulkGap === 'no bulk API'
      ? { name: 'PostgreSQL bulk enqueue ≥ 1.0× graphile-worker addJobs', measured: 'Jobbase has no enqueueMany yet', verdict: 'missed: n/a' }
      : atLeast('PostgreSQL bulk enqueue ≥ 1.0× graphile-worker addJobs', pgBulk, gwBulk, 1, `${rate(pgBulk)} vs ${rate(gwBulk)} jobs/s`),
  );

  const p = (key, q) => f.median(key, (v) => v[q] ?? Infinity);
  const pgP50 = p('latency:jobbase-postgres:other', 'p50');
  const gwP50 = Math.min(p('latency:graphile-worker:other', 'p50'), p('latency:graphile-worker-batched:other', 'p50'));
  const pgP99 = p('latency:jobbase-postgres:other', 'p99');
  const liteP50 = p('latency:jobbase-sqlite:same', 'p50');
  out.push(
    atMost('Latency, PostgreSQL, other process: p50 ≤ graphile-worker’s (its better configuration)', pgP50, gwP50,
      `${ms(pgP50)} vs ${ms(gwP50)} ms`),
    atMost('… p99 ≤ 10 ms', pgP99, 10, `${ms(pgP99)} ms`),
    atMost('Latency, SQLite, same process: p50 ≤ 5 ms', liteP50, 5, `${ms(liteP50)} ms`),
  );

  const liteDrain = drain('jobbase-sqlite');
  const plain = drain('plainjob');
  const gap = f.median('drain:jobbase-sqlite:10', (v) => v.timerMaxGapMs);
  out.push(
    atLeast(`SQLite drain, concurrency 10, ≥ 1.0× plainjob (both synchronous=${run.synchronous})`, liteDrain, plain, 1,
      `${rate(liteDrain)} vs ${rate(plain)} jobs/s`),
    atMost('… while a 10 ms timer keeps firing (worst gap ≤ 50 ms)', gap, 50, `worst gap ${ms(gap)} ms (plainjob: ${ms(f.median('drain:plainjob:10', (v) => v.timerMaxGapMs))} ms)`),
  );

  const [shallow, deep] = [Math.min(...run.mode.depths), Math.max(...run.mode.depths)];
  for (const id of ['jobbase-postgres', 'jobbase-sqlite']) {
    const a = f.median(`depth:${id}:${shallow}`, (v) => v.claimP50Ms);
    const b = f.median(`depth:${id}:${deep}`, (v) => v.claimP50Ms);
    out.push(
      atMost(`Depth, ${id}: claim p50 with ${deep.toLocaleString('en-US')} waiting ≤ 2× with ${shallow.toLocaleString('en-US')}`, b / a, 2,
        `${ms(b)} vs ${ms(a)} ms (${ratio(b / a)})`),
    );
  }
  return out;
}
