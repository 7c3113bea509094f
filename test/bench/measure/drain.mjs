// A. Drain: N waiting no-op jobs (one bulk SQL insert), then workers at concurrency C. The rate
// counts from the first handler start to the moment the database shows every job completed, so
// process start-up is not in it but writing the completions is.
import { openQueue } from '../adapters/queue-adapter.mjs';
import { delay, now, peakRssMb, startTimerProbe } from '../lib/process-probes.mjs';

const SETTLE_POLL_MS = 5;

export async function run({ system, database, jobs, concurrency, capMs, synchronous }) {
  const queue = await openQueue(system, { database, concurrency, synchronous });
  try {
    await queue.fillBacklog(jobs);
    const probe = startTimerProbe();
    let started = 0;
    let firstStart = 0;
    let allStarted;
    const everyHandlerStarted = new Promise((resolve) => (allStarted = resolve));
    const deadline = now() + capMs;

    await queue.startWorkers(() => {
      if (started === 0) firstStart = now();
      started++;
      if (started === jobs) allStarted();
    });
    const finishedInTime = await Promise.race([
      everyHandlerStarted.then(() => true),
      delay(capMs).then(() => false),
    ]);

    let unfinished = await queue.countUnfinished();
    while (finishedInTime && unfinished > 0 && now() < deadline) {
      await delay(SETTLE_POLL_MS);
      unfinished = await queue.countUnfinished();
    }
    const ended = now();
    const timer = probe.stop();
    const completed = jobs - unfinished;
    const seconds = (ended - (firstStart || ended)) / 1000;
    return {
      jobsPerSecond: seconds > 0 ? completed / seconds : NaN,
      completed,
      capped: unfinished > 0,
      seconds,
      timerMaxGapMs: timer.maxGapMs,
      peakRssMb: peakRssMb(),
      settings: queue.settings,
    };
  } finally {
    await queue.close();
  }
}
