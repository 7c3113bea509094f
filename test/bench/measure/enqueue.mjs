// A. Enqueue N no-op jobs from a process with no workers: one by one (each awaited before the
// next, as a request handler would), or in bulk calls of CHUNK through the queue's bulk API.
import { openQueue } from '../adapters/queue-adapter.mjs';
import { now, peakRssMb } from '../lib/process-probes.mjs';

const CHUNK = 1_000;
const WARM_UP = 20;

export async function run({ system, database, jobs, bulk }) {
  const queue = await openQueue(system, { database });
  try {
    if (bulk && !queue.enqueueMany) return { unsupported: true, settings: queue.settings };
    // Connections, prepared statements and JIT are warmed outside the timed loop.
    for (let i = 0; i < WARM_UP; i++) await queue.enqueue({ n: -i });
    if (bulk) await queue.enqueueMany(payloads(0, WARM_UP));

    const started = now();
    if (bulk) {
      for (let i = 0; i < jobs; i += CHUNK) await queue.enqueueMany(payloads(i, Math.min(CHUNK, jobs - i)));
    } else {
      for (let i = 0; i < jobs; i++) await queue.enqueue({ n: i });
    }
    const seconds = (now() - started) / 1000;
    return {
      jobsPerSecond: jobs / seconds,
      seconds,
      chunk: bulk ? CHUNK : 1,
      peakRssMb: peakRssMb(),
      settings: queue.settings,
    };
  } finally {
    await queue.close();
  }
}

function payloads(from, count) {
  return Array.from({ length: count }, (_, i) => ({ n: from + i }));
}
