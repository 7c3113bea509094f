import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture, EMAIL, PASSWORD, api } from '../helpers/app.js';
import { dialects } from '../helpers/databases.js';
import { postFrom } from '../helpers/http-from.js';
import { report } from '../helpers/soak.js';

const AUTH_PATH = '/api/collections/_superusers/auth-with-password';
const ADDRESSES = 64;
/** Each address's guesses, all at once: within its limit of 5 a minute. */
const GUESSES_EACH = 5;
/** The bound on a signed-in request while sign-ins flood in. */
const SIGNED_IN_BOUND_MS = 1_000;

/*
 * A flood of wrong sign-ins, every one within its address's limit, each costing a 32 MiB scrypt
 * on libuv's 4-thread pool. A serial file: its figure is a latency, which other files running
 * beside it on 2 cores would blur.
 */
describe.each(dialects())('a flood of wrong sign-ins on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('signed-in requests answer within a second; the excess sign-ins get 429 with Retry-After', { timeout: 180_000 }, async () => {
    const { url, token } = await fx.startSignedIn();
    const started = Date.now();
    let flooding = true;
    // Unknown emails, so each guess is the dummy scrypt that hides whether the email exists.
    const flood = Promise.all(
      Array.from({ length: ADDRESSES * GUESSES_EACH }, (_, i) =>
        postFrom(`127.0.0.${10 + (i % ADDRESSES)}`, url, AUTH_PATH, { identity: `guess${i}@example.com`, password: `guess ${i}` }),
      ),
    ).finally(() => (flooding = false));

    const latencies: number[] = [];
    await new Promise((resolve) => setTimeout(resolve, 100));
    while (flooding || latencies.length < 5) {
      const asked = performance.now();
      const stats = await api(url, '/api/jobs/stats', { token });
      latencies.push(performance.now() - asked);
      expect(stats.status, stats.text).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const answers = await flood;
    const floodMs = Date.now() - started;

    const refused = answers.filter((a) => a.status === 429);
    const worst = Math.max(...latencies);
    report('sign-in flood', dialect, {
      signIns: answers.length,
      checked: answers.length - refused.length,
      refused: refused.length,
      floodMs,
      statsRequests: latencies.length,
      statsMaxMs: Math.round(worst),
      statsMedianMs: Math.round([...latencies].sort((a, b) => a - b)[Math.floor(latencies.length / 2)]!),
    });
    expect(worst).toBeLessThan(SIGNED_IN_BOUND_MS);
    expect(answers.every((a) => a.status === 400 || a.status === 429), JSON.stringify(answers.map((a) => a.status))).toBe(true);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.body).toEqual({ status: 429, message: 'Too many sign-ins at once; try again shortly.', data: {} });
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    }

    // The superuser signs in once the flood has passed, from an address of its own.
    const right = await postFrom('127.0.0.200', url, AUTH_PATH, { identity: EMAIL, password: PASSWORD });
    expect(right.status, JSON.stringify(right.body)).toBe(200);
  });
});
