// G. Remote workers (issue 19): N waiting no-op jobs drained by remote workers over the HTTP API
// (`remote`: 2 worker processes, createRemoteWorker at concurrency 10 each, claims of up to 10
// jobs and batched finishes; `remote-prefetch`: the same with the opt-in `prefetch: 10`) or by
// one embedded worker at concurrency 10 (`embedded`), on a
// fresh database of the dialect. The rate counts from the moment the workers were started to
// the moment the database shows every job completed (the remote processes are ready — loaded
// and waiting on their first claim's long poll — before the jobs are inserted).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jobbaseModule, loadJobbase } from '../lib/jobbase-server.mjs';
import { delay, now } from '../lib/process-probes.mjs';

const SETTLE_POLL_MS = 25;
const WORKER = fileURLToPath(new URL('./remote-drain-worker.mjs', import.meta.url));

/** The SDK's opt-in prefetch of the `remote-prefetch` variant: as many waiting as running. */
const PREFETCH = 10;

export async function run({ database, jobs, variant, capMs }) {
  const remote = variant !== 'embedded';
  process.env.JOBBASE_LOG_LEVEL = 'silent';
  const { createApp, createJobs, WorkerTokens } = await loadJobbase();
  const workers = [];
  let engine;
  let app;
  try {
    let baseUrl;
    let token;
    if (remote) {
      // The server, as `jobbase serve` runs it: HTTP and a started engine with no handlers.
      app = await createApp({ database: database.url });
      app.jobs.start();
      const server = await app.listen({ host: '127.0.0.1', port: 0 });
      baseUrl = `http://127.0.0.1:${server.port}`;
      ({ token } = await new WorkerTokens(app.jobs.store).create({ name: 'bench', topics: ['bench'] }));
      engine = app.jobs;
    } else {
      engine = await createJobs({ database: database.url, workerPoolSize: 10 });
    }
    let started;
    /** The server's (or the embedded worker's) process: CPU from the start to the last job, polls included. */
    let cpu;
    if (remote) {
      // The topic paused while the worker processes start: the clock starts when it is resumed,
      // as the embedded worker's starts when start() is called, not when Node loaded.
      await engine.pauseTopic('bench');
      await fill(engine, jobs);
      const client = jobbaseModule('../../client/dist/index.js');
      const ready = [];
      for (let i = 0; i < 2; i++) {
        const child = fork(WORKER, [JSON.stringify({ baseUrl, token, client, concurrency: 10, prefetch: variant === 'remote-prefetch' ? PREFETCH : 0 })], { stdio: 'inherit' });
        workers.push(child);
        ready.push(new Promise((resolve) => child.once('message', resolve)));
      }
      await Promise.all(ready);
      cpu = process.cpuUsage();
      started = now();
      await engine.resumeTopic('bench');
    } else {
      await fill(engine, jobs);
      cpu = process.cpuUsage();
      started = now();
      engine.register('bench', () => undefined);
      engine.start();
    }
    const deadline = started + capMs;
    let unfinished = jobs;
    while (unfinished > 0 && now() < deadline) {
      await delay(SETTLE_POLL_MS);
      const stats = await engine.stats();
      unfinished = jobs - stats.completed;
    }
    const seconds = (now() - started) / 1000;
    const completed = jobs - unfinished;
    const used = process.cpuUsage(cpu);
    const cpuPerJobUs = completed > 0 ? (used.user + used.system) / completed : null;
    return { jobsPerSecond: completed / seconds, completed, capped: unfinished > 0, seconds, variant, cpuPerJobUs };
  } finally {
    for (const child of workers) child.kill('SIGKILL');
    await (app ? app.close() : engine?.close());
  }
}

async function fill(engine, jobs) {
  for (let i = 0; i < jobs; i += 1_000) {
    const size = Math.min(1_000, jobs - i);
    await engine.enqueueMany(Array.from({ length: size }, () => ({ topic: 'bench', payload: {} })));
  }
}
