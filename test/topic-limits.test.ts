import { rawQuery } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import type { Jobs } from '@jobbase/server';
import { dialects } from './helpers/databases.js';
import { engineWithProcesses } from './helpers/engine.js';
import { waitFor } from './helpers/wait.js';
import { WorkProcess, doubleRunsWithinLock } from './helpers/work-process.js';

const LOCK = 30_000;
/**
 * Two slots a process: the cap of 3 is only reachable with two or more processes running the
 * topic, so reaching it shows the cap shared across them. With a pool larger than the cap, the
 * process whose job just finished claims the freed slot first, and one process may legitimately
 * run every job (CI saw that on PostgreSQL).
 */
const WORKER_OPTIONS = { workerPoolSize: 2, pollInterval: 200, lockDuration: LOCK };

/** The jobs of `topic` by status, read from the table itself. */
async function statuses(engine: Jobs, topic: string): Promise<Record<string, number>> {
  const rows = await rawQuery(engine.store, 'select status, count(*) as n from jobs where topic = ? group by status', [topic]);
  return Object.fromEntries(rows.map((r) => [r.status as string, Number(r.n)]));
}

/** The most intervals [start, end) open at one instant. */
function mostAtOnce(intervals: { start: number; end: number }[]): number {
  const edges = intervals.flatMap((i) => [
    { at: i.start, d: 1 },
    { at: i.end, d: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let open = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (open += e.d));
  return most;
}

describe.each(dialects())('topic limits across 4 processes on %s', (dialect) => {
  const { fx, processes } = engineWithProcesses<WorkProcess>(dialect);

  const spawnFour = () =>
    Promise.all(
      [0, 1, 2, 3].map(async () => {
        const p = new WorkProcess({ database: fx.db.url, topics: ['limited'], options: WORKER_OPTIONS, logLevel: 'warn' });
        processes.push(p);
        await p.ready();
        return p;
      }),
    );

  it('max_running 3, pool 2 each (8 slots in all), slow handlers: sampled every 10 ms, never more than 3 processing, and 3 most of the time', { timeout: 90_000 }, async () => {
    const engine = await fx.open();
    await engine.updateTopic('limited', { maxRunning: 3 });
    const workers = await spawnFour();
    const total = 45;
    await engine.enqueueMany(Array.from({ length: total }, () => ({ topic: 'limited', payload: { ms: 150 } })));

    const samples: number[] = [];
    for (;;) {
      const counts = await statuses(engine, 'limited');
      // Only while there is work for the cap to use: 3 or more jobs not yet completed.
      if ((counts.completed ?? 0) > total - 3) break;
      samples.push(counts.processing ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitFor('every job completed', async () => (await statuses(engine, 'limited')).completed === total, { timeout: 30_000 });
    await Promise.all(workers.map((w) => w.terminate()));

    expect(Math.max(...samples)).toBeLessThanOrEqual(3);
    const atCap = samples.filter((n) => n === 3).length / samples.length;
    expect(atCap, `samples at the cap: ${atCap}`).toBeGreaterThanOrEqual(0.75);
    // The handlers themselves, across the 4 processes: never more than 3 at once.
    const executions = workers.flatMap((w) => w.executions());
    expect(executions).toHaveLength(total);
    expect(mostAtOnce(executions.map((e) => ({ start: e.start, end: e.end! })))).toBeLessThanOrEqual(3);
    expect(doubleRunsWithinLock(executions)).toEqual([]);
    // More than one process ran the topic's jobs: the cap is shared, not one process's.
    expect(workers.filter((w) => w.started() > 0).length).toBeGreaterThan(1);
  });

  it('rate_limit 4 per 400 ms: at most 4 starts in any 400 ms window across the processes; waiting jobs use no attempt', { timeout: 90_000 }, async () => {
    const engine = await fx.open();
    await engine.updateTopic('limited', { rateLimit: { max: 4, perMs: 400 } });
    const workers = await spawnFour();
    const total = 24;
    // A handler outlasts the window: a process (2 slots) starts at most 2 in any 400 ms, so the
    // 4 a window allows need two processes, and the limit is seen shared.
    await engine.enqueueMany(Array.from({ length: total }, () => ({ topic: 'limited', payload: { ms: 450 } })));
    await waitFor('every job completed', async () => (await statuses(engine, 'limited')).completed === total, { timeout: 30_000 });
    await Promise.all(workers.map((w) => w.terminate()));

    // Each job's claim time, exactly as the claim wrote it: its lock ran from then for LOCK ms.
    const claimedAt = workers
      .flatMap((w) => w.executions())
      .map((e) => e.lockedUntil - LOCK)
      .sort((a, b) => a - b);
    expect(claimedAt).toHaveLength(total);
    for (const start of claimedAt) {
      const inWindow = claimedAt.filter((t) => t >= start && t < start + 400).length;
      expect(inWindow, `starts in the 400 ms from ${start}`).toBeLessThanOrEqual(4);
    }
    // The limit is used, not just respected: 24 starts need 6 windows, so 5 × 400 ms at least.
    expect(claimedAt.at(-1)! - claimedAt[0]!).toBeGreaterThanOrEqual(5 * 400);
    expect(workers.filter((w) => w.started() > 0).length).toBeGreaterThan(1);
    const retried = await rawQuery(engine.store, `select count(*) as n from jobs where topic = 'limited' and retries > 0`);
    expect(Number(retried[0]!.n)).toBe(0);
  });
});
