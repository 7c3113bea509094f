import { rawQuery } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import type { Jobs } from '@jobbase/server';
import { EMAIL, PASSWORD, login } from '../helpers/app.js';
import { engineWithProcesses } from '../helpers/engine.js';
import { runLoad, quantile } from '../helpers/load.js';
import { report, soak } from '../helpers/soak.js';
import { waitFor } from '../helpers/wait.js';
import { WorkProcess, doubleRunsWithinLock } from '../helpers/work-process.js';

const PLAN = soak() ? { requests: 15_000, bulkKills: 10 } : { requests: 3_000, bulkKills: 4 };
const WORKER_OPTIONS = { pollInterval: 100, lockDuration: 5_000, rescueInterval: 250, backoff: { base: 10, max: 50 } };

async function integrityCheck(jobs: Jobs): Promise<string[]> {
  const rows: { integrity_check: string }[] = await rawQuery(jobs.store, 'pragma integrity_check');
  return rows.map((r) => r.integrity_check);
}

describe('SQLite: several processes on one file', () => {
  const { fx, processes } = engineWithProcesses<WorkProcess>('sqlite');

  const spawn = async (config: Partial<ConstructorParameters<typeof WorkProcess>[0]>) => {
    const p = new WorkProcess({ database: fx.db.url, options: WORKER_OPTIONS, logLevel: 'warn', ...config });
    processes.push(p);
    await p.ready();
    return p;
  };

  it(`three server+worker processes under HTTP load (${PLAN.requests} enqueues, lists and stats): no SQLITE_BUSY reaches a caller`, { timeout: soak() ? 600_000 : 120_000 }, async () => {
    const engine = await fx.open(); // migrates once, so the three start on a ready schema
    const servers = await Promise.all([0, 1, 2].map(() => spawn({ handlerMs: [0, 5], http: { email: EMAIL, password: PASSWORD } })));
    const tokens = await Promise.all(servers.map((s) => login(s.url)));
    const acknowledged = new Set<string>();
    // Three of every four requests enqueue; the fourth reads (list or stats), spread over the three processes.
    const result = await runLoad({
      concurrency: 12,
      requests: PLAN.requests,
      request: (n) => {
        const s = n % 3;
        const base = { url: servers[s]!.url, token: tokens[s]! };
        if (n % 4 !== 3) return { ...base, path: '/api/jobs/enqueue', json: { topic: 'work', payload: { n } } };
        return { ...base, path: n % 8 === 3 ? '/api/jobs/stats' : '/api/jobs?status=pending&limit=50' };
      },
      onResponse: (n, res) => {
        if (n % 4 !== 3 && res.status === 200) acknowledged.add(res.body.id);
      },
    });
    expect(result.errors, result.samples.join('\n')).toEqual({});
    await waitFor('every acknowledged job completed', async () => (await engine.stats()).completed === acknowledged.size, {
      timeout: 60_000,
    });
    await Promise.all(servers.map((s) => s.terminate()));

    const executions = servers.flatMap((s) => s.executions());
    expect(doubleRunsWithinLock(executions)).toEqual([]);
    expect(new Set(executions.map((e) => e.id))).toEqual(acknowledged);
    expect(await engine.stats()).toMatchObject({ pending: 0, processing: 0, failed: 0, completed: acknowledged.size });
    const logs = servers.flatMap((s) => s.logs).join('\n');
    expect(logs).not.toMatch(/SQLITE_BUSY|database is locked/i);
    expect(servers.map((s) => s.exitCode)).toEqual([0, 0, 0]);
    expect(await integrityCheck(engine)).toEqual(['ok']);
    report('sqlite-3-processes', 'sqlite', {
      requests: result.requests,
      enqueued: acknowledged.size,
      errors: 0,
      p50ms: Number(quantile(result.latencies, 0.5).toFixed(1)),
      p99ms: Number(quantile(result.latencies, 0.99).toFixed(1)),
      perProcessRuns: servers.map((s) => s.started()),
      seconds: Number(result.seconds.toFixed(1)),
    });
  });

  it(`kill -9 mid-transaction (${PLAN.bulkKills} times) while two workers claim: integrity_check ok, batches all or nothing`, { timeout: 120_000 }, async () => {
    const engine = await fx.open();
    const seed = Array.from({ length: 3_000 }, (_, i) => ({ topic: 'work', payload: { i } }));
    await engine.enqueueMany(seed);
    const workers = await Promise.all([0, 1].map(() => spawn({ handlerMs: [0, 3] })));
    const writers: WorkProcess[] = [];
    let insideTransaction = 0;
    for (let run = 0; run < PLAN.bulkKills; run++) {
      const writer = await spawn({ topics: ['unused'], start: false, bulk: { topic: 'bulk', size: 5_000, batches: 1_000, run } });
      writers.push(writer);
      // Let a random number of batches commit, then kill inside the next one, a little way in.
      const committedBefore = 1 + Math.floor(Math.random() * 3);
      await waitFor('batches to commit', () => writer.batchesCommitted().length >= committedBefore, { timeout: 30_000 });
      const batch = committedBefore;
      await waitFor('the next batch to begin', () => writer.batchesBegun().includes(batch));
      // The fault's moment, not a wait for something: a random point in the transaction.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 60));
      await writer.kill9();
      if (!writer.batchesCommitted().includes(batch)) insideTransaction++;
      expect(await integrityCheck(engine)).toEqual(['ok']);
    }
    // A worker dies too, mid-claim or mid-completion; the survivor and the rescuer finish its jobs.
    await workers[0]!.kill9();
    await waitFor('the seed jobs to complete', async () => (await engine.stats()).completed === seed.length, { timeout: 60_000 });
    await workers[1]!.terminate();

    expect(await integrityCheck(engine)).toEqual(['ok']);
    const rows: { run: number; batch: number; n: number }[] = await rawQuery(engine.store, 
        `select json_extract(payload, '$.run') as run, json_extract(payload, '$.batch') as batch, count(*) as n
         from jobs where topic = 'bulk' group by 1, 2 order by 1, 2`,
      );
    for (const [run, writer] of writers.entries()) {
      const stored = rows.filter((r) => r.run === run);
      // Every batch is whole; the ones it said were committed are all there; at most one more
      // (committed, then killed before it could say so).
      expect(stored.every((r) => Number(r.n) === 5_000), JSON.stringify(stored)).toBe(true);
      const printed = writer.batchesCommitted();
      expect(stored.map((r) => r.batch).slice(0, printed.length)).toEqual(printed);
      expect(stored.length - printed.length).toBeLessThanOrEqual(1);
    }
    expect(insideTransaction).toBeGreaterThan(0);
    expect(doubleRunsWithinLock(workers.flatMap((w) => w.executions()))).toEqual([]);
    const logs = processes.flatMap((p) => p.logs).join('\n');
    expect(logs).not.toMatch(/SQLITE_BUSY|database is locked/i);
    report('sqlite-kill-mid-transaction', 'sqlite', {
      kills: writers.length + 1,
      killedInsideTransaction: insideTransaction,
      batchesKept: rows.length,
      integrityCheck: 'ok',
    });
  });
});
