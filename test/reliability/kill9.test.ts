import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { engineWithProcesses } from '../helpers/engine.js';
import { soak, report } from '../helpers/soak.js';
import { waitFor } from '../helpers/wait.js';
import { WorkProcess, doubleRunsWithinLock, type Execution } from '../helpers/work-process.js';

/** CI runs a bounded version; `npm run soak` the full figures. */
const PLAN = soak()
  ? { rounds: 8, jobsPerRound: 1_250, workers: 3, killsPerRound: 6 }
  : { rounds: 4, jobsPerRound: 1_250, workers: 3, killsPerRound: 3 };
const LOCK_DURATION = 1_500;
const WORKER_OPTIONS = { pollInterval: 100, workerPoolSize: 10, lockDuration: LOCK_DURATION, rescueInterval: 200, backoff: { base: 10, max: 50 } };

const random = (n: number) => Math.floor(Math.random() * n);

describe('the lock checker', () => {
  const run = (token: string, start: number, lockedUntil: number, extra: Partial<Execution> = {}): Execution => ({ id: 'j', token, start, lockedUntil, ...extra });

  it('flags a run that started while an earlier one held a valid lock, and any run after a completion', () => {
    // The killed run held its lock until 1,500; the rerun at 1,400 is a double run, at 1,600 it is not.
    expect(doubleRunsWithinLock([run('a', 0, 1_500), run('b', 1_400, 2_900)])).toHaveLength(1);
    expect(doubleRunsWithinLock([run('a', 0, 1_500), run('b', 1_600, 3_100, { end: 1_700, outcome: 'completed' })])).toEqual([]);
    // A run that lost its lock did not give it up: the same rule applies.
    expect(doubleRunsWithinLock([run('a', 0, 1_500, { end: 100, outcome: 'lost' }), run('b', 1_000, 2_500)])).toHaveLength(1);
    // Released or retried runs gave the lock up by their compare-and-set; completed ones end the job.
    expect(doubleRunsWithinLock([run('a', 0, 1_500, { outcome: 'released' }), run('b', 200, 1_700)])).toEqual([]);
    expect(doubleRunsWithinLock([run('a', 0, 1_500, { end: 10, outcome: 'completed' }), run('b', 2_000, 3_500)])).toHaveLength(1);
  });
});

describe.each(dialects())('kill -9 of workers on %s', (dialect) => {
  const { fx, processes } = engineWithProcesses<WorkProcess>(dialect);

  it(`${PLAN.rounds} rounds of ${PLAN.jobsPerRound} jobs, ${PLAN.killsPerRound} kills each: all complete, none ran twice within a valid lock`, { timeout: soak() ? 900_000 : 180_000 }, async () => {
    const producer = await fx.open();
    const spawn = async () => {
      const p = new WorkProcess({ database: fx.db.url, options: WORKER_OPTIONS, handlerMs: [5, 30] });
      processes.push(p);
      await p.ready();
      return p;
    };
    const live = await Promise.all(Array.from({ length: PLAN.workers }, spawn));
    const startedEverywhere = () => processes.reduce((n, p) => n + p.started(), 0);
    const ids = new Set<string>();
    const killed: WorkProcess[] = [];
    const began = Date.now();

    for (let round = 0; round < PLAN.rounds; round++) {
      const items = Array.from({ length: PLAN.jobsPerRound }, (_, i) => ({ topic: 'work', payload: { round, i }, maxRetries: 1_000 }));
      for (const job of await producer.enqueueMany(items)) ids.add(job.id);
      const spawning: Promise<WorkProcess>[] = [];
      for (let k = 0; k < PLAN.killsPerRound; k++) {
        // A random moment: after a random number of further starts, so the victims are mid-run.
        // Replacements start in the background, so the next kill does not wait for them.
        const target = startedEverywhere() + 5 + random(PLAN.jobsPerRound / (2 * PLAN.killsPerRound));
        const moment = await waitFor('a moment to kill at', async () =>
          (await producer.stats()).completed === ids.size ? 'round done' : startedEverywhere() >= target ? 'kill' : null,
        );
        if (moment === 'round done') break;
        const victim = live.splice(random(live.length), 1)[0]!;
        await victim.kill9();
        killed.push(victim);
        spawning.push(spawn());
        if (live.length === 0) live.push(await spawning.shift()!);
      }
      live.push(...(await Promise.all(spawning)));
      await waitFor(`round ${round} to complete`, async () => (await producer.stats()).completed === ids.size, { timeout: 120_000 });
    }
    const seconds = (Date.now() - began) / 1000;
    await Promise.all(live.map((p) => p.terminate()));

    const stats = await producer.stats();
    expect(stats).toMatchObject({ pending: 0, processing: 0, failed: 0, completed: ids.size });
    const executions: Execution[] = processes.flatMap((p) => p.executions());
    expect(doubleRunsWithinLock(executions)).toEqual([]);
    // Every job ran, and no job was recorded completed twice.
    expect(new Set(executions.map((e) => e.id))).toEqual(ids);
    const completions = executions.filter((e) => e.outcome === 'completed');
    expect(new Set(completions.map((e) => e.id)).size).toBe(completions.length);

    // Runs cut short by a kill: each job ran again, only after that lock expired, and completed.
    const orphaned = killed.flatMap((p) => p.executions()).filter((e) => e.outcome === undefined && e.end === undefined);
    expect(orphaned.length).toBeGreaterThan(0);
    for (const run of orphaned) {
      const later = executions.filter((e) => e.id === run.id && e.start > run.start);
      expect(later.length, `job ${run.id} ran again`).toBeGreaterThan(0);
      expect(Math.min(...later.map((e) => e.start))).toBeGreaterThanOrEqual(run.lockedUntil);
    }
    const rescued = await Promise.all([...new Set(orphaned.map((e) => e.id))].map((id) => producer.get(id)));
    for (const job of rescued) {
      expect(job.status).toBe('completed');
      expect(job.retries).toBeGreaterThanOrEqual(1);
      expect(job.lastError).toMatch(/lock expired/i);
    }

    report('kill9', dialect, {
      jobs: ids.size,
      executions: executions.length,
      kills: killed.length,
      orphanedRuns: orphaned.length,
      rerunAfterLockExpiry: orphaned.length,
      doubleRunsWithinLock: 0,
      lost: 0,
      seconds: Number(seconds.toFixed(1)),
    });
  });
});
