import { describe, expect, it } from 'vitest';
import { dialects, type Dialect } from './helpers/databases.js';
import { engineWithProcesses } from './helpers/engine.js';
import { WorkerProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

/** How many processes and jobs each dialect is asked to share (the issues' figures). */
const SCALE: Record<Dialect, { processes: number; jobs: number }> = {
  sqlite: { processes: 2, jobs: 1_000 },
  postgres: { processes: 4, jobs: 5_000 },
};

function countBy<T>(items: T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

describe.each(dialects())('many processes on %s', (dialect) => {
  const { fx, processes: workers } = engineWithProcesses<WorkerProcess>(dialect);

  const spawnWorkers = async (n: number, extra: Partial<ConstructorParameters<typeof WorkerProcess>[0]> = {}) => {
    const spawned = Array.from(
      { length: n },
      () => new WorkerProcess({ database: fx.db.url, topic: 'work', options: { pollInterval: 100, workerPoolSize: 10 }, ...extra }),
    );
    workers.push(...spawned);
    await Promise.all(spawned.map((w) => w.ready()));
    return spawned;
  };

  it(`${SCALE[dialect].processes} processes run each of ${SCALE[dialect].jobs} jobs exactly once`, async () => {
    const { processes, jobs: total } = SCALE[dialect];
    const producer = await fx.open();
    const ids = new Set<string>();
    for (let i = 0; i < total; i++) ids.add((await producer.enqueue('work', { i })).id);
    const started = Date.now();
    const spawned = await spawnWorkers(processes);
    await waitFor('all completed', async () => (await producer.stats()).completed === total, { timeout: 120_000 });
    const seconds = (Date.now() - started) / 1000;
    await Promise.all(spawned.map((w) => w.stop()));

    const runs = spawned.flatMap((w) => w.started().map((s) => s.id));
    const counts = countBy(runs);
    expect(runs).toHaveLength(total);
    expect(counts.size).toBe(total);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(new Set(runs)).toEqual(ids);
    expect(spawned.map((w) => w.exitCode)).toEqual(spawned.map(() => 0));
    console.log(
      `${dialect}: ${processes} processes finished ${total} jobs in ${seconds.toFixed(2)} s ` +
        `(${Math.round(total / seconds)} jobs/s; per process ${spawned.map((w) => w.started().length).join('/')})`,
    );
  });

  it('a job enqueued in one process starts in another within 100 ms while both idle', async () => {
    const producer = await fx.open();
    // A 60 s poll interval: only the wake-up (NOTIFY, or SQLite's data_version watch) explains a quick start.
    const [worker] = await spawnWorkers(1, { topic: 'ping', options: { pollInterval: 60_000 } });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const job = await producer.enqueue('ping', { i });
      const enqueued = Date.now();
      const start = await waitFor('start', () => worker!.started().find((s) => s.id === job.id));
      delays.push(start.at - enqueued);
    }
    expect(Math.max(...delays)).toBeLessThan(100);
  });

  it('kill -9 of a worker mid-run: its jobs run again after the lock expires and all complete', async () => {
    const total = 300;
    const producer = await fx.open();
    for (let i = 0; i < total; i++) await producer.enqueue('work', { i });
    const [victim, survivor] = await spawnWorkers(2, {
      // Handlers long enough that a kill lands while some are running: with short ones the victim
      // could sit between claims, every started job ended, and the test would prove nothing.
      handlerMs: 300,
      options: { pollInterval: 100, workerPoolSize: 10, lockDuration: 1_500, rescueInterval: 250 },
    });
    await waitFor(
      'the victim to be mid-run',
      () => victim!.started().length >= 20 && victim!.started().length > victim!.ended().length,
    );
    await victim!.kill9();
    const orphaned = victim!.started().map((s) => s.id).filter((id) => !victim!.ended().includes(id));
    expect(orphaned.length).toBeGreaterThan(0);

    await waitFor('all completed', async () => (await producer.stats()).completed === total, { timeout: 60_000 });
    const survivorRuns = new Set(survivor!.started().map((s) => s.id));
    for (const id of orphaned) expect(survivorRuns.has(id)).toBe(true);
    const rerun = await Promise.all(orphaned.map((id) => producer.get(id)));
    // A run cut short by the kill counts as a failed attempt, with the rescuer's message.
    expect(rerun.filter((j) => j.retries !== 1 && j.status === 'completed')).toEqual([]);
    expect(rerun.every((j) => /lock expired/i.test(j.lastError ?? ''))).toBe(true);
  });
});
