import { describe, expect, it } from 'vitest';
import { dialects } from './helpers/databases.js';
import { engineWithProcesses } from './helpers/engine.js';
import { WorkerProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

describe.each(dialects())('bulk cancel across processes on %s', (dialect) => {
  const { fx, processes } = engineWithProcesses<WorkerProcess>(dialect);

  it('cancelMatching from this process aborts the handlers running in another within 1 s (no NOTIFY needed); its pending jobs are cancelled', async () => {
    // No LISTEN on PostgreSQL: the worker finds the cancel marks by itself.
    const listen = dialect === 'postgres' ? { listenUrl: false as const } : {};
    const worker = new WorkerProcess({ database: fx.db.url, topic: 'long', untilAborted: true, options: { pollInterval: 100, ...listen } });
    processes.push(worker);
    await worker.ready();
    const admin = await fx.open({ ...listen });
    const running = [await admin.enqueue('long', {}), await admin.enqueue('long', {})];
    await waitFor('the worker runs both', () => running.every((job) => worker.started().some((s) => s.id === job.id)));
    const waiting = await admin.enqueueAt('long', {}, new Date(Date.now() + 60_000));

    expect(await admin.cancelMatching({ topic: 'long' }, { dryRun: true })).toEqual({ dryRun: true, matched: 3, changed: 0 });
    const result = await admin.cancelMatching({ topic: 'long' });
    const cancelledAt = Date.now();
    expect(result).toEqual({ dryRun: false, changed: 3 });
    expect((await admin.get(waiting.id)).status).toBe('cancelled');
    for (const job of running) {
      const abort = await waitFor(`the handler of ${job.id} aborted`, () => worker.aborted().find((a) => a.id === job.id));
      expect(abort.at - cancelledAt).toBeLessThan(1_000);
      expect(abort.reason).toBe('JobCancelledError');
      expect(await admin.waitFor(job.id, { timeout: 10_000 })).toMatchObject({ status: 'cancelled', retries: 0 });
    }
  });
});
