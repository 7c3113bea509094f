import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture, api, expectError } from '../helpers/app.js';
import { dialects } from '../helpers/databases.js';
import { report } from '../helpers/soak.js';

/*
 * Requests that used to hold the whole server: bodies nested a million deep, and clients that
 * send their request a byte at a time or keep connections open. The flood of bodies nobody
 * should parse, a latency figure, is in body-flood.serial.test.ts.
 */

const MiB = 1024 * 1024;
const DEPTH_LIMIT = 128;
const TOO_DEEP = { status: 400, message: `The JSON body is nested deeper than ${DEPTH_LIMIT} levels.`, data: {} };

/** `depth` arrays, one inside the other, around a 1. */
function nestedArrays(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

/** The issue's body: 2 MiB of brackets, a million deep. */
const MILLION_DEEP = `${'['.repeat(MiB)}${']'.repeat(MiB)}`;

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: Math.round(performance.now() - started) };
}

describe.each(dialects())('deeply nested bodies on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it(`a body nested deeper than ${DEPTH_LIMIT} levels is a 400 saying so; one nested to the limit is stored`, async () => {
    const { url, token } = await fx.startSignedIn();
    // The body is one level: a payload inside it can nest one level less, in a batch three less.
    const atLimit = await api(url, '/api/jobs/enqueue', { token, raw: `{"topic":"t","payload":${nestedArrays(DEPTH_LIMIT - 1)}}` });
    expect(atLimit.status, atLimit.text.slice(0, 200)).toBe(200);
    expect(JSON.stringify(atLimit.body.payload)).toBe(nestedArrays(DEPTH_LIMIT - 1));
    const objects = `${'{"a":'.repeat(DEPTH_LIMIT - 1)}1${'}'.repeat(DEPTH_LIMIT - 1)}`;
    expect((await api(url, '/api/jobs/enqueue', { token, raw: `{"topic":"t","payload":${objects}}` })).status).toBe(200);
    const batch = await api(url, '/api/jobs/enqueue/batch', { token, raw: `{"jobs":[{"topic":"t","payload":${nestedArrays(DEPTH_LIMIT - 3)}}]}` });
    expect(batch.status, batch.text.slice(0, 200)).toBe(200);

    for (const raw of [
      `{"topic":"t","payload":${nestedArrays(DEPTH_LIMIT)}}`,
      `{"topic":"t","payload":{"a":${`${'{"a":'.repeat(DEPTH_LIMIT)}1${'}'.repeat(DEPTH_LIMIT)}`}}}`,
    ]) {
      expect((await api(url, '/api/jobs/enqueue', { token, raw })).body).toEqual(TOO_DEEP);
    }
    expect((await api(url, '/api/jobs/enqueue/batch', { token, raw: `{"jobs":[{"topic":"t","payload":${nestedArrays(DEPTH_LIMIT - 2)}}]}` })).body).toEqual(TOO_DEEP);
    const deep = await timed(() => api(url, '/api/jobs/enqueue', { token, raw: MILLION_DEEP }));
    expect(deep.value.body).toEqual(TOO_DEEP);

    // Brackets inside strings, escaped quotes included, are text, not nesting.
    const text = { topic: 't', payload: { a: `"\\${'['.repeat(1_000)}`, b: '{'.repeat(1_000) } };
    const stored = await api(url, '/api/jobs/enqueue', { token, json: text });
    expect(stored.status, stored.text.slice(0, 200)).toBe(200);
    expect(stored.body.payload).toEqual(text.payload);
    expect((await api(url, '/api/jobs/stats', { token })).body.total).toBe(4);
    report('stalls: one nested request with a token', dialect, { millionDeepWithTokenMs: deep.ms });
    expect(deep.ms).toBeLessThan(500);
  });

  it('the 413, the 415 and the 401 before them are as they were', async () => {
    const { url, token } = await fx.startSignedIn({ bodyLimit: 64 * 1024 });
    const over = await api(url, '/api/jobs/enqueue', { token, raw: MILLION_DEEP });
    expect(over.body.message).toBe('The request body is larger than the 64KB limit (serve --body-limit / JOBBASE_BODY_LIMIT).');
    expectError(await api(url, '/api/jobs/enqueue', { token, raw: '{"topic":"t"}', headers: { 'content-type': 'text/plain' } }), 415);
    expectError(await api(url, '/api/jobs/enqueue', { raw: MILLION_DEEP, headers: { 'content-type': 'text/plain' } }), 401);
    expectError(await api(url, '/api/jobs/enqueue', { token, raw: '{"topic":' }), 400);
  });
});

