import { createMetrics, JobsError, PermanentError, type Jobs } from '@jobbase/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { waitFor } from './helpers/wait.js';

/** Issue 18 in the library: bulk actions by filter and an embedded worker's metrics. */
describe.each(dialects())('engine operations on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  /** `n` jobs of `topic` failed for good, run by a worker on this engine (then stopped). */
  async function failed(jobs: Jobs, topic: string, n: number) {
    jobs.register(topic, () => {
      throw new PermanentError('no');
    });
    const made = await jobs.enqueueMany(Array.from({ length: n }, (_, i) => ({ topic, payload: { i } })));
    jobs.start();
    await waitFor(`${n} failed ${topic} jobs`, async () => (await jobs.list({ topic, status: 'failed' })).total === n);
    await jobs.stop();
    return made;
  }

  it('requeueMatching and deleteMatching: dry runs count, limits stop, filters narrow, statuses stay within the action’s', async () => {
    const jobs = await fx.open();
    await failed(jobs, 'a', 1_100);
    await jobs.enqueue('b', {});
    expect(await jobs.requeueMatching({ topic: 'a' }, { dryRun: true })).toEqual({ dryRun: true, matched: 1_100, changed: 0 });
    // More than two chunks (500 each), and a limit that ends inside one.
    expect(await jobs.requeueMatching({ topic: 'a' }, { limit: 1_050 })).toEqual({ dryRun: false, changed: 1_050 });
    expect(await jobs.stats()).toMatchObject({ pending: 1_051, failed: 50 });
    expect(await jobs.requeueMatching({}, {})).toEqual({ dryRun: false, changed: 50 });
    expect(await jobs.deleteMatching({ topic: 'b' }, { dryRun: true })).toEqual({ dryRun: true, matched: 1, changed: 0 });
    expect(await jobs.deleteMatching({ status: 'pending', createdAfter: new Date(Date.now() + 60_000) })).toEqual({ dryRun: false, changed: 0 });
    expect(await jobs.deleteMatching({ status: 'pending' })).toEqual({ dryRun: false, changed: 1_101 });
    expect(await jobs.stats()).toMatchObject({ total: 0 });

    const refused = await jobs.requeueMatching({ status: 'pending' }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(JobsError);
    expect((refused as JobsError).fields).toHaveProperty('status');
    const badTime = await jobs.deleteMatching({ createdBefore: 'soon' }).catch((err: unknown) => err);
    expect((badTime as JobsError).fields).toHaveProperty('created_before');
  });

  it('createMetrics gives an embedded worker the same metrics as the server’s route', async () => {
    const jobs = await fx.open();
    const metrics = await createMetrics(jobs);
    await failed(jobs, 'c', 2);
    const { contentType, body } = await metrics.exposition(undefined);
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toContain('jobbase_jobs{topic="c",status="failed"} 2\n');
    expect(body).toContain('jobbase_jobs_failed_total{topic="c"} 2\n');
    metrics.close();
  });
});
