import { describe, expect, it } from 'vitest';
import { EMAIL, PASSWORD, login } from '../helpers/app.js';
import { dialects } from '../helpers/databases.js';
import { engineWithProcesses } from '../helpers/engine.js';
import { quantile, runLoad } from '../helpers/load.js';
import { envInt, report, soak } from '../helpers/soak.js';
import { waitFor } from '../helpers/wait.js';
import { WorkProcess } from '../helpers/work-process.js';

/**
 * Latency and memory figures mean something only when nothing else competes for the two cores,
 * so this file runs in the serial group (vitest.config.ts), after the others.
 */
const SECONDS = envInt('LOAD_SECONDS', soak() ? 60 : 15);
const CONCURRENCY = 16;
const MB = 1024 * 1024;

const median = (values: number[]) => quantile(values, 0.5);

describe.each(dialects())('sustained HTTP enqueue on %s', (dialect) => {
  const { fx, processes } = engineWithProcesses<WorkProcess>(dialect);

  it(`${SECONDS} s of enqueues from ${CONCURRENCY} clients while 2 workers drain: 0 errors, memory flat`, { timeout: (SECONDS + 180) * 1_000 }, async () => {
    const engine = await fx.open();
    const options = { pollInterval: 100, workerPoolSize: 20, batchSize: 20, lockDuration: 30_000 };
    const server = new WorkProcess({
      database: fx.db.url,
      options,
      start: false,
      http: { email: EMAIL, password: PASSWORD },
      memoryEvery: 1_000,
      logLevel: 'warn',
    });
    const workers = [0, 1].map(() => new WorkProcess({ database: fx.db.url, options, logLevel: 'warn' }));
    processes.push(server, ...workers);
    await Promise.all(processes.map((p) => p.ready()));
    const token = await login(server.url);

    let acknowledged = 0;
    const result = await runLoad({
      concurrency: CONCURRENCY,
      durationMs: SECONDS * 1_000,
      request: (n) => ({ url: server.url, path: '/api/jobs/enqueue', token, json: { topic: 'work', payload: { n, to: 'someone@example.com' } } }),
      onResponse: (_n, res) => {
        if (res.status === 200) acknowledged++;
      },
    });
    const backlogAtEnd = (await engine.stats()).pending;
    const drainStarted = Date.now();
    await waitFor('the workers to drain every job', async () => (await engine.stats()).completed === acknowledged, { timeout: 120_000 });
    const drainSeconds = (Date.now() - drainStarted) / 1000;

    expect(result.errors, result.samples.join('\n')).toEqual({});
    expect(acknowledged).toBe(result.requests);
    const stats = await engine.stats();
    expect(stats).toMatchObject({ pending: 0, processing: 0, failed: 0, completed: acknowledged });

    // Memory after a full GC, sampled every second: the last third of the run against the
    // second (the first is warm-up: JIT, pools, caches filling).
    const samples = server.memory().filter((m) => m.at <= Date.now());
    expect(samples.length).toBeGreaterThanOrEqual(SECONDS - 2);
    const third = Math.floor(samples.length / 3);
    const middle = samples.slice(third, 2 * third);
    const last = samples.slice(2 * third);
    const heapGrowth = median(last.map((m) => m.heapUsed)) - median(middle.map((m) => m.heapUsed));
    const rssGrowth = median(last.map((m) => m.rss)) - median(middle.map((m) => m.rss));
    expect(heapGrowth / MB, 'heap growth (MB) from the middle to the last third').toBeLessThan(8);
    const logs = processes.flatMap((p) => p.logs).filter((l) => /"level":(50|60)/.test(l));
    expect(logs).toEqual([]);

    report('http-load', dialect, {
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      requests: result.requests,
      errors: 0,
      requestsPerSecond: Math.round(result.requests / result.seconds),
      p50ms: Number(quantile(result.latencies, 0.5).toFixed(1)),
      p99ms: Number(quantile(result.latencies, 0.99).toFixed(1)),
      maxMs: Number(Math.max(...result.latencies).toFixed(1)),
      backlogAtEnd,
      drainSeconds: Number(drainSeconds.toFixed(1)),
      heapMB: Number((median(last.map((m) => m.heapUsed)) / MB).toFixed(1)),
      heapGrowthMB: Number((heapGrowth / MB).toFixed(2)),
      rssMB: Number((median(last.map((m) => m.rss)) / MB).toFixed(1)),
      rssGrowthMB: Number((rssGrowth / MB).toFixed(2)),
      ranPerWorker: workers.map((w) => w.started()),
    });
  });
});
