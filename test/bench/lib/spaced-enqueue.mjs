import { delay, now } from './process-probes.mjs';

/**
 * Enqueues `jobs` jobs `{ seq }` on a fixed schedule, one every `gapMs` (a slow enqueue delays
 * only itself: the next one starts on schedule or at once). Returns, per seq, the time its
 * enqueue call returned.
 */
export async function enqueueSpaced(queue, jobs, gapMs) {
  const returnedAt = new Array(jobs);
  const start = now();
  for (let seq = 0; seq < jobs; seq++) {
    const wait = start + seq * gapMs - now();
    if (wait > 0) await delay(wait);
    await queue.enqueue({ seq });
    returnedAt[seq] = now();
  }
  return returnedAt;
}
