// What a measurement child reports about itself: a clock shared across processes, its peak
// memory, and whether its event loop kept turning (a 10 ms timer's worst gap).
import { performance } from 'node:perf_hooks';

/** Milliseconds since the epoch with sub-ms resolution; comparable between processes. */
export function now() {
  return performance.timeOrigin + performance.now();
}

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Peak resident set size of this process so far, MB. */
export function peakRssMb() {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Starts a 10 ms interval and tracks its worst gap. A queue that runs jobs without yielding
 * starves every timer in its process (HTTP, health checks, lock renewals); this shows it.
 */
export function startTimerProbe(intervalMs = 10) {
  let last = now();
  let maxGap = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const t = now();
    maxGap = Math.max(maxGap, t - last);
    last = t;
    ticks++;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      maxGap = Math.max(maxGap, now() - last);
      return { maxGapMs: maxGap, ticks };
    },
  };
}
