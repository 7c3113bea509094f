import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobsClient, createRemoteWorker, JobsApiError, type JobsClient } from '@jobbase/client';
import { upsertSuperuser } from '@jobbase/server';
import { AppFixture, EMAIL, PASSWORD, type RunningApp } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { waitFor } from './helpers/wait.js';

/** The rejection of `promise`, which must be a JobsApiError. */
async function apiError(promise: Promise<unknown>): Promise<JobsApiError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a JobsApiError, the call succeeded');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JobsApiError);
  return err as JobsApiError;
}

/** `@jobbase/client`'s worker-token methods against a live server: what a deploy script would do. */
describe.each(dialects())('@jobbase/client worker tokens on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  let running: RunningApp;
  let client: JobsClient;

  beforeEach(async () => {
    await fx.setup();
    running = await fx.start();
    await upsertSuperuser(running.app.jobs.store, EMAIL, PASSWORD);
    client = createJobsClient({ baseUrl: running.url });
    await client.authWithPassword(EMAIL, PASSWORD);
  });
  afterEach(() => fx.teardown());

  it('creates a token a remote worker runs jobs with, lists it without its secret, and revokes it', async () => {
    const created = await client.createWorkerToken({ name: 'resizer', topics: ['resize'] });
    expect(created).toEqual({
      token: expect.stringMatching(/^jbw_/),
      id: expect.any(String),
      name: 'resizer',
      role: 'worker',
      topics: ['resize'],
      created: expect.any(String),
    });
    const anyTopic = await client.createWorkerToken();
    expect(anyTopic.topics).toBeNull();

    const listed = await client.listWorkerTokens();
    expect(listed).toEqual([
      { id: created.id, name: 'resizer', role: 'worker', topics: ['resize'], created: created.created },
      { id: anyTopic.id, name: anyTopic.name, role: 'worker', topics: null, created: anyTopic.created },
    ]);
    expect(JSON.stringify(listed)).not.toContain('jbw_');

    // The token is a remote worker's: it runs the topic's job.
    const job = await client.enqueue('resize', { width: 640 });
    const worker = createRemoteWorker({ baseUrl: running.url, token: created.token, handlers: { resize: () => ({ done: true }) } });
    try {
      await waitFor('the remote worker completes the job', async () => (await client.get(job.id)).status === 'completed');
    } finally {
      await worker.stop();
    }
    expect((await client.get(job.id)).result).toEqual({ done: true });

    await client.revokeWorkerToken(created.id);
    expect((await client.listWorkerTokens()).map((t) => t.id)).toEqual([anyTopic.id]);
    // Its next request is refused: a worker client with it gets a 401.
    const asWorker = createJobsClient({ baseUrl: running.url, token: created.token });
    expect((await asWorker.raw.workers.claim({ body: { topics: ['resize'] } })).status).toBe(401);
  });

  it('throws JobsApiErrors: 404 for an unknown id, 400 naming the field, 403 for a worker token, 401 signed out', async () => {
    expect(await apiError(client.revokeWorkerToken('0194455b-5100-7c3a-9f2e-4b8d1a6e0c57'))).toMatchObject({ status: 404 });
    const bad = await apiError(client.createWorkerToken({ topics: ['ok', ''] }));
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.data)).toEqual(['topics.1']);
    await expect(client.revokeWorkerToken('')).rejects.toThrow(TypeError);

    const { token } = await client.createWorkerToken({ name: 'w' });
    const asWorker = createJobsClient({ baseUrl: running.url, token });
    for (const call of [() => asWorker.listWorkerTokens(), () => asWorker.createWorkerToken({ name: 'more' }), () => asWorker.revokeWorkerToken('x')]) {
      expect(await apiError(call())).toMatchObject({ status: 403 });
    }
    client.setToken(null);
    expect(await apiError(client.listWorkerTokens())).toMatchObject({ status: 401 });
    client.setToken(await createJobsClient({ baseUrl: running.url }).authWithPassword(EMAIL, PASSWORD).then((a) => a.token));
    expect((await client.listWorkerTokens()).map((t) => t.name)).toEqual(['w']);
  });
});
