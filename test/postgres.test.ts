import { describe, expect, it } from 'vitest';
import { postgresAvailable } from './helpers/databases.js';
import { engineWithProcesses } from './helpers/engine.js';
import { terminateBackends } from './helpers/postgres-admin.js';
import { WorkerProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

describe.skipIf(!postgresAvailable())('PostgreSQL only', () => {
  const { fx, processes: workers } = engineWithProcesses<WorkerProcess>('postgres');

  it('pg_terminate_backend of the workers’ connections mid-run: all jobs still complete', async () => {
    const total = 2_000;
    const producer = await fx.open();
    for (let i = 0; i < total; i++) await producer.enqueue('work', { i });
    const spawned = [0, 1].map(
      () =>
        new WorkerProcess({
          database: fx.db.url,
          topic: 'work',
          handlerMs: 2,
          options: { pollInterval: 100, lockDuration: 2_000, rescueInterval: 250 },
        }),
    );
    workers.push(...spawned);
    await Promise.all(spawned.map((w) => w.ready()));
    await waitFor('work under way', () => spawned.every((w) => w.started().length > 50));
    const database = new URL(fx.db.url).pathname.slice(1);
    expect(await terminateBackends(database)).toBeGreaterThan(0);
    await waitFor('work under way again', () => spawned.every((w) => w.started().length > 300), { timeout: 30_000 });
    expect(await terminateBackends(database)).toBeGreaterThan(0);
    await waitFor('all completed', async () => (await producer.stats().catch(() => null))?.completed === total, {
      timeout: 60_000,
    });
    const ran = new Set(spawned.flatMap((w) => w.started().map((s) => s.id)));
    expect(ran.size).toBe(total);
    expect(spawned.every((w) => w.exitCode === null)).toBe(true);
  });

  it('the listener reconnects after its connection is killed and still wakes the worker', async () => {
    const producer = await fx.open();
    const worker = new WorkerProcess({ database: fx.db.url, topic: 'ping', options: { pollInterval: 60_000 } });
    workers.push(worker);
    await worker.ready();
    const database = new URL(fx.db.url).pathname.slice(1);
    await terminateBackends(database);
    // The producer's own pool lost its connections too; its next query reconnects.
    const job = await waitFor('an enqueue after the outage', () => producer.enqueue('ping').catch(() => null));
    await waitFor('the job to start without a poll', () => worker.started().some((s) => s.id === job.id), {
      timeout: 20_000,
    });
  });
});
