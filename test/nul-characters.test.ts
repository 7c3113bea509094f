import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobsError, upsertSuperuser } from '@jobbase/server';
import { AppFixture, EMAIL, PASSWORD, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';

const AUTH_PATH = '/api/collections/_superusers/auth-with-password';

/** The library's refusal: a JobsError `validation` naming `field`, not a database error. */
async function expectValidation(call: Promise<unknown>, field: string): Promise<void> {
  const err = await call.then(
    () => expect.fail(`expected a validation error on ${field}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JobsError);
  expect(err).toMatchObject({ code: 'validation', fields: { [field]: { code: expect.any(String), message: expect.any(String) } } });
}

/*
 * PostgreSQL refuses U+0000 in text and in jsonb strings; SQLite stores it. Refused everywhere,
 * before any statement runs, both dialects answer the same 400 and nothing reaches the database
 * (where a NUL once came back as 503 "The database is unavailable.").
 */
describe.each(dialects())('U+0000 in input on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('sign-in: NUL in identity or password is a 400 naming the field', async () => {
    const { url } = await fx.startSignedIn();
    for (const identity of ['\u0000', `\u0000${EMAIL}`, `${EMAIL}\u0000`]) {
      const res = await api(url, AUTH_PATH, { json: { identity, password: 'x' } });
      expectError(res, 400, ['identity']);
    }
    expectError(await api(url, AUTH_PATH, { json: { identity: EMAIL, password: `${PASSWORD}\u0000` } }), 400, ['password']);
    // The server still signs in.
    expect((await api(url, AUTH_PATH, { json: { identity: EMAIL, password: PASSWORD } })).status).toBe(200);
  });

  it('enqueue: NUL in the topic or anywhere in the payload (values and keys) is a 400; nothing is stored', async () => {
    const { url, token } = await fx.startSignedIn();
    const cases: [unknown, string][] = [
      [{ topic: 'a\u0000b' }, 'topic'],
      [{ topic: 't', payload: '\u0000' }, 'payload'],
      [{ topic: 't', payload: { to: 'a\u0000b' } }, 'payload'],
      [{ topic: 't', payload: { 'k\u0000': 1 } }, 'payload'],
      [{ topic: 't', payload: { a: [1, { b: ['x', 'y\u0000'] }] } }, 'payload'],
    ];
    for (const [json, field] of cases) {
      expectError(await api(url, '/api/jobs/enqueue', { token, json }), 400, [field]);
    }
    expect((await api(url, '/api/jobs/stats', { token })).body.total).toBe(0);

    // The six characters `\u0000` (an escaped backslash, then "u0000") are ordinary text.
    const literal = { text: '\\u0000', deeper: '\\\\u0000' };
    const stored = await api(url, '/api/jobs/enqueue', { token, json: { topic: 't', payload: literal } });
    expect(stored.status, stored.text).toBe(200);
    expect(stored.body.payload).toEqual(literal);
  });

  it('batch enqueue: a NUL names the job and field; no job is stored', async () => {
    const { url, token } = await fx.startSignedIn();
    const jobs = [{ topic: 'ok' }, { topic: 'ok', payload: { x: '\u0000' } }];
    expectError(await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs } }), 400, ['jobs.1.payload']);
    expectError(await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: [{ topic: '\u0000' }] } }), 400, ['jobs.0.topic']);
    expect((await api(url, '/api/jobs/stats', { token })).body.total).toBe(0);
  });

  it('list filters: NUL in the query string is a 400 naming the parameter', async () => {
    const { url, token } = await fx.startSignedIn();
    for (const name of ['topic', 'status', 'limit', 'offset']) {
      expectError(await api(url, `/api/jobs?${name}=a%00b`, { token }), 400, [name]);
    }
  });

  it('the library refuses NUL in a topic or payload with a validation error', async () => {
    const { app } = await fx.start();
    const { jobs } = app;
    await expectValidation(jobs.enqueue('a\u0000', {}), 'topic');
    await expectValidation(jobs.enqueue('t', { s: '\u0000' }), 'payload');
    await expectValidation(jobs.enqueue('t', { ['\u0000']: true }), 'payload');
    await expectValidation(jobs.enqueueMany([{ topic: 't' }, { topic: 't', payload: ['\u0000'] }]), 'jobs.1.payload');
    await expectValidation(jobs.list({ topic: '\u0000' }), 'topic');
    expect((await jobs.stats()).total).toBe(0);
  });

  it('upsertSuperuser refuses NUL in the email or the password', async () => {
    const { app } = await fx.start();
    await expect(upsertSuperuser(app.jobs.store, `a\u0000${EMAIL}`, PASSWORD)).rejects.toMatchObject({ code: 'validation', fields: { email: expect.anything() } });
    await expect(upsertSuperuser(app.jobs.store, EMAIL, `${PASSWORD}\u0000`)).rejects.toMatchObject({ code: 'validation', fields: { password: expect.anything() } });
  });
});
