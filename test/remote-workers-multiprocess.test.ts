import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkerTokens } from '@jobbase/server';
import { AppFixture, api } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { RemoteWorkerProcess } from './helpers/remote-worker-process.js';
import { waitFor } from './helpers/wait.js';

describe.each(dialects())('remote worker processes on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  const processes: RemoteWorkerProcess[] = [];
  beforeEach(() => fx.setup());
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.kill9()));
    await fx.teardown();
  });

  it('3 remote worker processes and 1 embedded worker drain 5,000 jobs, each run exactly once', { timeout: 180_000 }, async () => {
    const { url, token, app } = await fx.startSignedIn({ pollInterval: 200 });
    const { token: worker } = await new WorkerTokens(app.jobs.store).create({ name: 'drain', topics: ['drain'] });
    const embedded: string[] = [];
    app.jobs.register('drain', (job) => {
      embedded.push(job.id);
      return { by: 'embedded' };
    });
    const remotes = [1, 2, 3].map(() => new RemoteWorkerProcess({ baseUrl: url, token: worker, topics: ['drain'], concurrency: 10, wait: 2_000 }));
    processes.push(...remotes);
    await Promise.all(remotes.map((r) => r.ready()));
    app.jobs.start();
    const ids: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const made = await api(url, '/api/jobs/enqueue/batch', {
        token,
        json: { jobs: Array.from({ length: 1000 }, (_, i) => ({ topic: 'drain', payload: { batch, i }, max_retries: 0 })) },
      });
      expect(made.status, made.text).toBe(200);
      ids.push(...made.body.items.map((j: { id: string }) => j.id));
    }
    await waitFor('all 5,000 completed', async () => (await app.jobs.stats()).completed === 5_000, { timeout: 150_000, interval: 200 });
    const stats = await app.jobs.stats();
    expect(stats).toMatchObject({ completed: 5_000, failed: 0, pending: 0, processing: 0 });
    // Every line printed is read once the processes have exited.
    await Promise.all(remotes.map((r) => r.stop()));
    const runs = [...embedded, ...remotes.flatMap((r) => r.runs())];
    expect(runs).toHaveLength(5_000);
    expect(new Set(runs)).toEqual(new Set(ids));
    for (const remote of remotes) expect(remote.runs().length).toBeGreaterThan(0);
    // The result each handler returned is the job's.
    const sample = await app.jobs.get(remotes[0]!.runs()[0]!);
    expect(sample.result).toEqual({ by: expect.any(Number) });
  });

  it('kill -9 of a remote worker: its job is rescued when its heartbeats stop, and another worker runs it', { timeout: 60_000 }, async () => {
    const { url, token, app } = await fx.startSignedIn({ heartbeat: 500, lockDuration: 300_000 });
    app.jobs.start(); // the rescuer
    const victim = new RemoteWorkerProcess({ baseUrl: url, token, topics: ['long'], untilAborted: true, wait: 1_000 });
    processes.push(victim);
    await victim.ready();
    const job = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'long', max_retries: 3 } });
    await waitFor('the victim runs it', () => victim.runs().includes(job.body.id));
    // Heartbeats keep it: past the claim's own lock (two heartbeats, 1 s) it is still the victim's.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await app.jobs.get(job.body.id)).status).toBe('processing');
    await victim.kill9();
    const rescued = await waitFor('the job rescued', async () => {
      const j = await app.jobs.get(job.body.id);
      return j.retries === 1 ? j : null;
    });
    expect(rescued.lastError).toMatch(/heartbeat|lock/i);
    const survivor = new RemoteWorkerProcess({ baseUrl: url, token, topics: ['long'], wait: 1_000 });
    processes.push(survivor);
    expect((await app.jobs.waitFor(job.body.id, { timeout: 20_000 })).status).toBe('completed');
    await waitFor('the survivor says it ran it', () => survivor.runs().includes(job.body.id));
  });

  it('a cancel reaches a remote worker through its heartbeat; a revoked token stops the worker at its next request', { timeout: 60_000 }, async () => {
    const { url, token, app } = await fx.startSignedIn({ heartbeat: 300 });
    const tokens = new WorkerTokens(app.jobs.store);
    const { token: worker } = await tokens.create({ name: 'w', topics: ['long'] });
    const remote = new RemoteWorkerProcess({ baseUrl: url, token: worker, topics: ['long'], untilAborted: true, wait: 500 });
    processes.push(remote);
    await remote.ready();
    const job = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'long' } });
    await waitFor('it runs', () => remote.runs().includes(job.body.id));
    await api(url, `/api/jobs/${job.body.id}/cancel`, { token, method: 'POST' });
    await waitFor('its signal aborted', () => remote.aborted().find((a) => a.id === job.body.id));
    expect(remote.aborted()[0]!.reason).toBe('JobCancelledError');
    expect((await app.jobs.waitFor(job.body.id, { timeout: 10_000 })).status).toBe('cancelled');
    await tokens.revoke('w');
    await waitFor('the worker stopped', () => remote.lines.includes('stopped'));
  });
});
