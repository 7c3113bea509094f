// B, other process: enqueues on the schedule and reports when each enqueue returned.
import { openQueue } from '../adapters/queue-adapter.mjs';
import { enqueueSpaced } from '../lib/spaced-enqueue.mjs';

export async function run({ system, database, jobs, gapMs }) {
  const queue = await openQueue(system, { database });
  try {
    return await enqueueSpaced(queue, jobs, gapMs);
  } finally {
    await queue.close();
  }
}
