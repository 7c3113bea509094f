import { describe, expect, it } from 'vitest';
import { rawQuery, toDate } from '@jobbase/server/testing';
import { dialects } from './helpers/databases.js';
import { engineWithProcesses } from './helpers/engine.js';
import { WorkProcess } from './helpers/work-process.js';
import { waitFor } from './helpers/wait.js';

/** The figures: three processes, a per-second schedule, thirty seconds. */
const PROCESSES = 3;
const SECONDS = 30;

describe.each(dialects())('a schedule fired by many processes on %s', (dialect) => {
  const { fx, processes } = engineWithProcesses<WorkProcess>(dialect);

  it(
    `${PROCESSES} processes running the engine with a per-second schedule for ${SECONDS} s make exactly one job per tick, no gaps`,
    async () => {
      const schedule = { name: 'every-second', cron: '* * * * * *', topic: 'work' };
      // Each process defines the schedule in code at start, as an application would; they start together.
      const spawned = Array.from(
        { length: PROCESSES },
        () =>
          new WorkProcess({
            database: fx.db.url,
            topics: ['work'],
            options: { schedules: [schedule], scheduleInterval: 250, pollInterval: 100 },
          }),
      );
      processes.push(...spawned);
      await Promise.all(spawned.map((p) => p.ready()));
      const engine = await fx.open();
      const first = await waitFor('the first tick', async () => (await engine.schedules.get('every-second')).lastRunAt);
      await waitFor(
        `${SECONDS} s of ticks`,
        async () => {
          const last = (await engine.schedules.get('every-second')).lastRunAt;
          return last && last.getTime() - first.getTime() >= SECONDS * 1000;
        },
        { timeout: (SECONDS + 30) * 1000, interval: 200 },
      );
      await Promise.all(spawned.map((p) => p.terminate()));
      expect(spawned.map((p) => p.exitCode)).toEqual(spawned.map(() => 0));

      const rows = await rawQuery(engine.store, 'select id, schedule_tick from jobs where schedule_name = ?', ['every-second']);
      const ticks = rows.map((r) => toDate(r.schedule_tick).getTime()).sort((a, b) => a - b);
      expect(ticks.length).toBeGreaterThan(SECONDS);
      // No duplicates: one job per tick.
      expect(new Set(ticks).size).toBe(ticks.length);
      // No gaps: every second from the first tick to the last has its job.
      const gaps = ticks.slice(1).filter((t, i) => t - ticks[i]! !== 1000);
      expect(gaps).toEqual([]);
      expect(ticks[0]).toBeLessThanOrEqual(first.getTime());
      // The processes ran them (each job once: the queue's own guarantee).
      const ran = spawned.flatMap((p) => p.executions().map((e) => e.id));
      const made = new Set(rows.map((r) => String(r.id)));
      expect(ran.filter((id) => made.has(id)).length).toBe(new Set(ran.filter((id) => made.has(id))).size);
    },
    (SECONDS + 90) * 1000,
  );
});
