// A. Drain: N waiting no-op jobs (one bulk SQL insert), then workers at concurrency C. The rate
// counts from the moment the workers are running (the queue's start call has returned, or its
// first handler started, whichever came first) to the moment the database shows every job
// completed: process start-up is not in it, but the first claim and writing the completions are.
// (Counting from the first handler start would leave out one claim round trip, which is most of
// the time for a queue that claims the whole backlog in one or two large fetches.)
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
    const workersRunning = now();
    const clockStart = started > 0 ? Math.min(firstStart, workersRunning) : workersRunning;
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
    const seconds = (ended - clockStart) / 1000;
    return {
      jobsPerSecond: seconds > 0 ? completed / seconds : NaN,
      started,
      // No handler ran: there is no rate to report (the report prints n/a and counts the repeat).
      startedNone: started === 0,
      completed,
      capped: unfinished > 0,
      /** From the workers running to the first handler start: the first claim's round trip. */
      firstStartMs: started > 0 ? firstStart - clockStart : null,
      seconds,
      timerMaxGapMs: timer.maxGapMs,
      peakRssMb: peakRssMb(),
      settings: queue.settings,
    };
  } finally {
    await queue.close();
  }
}
