import { rawQuery } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { EMAIL, PASSWORD, login } from '../helpers/app.js';
import { dialects } from '../helpers/databases.js';
import { engineWithProcesses } from '../helpers/engine.js';
import { runLoad } from '../helpers/load.js';
import { report } from '../helpers/soak.js';
import { waitFor } from '../helpers/wait.js';
import { WorkProcess, doubleRunsWithinLock } from '../helpers/work-process.js';

const SHUTDOWN_TIMEOUT = 1_000;
/** What close() may take beyond shutdownTimeout: releasing the aborted jobs and closing the pool. */
const CLOSE_SLACK = 2_000;
const OPTIONS = { pollInterval: 100, workerPoolSize: 10, lockDuration: 60_000, shutdownTimeout: SHUTDOWN_TIMEOUT, backoff: { base: 10, max: 50 } };

describe.each(dialects())('graceful shutdown (SIGTERM) under load on %s', (dialect) => {
  const { fx, processes } = engineWithProcesses<WorkProcess>(dialect);

  const spawn = async (config: Partial<ConstructorParameters<typeof WorkProcess>[0]> = {}) => {
    const p = new WorkProcess({ database: fx.db.url, options: OPTIONS, ...config });
    processes.push(p);
    await p.ready();
    return p;
  };

  it('short handlers finish, long ones are aborted and released (no attempt counted), nothing stays processing', async () => {
    const producer = await fx.open();
    // Long jobs first (oldest run_at first), so they take slots at once; short ones stream through the rest.
    const long = await producer.enqueueMany([
      ...Array.from({ length: 4 }, () => ({ topic: 'work', payload: { ms: 30_000 } })),
      ...Array.from({ length: 3 }, () => ({ topic: 'work', payload: { ms: 30_000, ignoreSignal: true } })),
    ]);
    const short = await producer.enqueueMany(Array.from({ length: 600 }, (_, i) => ({ topic: 'work', payload: { i, ms: 20 + (i % 30) } })));
    const worker = await spawn();
    const longIds = new Set(long.map((j) => j.id));
    await waitFor('the long jobs and a stream of short ones to run', () => {
      const runs = worker.executions();
      return runs.filter((e) => longIds.has(e.id)).length === long.length && runs.length > 60;
    });

    const signalled = Date.now();
    const exitCode = await worker.terminate();
    const closedAfter = Date.now() - signalled;
    expect(exitCode).toBe(0);
    expect(closedAfter).toBeLessThan(SHUTDOWN_TIMEOUT + CLOSE_SLACK);

    const runs = worker.executions();
    const inFlightShort = runs.filter((e) => !longIds.has(e.id) && e.outcome !== 'completed');
    // Every short handler running at the signal finished within the bound and was recorded.
    expect(inFlightShort, JSON.stringify(inFlightShort)).toEqual([]);
    const longRuns = runs.filter((e) => longIds.has(e.id));
    expect(longRuns.map((e) => e.outcome)).toEqual(long.map(() => 'released'));
    // The ones that honour job.signal gave up as soon as shutdown stopped waiting.
    expect(longRuns.filter((e) => e.end !== undefined)).toHaveLength(4);

    const stats = await producer.stats();
    expect(stats.processing).toBe(0);
    for (const job of long) expect(await producer.get(job.id)).toMatchObject({ status: 'pending', retries: 0, lastError: null });

    // Another worker picks everything up; the released jobs start again (and are released again on its stop).
    const next = await spawn({ options: { ...OPTIONS, workerPoolSize: 30 } });
    await waitFor('the short jobs to complete', async () => (await producer.stats()).completed === short.length, { timeout: 60_000 });
    await waitFor('the long jobs to start again', () => next.executions().filter((e) => longIds.has(e.id)).length === long.length);
    expect(await next.terminate()).toBe(0);
    expect((await producer.stats()).processing).toBe(0);
    expect(doubleRunsWithinLock([...runs, ...next.executions()])).toEqual([]);
    report('sigterm-worker', dialect, {
      shutdownTimeoutMs: SHUTDOWN_TIMEOUT,
      closedAfterMs: closedAfter,
      releasedOnShutdown: long.length,
      completedBeforeExit: runs.filter((e) => e.outcome === 'completed').length,
    });
  });

  it('a server+worker process under HTTP load: every acknowledged enqueue is stored, no 5xx, exits within the bound', async () => {
    const producer = await fx.open();
    const server = await spawn({ handlerMs: [0, 50], http: { email: EMAIL, password: PASSWORD } });
    const token = await login(server.url);
    const acknowledged = new Set<string>();
    const statuses = new Map<string, number>();
    let signalled = 0;
    const load = runLoad({
      concurrency: 8,
      durationMs: 20_000,
      requests: 100_000,
      request: (n) => ({ url: server.url, path: '/api/jobs/enqueue', token, json: { topic: 'work', payload: { n } } }),
      // Once the server is gone there is nothing more to learn.
      stopWhen: () => signalled > 0 && !server.running,
      onResponse: (_n, res) => {
        statuses.set(String(res.status), (statuses.get(String(res.status)) ?? 0) + 1);
        if (res.status === 200) acknowledged.add(res.body.id);
      },
    });
    await waitFor('load under way', () => acknowledged.size >= 300 && server.started() >= 100);
    signalled = Date.now();
    expect(await server.terminate()).toBe(0);
    const closedAfter = Date.now() - signalled;
    const result = await load;

    // Whatever was not answered 200 failed at the connection (the server had closed), never a 5xx.
    expect([...statuses.keys()].filter((s) => s !== '200')).toEqual([]);
    expect(Object.keys(result.errors).filter((s) => s !== 'network')).toEqual([]);
    expect(closedAfter).toBeLessThan(SHUTDOWN_TIMEOUT + CLOSE_SLACK);
    const rows: { id: string }[] = await rawQuery(producer.store, 'select id from jobs');
    const stored = new Set(rows.map((r) => r.id));
    expect([...acknowledged].filter((id) => !stored.has(id))).toEqual([]);
    expect((await producer.stats()).processing).toBe(0);
    report('sigterm-server', dialect, { acknowledged: acknowledged.size, closedAfterMs: closedAfter, non200Answers: 0 });
  });
});
