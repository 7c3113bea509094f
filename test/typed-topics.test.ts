import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createJobsClient, JobsApiError, type FetchFunction } from '@jobbase/client';
import { defineTopics, JobsError, type JobContext } from '@jobbase/server';
import { api, AppFixture, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { deferred, waitFor } from './helpers/wait.js';

const topics = defineTopics({
  send_email: z.object({ to: z.string().email(), subject: z.string() }),
  resize: z.object({ width: z.number().int().default(100) }),
});

const email = { to: 'a@example.com', subject: 'Welcome' };

/** The rejection of `promise`, which must be an instance of `type`. */
async function rejection<E>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const err = await promise.then(
    () => {
      throw new Error('expected the call to fail, it succeeded');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  return err as E;
}

describe('defineTopics', () => {
  it('refuses a topic the API would refuse, and a schema that is not zod', () => {
    expect(() => defineTopics({ '': z.object({}) })).toThrow(/"" is not a valid topic/);
    expect(() => defineTopics({ ['x'.repeat(256)]: z.object({}) })).toThrow(/not a valid topic/);
    expect(() => defineTopics({ ok: { parse: () => 1 } as never })).toThrow(/not a zod schema/);
  });

  it('knows only its own topics, not Object’s', () => {
    expect(topics.schemaOf('send_email')).toBe(topics.schemas.send_email);
    for (const name of ['constructor', '__proto__', 'toString', 'other']) {
      expect(topics.schemaOf(name), name).toBeUndefined();
      expect(topics.checkPayload(name, 42), name).toBeNull();
    }
  });
});

describe.each(dialects())('typed topics in the engine on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('stores a payload that fits, as given', async () => {
    const jobs = await fx.open({ topics });
    const extra = { ...email, note: 'kept' };
    expect((await jobs.enqueue('send_email', extra)).payload).toEqual(extra);
    expect((await jobs.enqueueAt('resize', {}, new Date(Date.now() + 60_000))).payload).toEqual({});
    expect((await jobs.enqueueWithOptions('send_email', email, { maxRetries: 0 })).maxRetries).toBe(0);
  });

  it('refuses a payload that does not fit with a validation error naming each field, storing nothing', async () => {
    const jobs = await fx.open({ topics });
    const err = await rejection(jobs.enqueue('send_email', { to: 'not an email' }), JobsError);
    expect(err.code).toBe('validation');
    expect(Object.keys(err.fields).sort()).toEqual(['payload.subject', 'payload.to']);
    expect(err.fields['payload.to']).toEqual({ code: 'invalid_string', message: 'Invalid email' });
    expect(err.message).toBe('payload.to: Invalid email; payload.subject: Required');

    // The whole payload of the wrong type; an omitted one is checked as the `{}` it would be.
    const whole = await rejection(jobs.enqueueWithOptions('resize', 'wide', {}), JobsError);
    expect(Object.keys(whole.fields)).toEqual(['payload']);
    const omitted = await rejection(jobs.enqueue('send_email', undefined as never), JobsError);
    expect(Object.keys(omitted.fields).sort()).toEqual(['payload.subject', 'payload.to']);
    await rejection(jobs.enqueueAt('resize', { width: 1.5 }, new Date()), JobsError);
    expect((await jobs.stats()).total).toBe(0);
  });

  it('validates every job of a batch, naming the job, all or none', async () => {
    const jobs = await fx.open({ topics });
    const err = await rejection(
      jobs.enqueueMany([
        { topic: 'send_email', payload: email },
        { topic: 'send_email', payload: { to: 'nope', subject: 'Hi' } },
        { topic: 'resize', payload: { width: 'wide' } },
        { topic: 'cleanup', payload: 'anything' },
      ]),
      JobsError,
    );
    expect(err.code).toBe('validation');
    expect(Object.keys(err.fields).sort()).toEqual(['jobs.1.payload.to', 'jobs.2.payload.width']);
    expect((await jobs.stats()).total).toBe(0);
    expect(await jobs.enqueueMany([{ topic: 'send_email', payload: email }, { topic: 'resize', payload: {} }])).toHaveLength(2);
  });

  it('leaves undeclared topics alone, and checks the size before the schema', async () => {
    const jobs = await fx.open({ topics });
    expect((await jobs.enqueue('cleanup', [1, 'two'])).payload).toEqual([1, 'two']);
    expect((await jobs.enqueue('constructor')).payload).toEqual({});
    const tooBig = await rejection(jobs.enqueue('send_email', { to: 'x'.repeat(1_048_576) }), JobsError);
    expect(tooBig.code).toBe('payload_too_large');
  });

  it('hands a declared topic’s handler the parsed payload', async () => {
    const jobs = await fx.open({ topics });
    const seen = deferred<[unknown, unknown]>();
    jobs.register('resize', (job: JobContext) => seen.resolve([job.payload, job.unmarshalPayload()]));
    jobs.start();
    const job = await jobs.enqueue('resize', {});
    expect(await seen.promise).toEqual([{ width: 100 }, { width: 100 }]);
    await waitFor('completion', async () => (await jobs.get(job.id)).status === 'completed');
    // Stored as enqueued; the default is the handler's view.
    expect((await jobs.get(job.id)).payload).toEqual({});
  });

  it('fails the attempt, without calling the handler, when a stored payload no longer fits', async () => {
    const untyped = await fx.open();
    const stored = await untyped.enqueueWithOptions('send_email', { to: 'nope' }, { maxRetries: 0 });
    await untyped.close();
    const jobs = await fx.open({ topics });
    let calls = 0;
    jobs.register('send_email', () => calls++);
    jobs.start();
    const failed = await waitFor('the job to fail', async () => {
      const job = await jobs.get(stored.id);
      return job.status === 'failed' ? job : null;
    });
    expect(failed.lastError).toMatch(/Invalid payload for topic "send_email": to: Invalid email; subject: Required/);
    expect(calls).toBe(0);
  });
});

describe.each(dialects())('typed topics over HTTP on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('answers 400 naming each payload field, for one job and in a batch', async () => {
    const { url, token, app } = await fx.startSignedIn({ topics });
    const res = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'send_email', payload: { to: 'nope' } } });
    expectError(res, 400, ['payload.to', 'payload.subject']);
    expect(res.body.message).toBe('payload.to: Invalid email; payload.subject: Required');

    const batch = await api(url, '/api/jobs/enqueue/batch', {
      token,
      json: { jobs: [{ topic: 'send_email', payload: email }, { topic: 'resize', payload: { width: -0.5 } }] },
    });
    expectError(batch, 400, ['jobs.1.payload.width']);
    expect((await app.jobs.stats()).total).toBe(0);

    const ok = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'send_email', payload: email } });
    expect(ok.status, ok.text).toBe(200);
    const other = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'cleanup', payload: 7 } });
    expect(other.body).toMatchObject({ topic: 'cleanup', payload: 7 });
  });

  it('the client refuses what the server would, with the same answer, before sending it', async () => {
    const { url, token } = await fx.startSignedIn({ topics });
    let sent = 0;
    const counting: FetchFunction = (input, init) => {
      sent++;
      return fetch(input, init);
    };
    const typed = createJobsClient({ baseUrl: url, token, topics, fetch: counting });
    const plain = createJobsClient({ baseUrl: url, token });
    const bad = { to: 'nope' } as unknown as typeof email;

    const local = await rejection(typed.enqueue('send_email', bad), JobsApiError);
    expect(sent).toBe(0);
    const remote = await rejection(plain.enqueue('send_email', bad), JobsApiError);
    expect({ status: local.status, message: local.message, data: local.data }).toEqual({
      status: remote.status,
      message: remote.message,
      data: remote.data,
    });
    expect(Object.keys(local.data).sort()).toEqual(['payload.subject', 'payload.to']);

    const items = [
      { topic: 'send_email', payload: email },
      { topic: 'send_email', payload: bad },
    ];
    const localBatch = await rejection(typed.enqueueMany(items), JobsApiError);
    const remoteBatch = await rejection(plain.enqueueMany(items), JobsApiError);
    expect(sent).toBe(0);
    expect(localBatch.data).toEqual(remoteBatch.data);
    expect(localBatch.message).toBe(remoteBatch.message);
    expect(Object.keys(localBatch.data)).toEqual(['jobs.1.payload.to', 'jobs.1.payload.subject']);

    const job = await typed.enqueueWithOptions('send_email', email, { maxRetries: 1 });
    expect(job).toMatchObject({ topic: 'send_email', payload: email, max_retries: 1 });
    expect((await typed.enqueue('cleanup')).payload).toEqual({});
    expect(sent).toBe(2);
  });
});
