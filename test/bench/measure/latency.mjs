// B. Latency to idle workers: jobs enqueued `gapMs` apart, each measured from the moment its
// enqueue call returned to the moment its handler started, in this process or from another.
import { openQueue } from '../adapters/queue-adapter.mjs';
import { runChild } from '../lib/child.mjs';
import { delay, now, peakRssMb } from '../lib/process-probes.mjs';
import { enqueueSpaced } from '../lib/spaced-enqueue.mjs';
import { latencySummary } from '../lib/stats.mjs';

/** Workers get this long to connect and settle into idle before the first job. */
const IDLE_BEFORE_MS = 1_500;
/** After the last enqueue, stragglers get this long (pg-boss polls every 2 s by default). */
const GRACE_MS = 5_000;

export async function run({ system, database, jobs, gapMs, concurrency, crossProcess, childTimeoutMs }) {
  const queue = await openQueue(system, { database, concurrency });
  try {
    const startedAt = new Array(jobs);
    let started = 0;
    let allStarted;
    const everyHandlerStarted = new Promise((resolve) => (allStarted = resolve));
    await queue.startWorkers((payload) => {
      const seq = payload?.seq;
      if (!Number.isInteger(seq) || seq < 0 || seq >= jobs || startedAt[seq] !== undefined) return;
      startedAt[seq] = now();
      if (++started === jobs) allStarted();
    });
    await delay(IDLE_BEFORE_MS);

    const returnedAt = crossProcess
      ? await runChild('latency-enqueuer', { system, database, jobs, gapMs }, { timeoutMs: childTimeoutMs })
      : await enqueueSpaced(queue, jobs, gapMs);
    await Promise.race([everyHandlerStarted, delay(GRACE_MS)]);

    // A job whose handler never started within the grace time counts as infinitely late, so a
    // queue that falls behind shows it in its percentiles instead of dropping out of them.
    const latencies = returnedAt.map((t, seq) => (startedAt[seq] === undefined ? Infinity : startedAt[seq] - t));
    const missing = latencies.filter((l) => l === Infinity).length;
    // JSON (the IPC channel) has no Infinity: a "never" percentile travels as null.
    const summary = Object.fromEntries(Object.entries(latencySummary(latencies)).map(([k, v]) => [k, v === Infinity ? null : v]));
    return { ...summary, missing, startedNone: missing === jobs, graceMs: GRACE_MS, peakRssMb: peakRssMb(), settings: queue.settings };
  } finally {
    await queue.close();
  }
}
