// C. Depth: with `depth` jobs waiting, how long one claim takes (through the queue's own claim
// call, where it has a public one) and how fast workers at concurrency 10 start the first
// `drainJobs` of them. A queue whose claim walks the backlog gets slower as it grows.
// The probes' own claims come from a reserve added on top, so the drain still starts at `depth`.
// `mixedPriorities` (Jobbase only): the backlog spread over priorities, plus jobs not yet due at
// the most urgent priority on top (a tenth of `depth`), which a claim must not have to read.
import { openQueue } from '../adapters/queue-adapter.mjs';
import { delay, now, peakRssMb } from '../lib/process-probes.mjs';
import { withPostgres } from '../lib/raw-sql.mjs';
import { latencySummary } from '../lib/stats.mjs';

const CONCURRENCY = 10;
const WARM_UP_CLAIMS = 5;
/** No probe claims more than this many jobs (Jobbase and pg-boss claim 10, plainjob 1). */
const MAX_CLAIM = 10;
/** Probing stops after this long even if fewer than `claimProbes` ran: a slow claim at depth
 * (pg-boss's takes seconds with 1,000,000 waiting) must not stretch the run by minutes. */
const CLAIM_BUDGET_MS = 20_000;

export async function run({ system, database, depth, drainJobs, claimProbes, capMs, mixedPriorities = false }) {
  const queue = await openQueue(system, { database, concurrency: CONCURRENCY });
  try {
    const filling = now();
    const reserve = queue.claimOnce ? (WARM_UP_CLAIMS + claimProbes) * MAX_CLAIM : 0;
    await queue.fillBacklog(depth + reserve, { mixedPriorities });
    // What autovacuum would do shortly after a big insert; done here so every run sees the same
    // statistics. SQLite has no such daemon, so it gets none.
    if (database.dialect === 'postgres') await withPostgres(database.url, (c) => c.query('vacuum analyze'));
    const fillSeconds = (now() - filling) / 1000;

    let claim = null;
    if (queue.claimOnce) {
      for (let i = 0; i < WARM_UP_CLAIMS; i++) await queue.claimOnce();
      const times = [];
      const budgetEnds = now() + CLAIM_BUDGET_MS;
      for (let i = 0; i < claimProbes && now() < budgetEnds; i++) {
        const t = now();
        await queue.claimOnce();
        times.push(now() - t);
      }
      claim = latencySummary(times);
    }

    const target = Math.min(drainJobs, depth);
    let started = 0;
    let firstStart = 0;
    let lastStart = 0;
    let reached;
    const reachedTarget = new Promise((resolve) => (reached = resolve));
    await queue.startWorkers(() => {
      const t = now();
      if (started === 0) firstStart = t;
      lastStart = t;
      if (++started === target) reached();
    });
    // As in the drain scenario, the clock includes the first claim (see measure/drain.mjs).
    const workersRunning = now();
    await Promise.race([reachedTarget, delay(capMs)]);
    const clockStart = started > 0 ? Math.min(firstStart, workersRunning) : workersRunning;
    const seconds = (lastStart - clockStart) / 1000;
    return {
      claimP50Ms: claim?.p50 ?? null,
      claimP95Ms: claim?.p95 ?? null,
      claims: claim?.count ?? 0,
      drainJobsPerSecond: started > 0 && seconds > 0 ? Math.min(started, target) / seconds : NaN,
      drained: Math.min(started, target),
      startedNone: started === 0,
      fillSeconds,
      peakRssMb: peakRssMb(),
      settings: queue.settings,
    };
  } finally {
    await queue.close();
  }
}
