import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Jobs } from '@jobbase/server';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { capturedLogger } from './helpers/logs.js';
import { deferred, waitFor } from './helpers/wait.js';

/** Runs one job of a handler that throws `thrown`, no retries; resolves to its stored last_error. */
async function lastErrorOf(jobs: Jobs, topic: string, thrown: () => unknown): Promise<string | null> {
  jobs.register(topic, () => {
    throw thrown();
  });
  const job = await jobs.enqueueWithOptions(topic, {}, { maxRetries: 0 });
  await waitFor(`${topic} to fail`, async () => (await jobs.get(job.id)).status === 'failed');
  return (await jobs.get(job.id)).lastError;
}

describe.each(dialects())('how a failed attempt is recorded, on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('last_error keeps a message of up to 8,192 characters whole, and cuts a longer one there with an ellipsis', async () => {
    const jobs = await fx.open();
    jobs.start();
    expect(await lastErrorOf(jobs, 'at_limit', () => new Error('e'.repeat(8_192)))).toBe('e'.repeat(8_192));
    expect(await lastErrorOf(jobs, 'over_limit', () => new Error('o'.repeat(10_000)))).toBe(`${'o'.repeat(8_192)}…`);
  });

  it('last_error of something thrown that is not an Error: a string as is, a value as JSON, else its text', async () => {
    const jobs = await fx.open();
    jobs.start();
    expect(await lastErrorOf(jobs, 'string', () => 'plain words')).toBe('plain words');
    expect(await lastErrorOf(jobs, 'object', () => ({ code: 42, reason: 'quota' }))).toBe('{"code":42,"reason":"quota"}');
    expect(await lastErrorOf(jobs, 'nothing', () => undefined)).toBe('undefined');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(await lastErrorOf(jobs, 'circular', () => circular)).toBe('[object Object]');
    expect(await lastErrorOf(jobs, 'unnamed', () => new Error(''))).toBe('Error');
  });

  it('a handler learns why it was aborted: its lock expired, or the worker is shutting down', async () => {
    const jobs = await fx.open({ lockDuration: 300, shutdownTimeout: 50 });
    jobs.store.jobGetExpired = async () => []; // the worker's own timer, not the rescuer, ends it
    const reasons = new Map<string, string>();
    const aborted = deferred();
    jobs.register('hangs', (job) => {
      job.signal.addEventListener('abort', () => {
        reasons.set(job.id, (job.signal.reason as Error).message);
        aborted.resolve();
      });
      return new Promise(() => {});
    });
    jobs.start();
    const expired = await jobs.enqueueWithOptions('hangs', {}, { maxRetries: 0 });
    await aborted.promise;
    expect(reasons.get(expired.id)).toBe('Lock expired after 300 ms: the handler did not finish in time.');

    const running = deferred();
    jobs.register('slow', (job) => {
      job.signal.addEventListener('abort', () => reasons.set(job.id, (job.signal.reason as Error).message));
      running.resolve();
      return new Promise(() => {});
    });
    const stopped = await jobs.enqueue('slow');
    await running.promise;
    await jobs.stop();
    expect(reasons.get(stopped.id)).toBe('The worker is shutting down.');
  });

  it('stop() returns only once every completion is written', async () => {
    const jobs = await fx.open();
    const write = deferred();
    const writing = deferred();
    const completeMany = jobs.store.jobCompleteMany.bind(jobs.store);
    jobs.store.jobCompleteMany = async (...args) => {
      writing.resolve();
      await write.promise;
      return completeMany(...args);
    };
    jobs.register('quick', () => undefined);
    jobs.start();
    const job = await jobs.enqueue('quick');
    await writing.promise; // the handler is done and its completion on its way
    const stopping = jobs.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    write.resolve();
    await stopping;
    expect((await jobs.get(job.id)).status).toBe('completed');
  });

  it('a result that cannot be written is logged with the job, which the rescuer later recovers', async () => {
    const { logger, entries } = capturedLogger();
    const jobs = await fx.open({ lockDuration: 500, rescueInterval: 50, logger });
    const retry = jobs.store.jobRetry.bind(jobs.store);
    let failures = 0;
    jobs.store.jobRetry = async (params) => {
      if (failures++ === 0) throw new Error('connection reset while retrying');
      return retry(params);
    };
    let executions = 0;
    jobs.register('throws_once', () => {
      if (++executions === 1) throw new Error('first');
    });
    const completed = once(jobs.events, 'job:completed');
    jobs.start();
    const job = await jobs.enqueue('throws_once');
    await completed;
    expect(entries('recording a job result failed')).toEqual([
      expect.objectContaining({ level: 'error', job: job.id, err: expect.objectContaining({ message: 'connection reset while retrying' }) }),
    ]);
  });
});
