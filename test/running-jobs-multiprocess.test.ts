import { describe, expect, it } from 'vitest';
import { rawQuery } from '@jobbase/server/testing';
import { dialects } from './helpers/databases.js';
import { engineWithProcesses } from './helpers/engine.js';
import { WorkerProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

describe.each(dialects())('running jobs across processes on %s', (dialect) => {
  const { fx, processes } = engineWithProcesses<WorkerProcess>(dialect);

  it('cancel from this process aborts the handler running in another within 1 s (no NOTIFY needed), and the job ends cancelled', async () => {
    // No LISTEN on PostgreSQL: the worker finds the cancel mark by itself.
    const listen = dialect === 'postgres' ? { listenUrl: false as const } : {};
    const worker = new WorkerProcess({ database: fx.db.url, topic: 'long', untilAborted: true, options: { pollInterval: 100, ...listen } });
    processes.push(worker);
    await worker.ready();
    const admin = await fx.open({ ...listen });
    const job = await admin.enqueue('long', {});
    await waitFor('the worker runs it', () => worker.started().some((s) => s.id === job.id));
    const marked = await admin.cancel(job.id);
    const cancelledAt = Date.now();
    expect(marked).toMatchObject({ status: 'processing', cancelRequested: true });
    const abort = await waitFor('the handler aborted', () => worker.aborted().find((a) => a.id === job.id));
    expect(abort.at - cancelledAt).toBeLessThan(1_000);
    expect(abort.reason).toBe('JobCancelledError');
    expect(await admin.waitFor(job.id, { timeout: 10_000 })).toMatchObject({ status: 'cancelled', retries: 0 });
  });

  it('kill -9 of a worker with heartbeat 1000 and lockDuration 300000: its job runs again within 5 s', async () => {
    const options = { heartbeat: 1_000, lockDuration: 300_000 };
    const victim = new WorkerProcess({ database: fx.db.url, topic: 'long', untilAborted: true, options: { pollInterval: 100, ...options } });
    processes.push(victim);
    await victim.ready();
    const survivor = await fx.open(options);
    const job = await survivor.enqueue('long', {});
    await waitFor('the victim runs it', () => victim.started().some((s) => s.id === job.id));
    // A renewal first, so the rescue is of renewals that stopped, not of the claim's own lock
    // (two heartbeats from the claim): the lock then reaches past that.
    const claimedAt = victim.started()[0]!.at;
    await waitFor('a renewal', async () => {
      const [row] = await rawQuery(survivor.store, 'select locked_until from jobs where id = ?', [job.id]);
      return new Date(row!.locked_until as string).getTime() > claimedAt + 2_200;
    });
    let rerunAt = 0;
    survivor.register('long', () => {
      rerunAt = Date.now();
    }, options);
    survivor.start();
    await victim.kill9();
    const killedAt = Date.now();
    await waitFor('the job ran again', () => rerunAt > 0, { timeout: 15_000 });
    expect(rerunAt - killedAt).toBeLessThan(5_000);
    const rerun = await survivor.waitFor(job.id, { timeout: 10_000 });
    expect(rerun).toMatchObject({ status: 'completed', retries: 1 });
    expect(rerun.lastError).toMatch(/heartbeats \(every 1000 ms\) stopped/);
  });
});
