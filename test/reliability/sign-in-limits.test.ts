import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type AppOptions } from '@jobbase/server';
import { SignInLimits } from '../../server/dist/auth/sign-in-limits.js';
import { AppFixture, EMAIL, PASSWORD } from '../helpers/app.js';
import { dialects } from '../helpers/databases.js';
import { postFrom } from '../helpers/http-from.js';
import { waitFor } from '../helpers/wait.js';

const AUTH_PATH = '/api/collections/_superusers/auth-with-password';
const CLI = fileURLToPath(new URL('../../server/dist/cli.js', import.meta.url));
const TOO_MANY_FAILURES = { status: 429, message: 'Too many failed login attempts. Try again later.', data: {} };

interface SignIn {
  /** The loopback address the request comes from (127.0.0.1 is the test's "proxy"). */
  from?: string;
  identity?: string;
  password?: string;
  /** The X-Forwarded-For a proxy would send. */
  forwardedFor?: string;
}

/** A sign-in's status, checking a 429's body and Retry-After (1 to 60 s). */
async function signIn(url: string, { from = '127.0.0.1', identity = EMAIL, password = 'wrong password', forwardedFor }: SignIn): Promise<number> {
  const headers: Record<string, string> = forwardedFor ? { 'x-forwarded-for': forwardedFor } : {};
  const res = await postFrom(from, url, AUTH_PATH, { identity, password }, headers);
  if (res.status === 429) {
    expect(res.body).toEqual(TOO_MANY_FAILURES);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
  }
  return res.status;
}

/** The statuses of `count` sign-ins made one after another. */
async function signIns(url: string, count: number, request: (i: number) => SignIn): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push(await signIn(url, request(i)));
  return statuses;
}

const repeat = <T>(value: T, times: number): T[] => Array.from({ length: times }, () => value);

describe.each(dialects())('sign-in limits on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  /** An app with the test superuser, never signed in (so no address is known to it yet). */
  async function server(options: AppOptions = {}): Promise<string> {
    const { url } = await fx.startSignedIn(options);
    return url;
  }

  it('trust proxy off (the default): X-Forwarded-For is ignored, every client behind a proxy shares its budget', async () => {
    const url = await server();
    const statuses = await signIns(url, 6, (i) => ({ from: '127.0.0.2', forwardedFor: `203.0.113.${i}` }));
    expect(statuses).toEqual([...repeat(400, 5), 429]);
    expect(await signIn(url, { from: '127.0.0.2', forwardedFor: '203.0.113.99', password: PASSWORD })).toBe(429);
  });

  it.each([
    ['loopback', 'loopback'],
    ['a hop count', 1],
    ['a subnet list', '10.0.0.0/8, 127.0.0.0/8'],
  ])('trust proxy set to %s: clients behind the proxy get separate budgets, and cannot pick their address', async (_, trustProxy) => {
    const url = await server({ trustProxy });
    // The proxy appends the address it sees to whatever the client sent: the last entry counts.
    const first = await signIns(url, 6, (i) => ({ from: '127.0.0.2', forwardedFor: `198.51.100.${i}, 203.0.113.1` }));
    expect(first).toEqual([...repeat(400, 5), 429]);
    expect(await signIn(url, { from: '127.0.0.2', forwardedFor: '203.0.113.1', password: PASSWORD })).toBe(429);
    // Another client behind the same proxy: its own budget.
    expect(await signIn(url, { from: '127.0.0.2', forwardedFor: '203.0.113.2' })).toBe(400);
    expect(await signIn(url, { from: '127.0.0.2', forwardedFor: '203.0.113.2', password: PASSWORD })).toBe(200);
  });

  it('trust proxy lists only the proxies it names: a request from elsewhere is counted by its own address', async () => {
    const url = await server({ trustProxy: '10.0.0.0/8' });
    const statuses = await signIns(url, 6, (i) => ({ from: '127.0.0.2', forwardedFor: `203.0.113.${i}` }));
    expect(statuses).toEqual([...repeat(400, 5), 429]);
  });

  it('createApp refuses a trustProxy Express would not take, or would misread', async () => {
    for (const bad of ['not-an-address', '1', '', -1, 1.5, true as unknown as number]) {
      await expect(createApp({ database: fx.db.url, trustProxy: bad })).rejects.toThrow(/^Option trustProxy must be/);
    }
  });

  it('guesses at one email spread over many addresses stop after 10 a minute, whichever email, known or not', async () => {
    const url = await server();
    const guesses = await signIns(url, 12, (i) => ({ from: `127.0.1.${i + 1}`, identity: i % 2 ? EMAIL : EMAIL.toUpperCase() }));
    expect(guesses).toEqual([...repeat(400, 10), 429, 429]);
    // The right password from an address the superuser never signed in from waits too…
    expect(await signIn(url, { from: '127.0.1.100', password: PASSWORD })).toBe(429);
    // …but not from one it has (startSignedIn's own sign-in, from 127.0.0.1).
    expect(await signIn(url, { from: '127.0.0.1', password: PASSWORD })).toBe(200);
    // Another email is not held up; an unknown one is limited alike (a 429 says nothing about existence).
    expect(await signIn(url, { from: '127.0.1.101', identity: 'other@example.com' })).toBe(400);
    const unknown = await signIns(url, 11, (i) => ({ from: `127.0.2.${i + 1}`, identity: 'nobody@example.com' }));
    expect(unknown).toEqual([...repeat(400, 10), 429]);
  });

  it('parallel guesses at one email from many addresses cannot slip past its limit', async () => {
    const url = await server();
    const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => signIn(url, { from: `127.0.3.${i + 1}` })));
    // Counted as they start: 10 are checked, the rest refused for the email.
    expect(statuses.sort()).toEqual([...repeat(400, 10), ...repeat(429, 10)]);
  });

  it('JOBBASE_TRUST_PROXY configures the CLI server', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--http', '127.0.0.1:0', '--db', fx.db.url], {
      env: { ...process.env, JOBBASE_LOG_LEVEL: 'silent', JOBBASE_TRUST_PROXY: 'loopback' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      child.stdout.on('data', (c) => (output += String(c)));
      child.stderr.on('data', (c) => (output += String(c)));
      const origin = await waitFor('the server to start', () => /started at (http:\/\/\S+)/.exec(output)?.[1]);
      const statuses = await signIns(origin, 6, () => ({ forwardedFor: '203.0.113.1' }));
      expect(statuses).toEqual([...repeat(400, 5), 429]);
      expect(await signIn(origin, { forwardedFor: '203.0.113.2' })).toBe(400);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});

describe('SignInLimits', () => {
  const start = 1_000_000;

  it("an email's limit ends with its window; an address it signed in from is exempt from it", () => {
    const limits = new SignInLimits({ perAddress: 5, perIdentity: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) expect(limits.admit(`10.0.0.${i}`, EMAIL, start)).not.toHaveProperty('retryAfterMs');
    expect(limits.admit('10.0.0.9', EMAIL, start + 1_000)).toEqual({ retryAfterMs: 59_000 });
    // A refusal for the email did not use up the address's budget.
    for (let i = 0; i < 5; i++) expect(limits.admit('10.0.0.9', `other${i}@example.com`, start + 1_000)).not.toHaveProperty('retryAfterMs');
    const next = limits.admit('10.0.0.3', EMAIL, start + 60_000);
    expect(next).not.toHaveProperty('retryAfterMs');
    (next as { succeeded(): void }).succeeded();
    // Full again; 10.0.0.3 signed in, so it is exempt, within its own 5.
    for (let i = 0; i < 3; i++) limits.admit(`10.0.1.${i}`, EMAIL, start + 61_000);
    expect(limits.admit('10.0.1.9', EMAIL, start + 61_000)).toHaveProperty('retryAfterMs');
    for (let i = 0; i < 5; i++) expect(limits.admit('10.0.0.3', EMAIL, start + 61_000)).not.toHaveProperty('retryAfterMs');
    expect(limits.admit('10.0.0.3', EMAIL, start + 61_000)).toHaveProperty('retryAfterMs');
  });

  it('an attempt whose password was never checked does not count; a success takes back its own', () => {
    const limits = new SignInLimits({ perAddress: 5, perIdentity: 2, windowMs: 60_000 });
    for (let i = 0; i < 6; i++) {
      const attempt = limits.admit('10.0.0.1', EMAIL, start);
      expect(attempt).not.toHaveProperty('retryAfterMs');
      (attempt as { unchecked(): void }).unchecked();
    }
    (limits.admit('10.0.0.2', EMAIL, start) as { succeeded(): void }).succeeded();
    // Nothing counted so far: two failures fill the email's window.
    expect(limits.admit('10.0.0.1', EMAIL, start)).not.toHaveProperty('retryAfterMs');
    expect(limits.admit('10.0.0.1', EMAIL, start)).not.toHaveProperty('retryAfterMs');
    expect(limits.admit('10.0.0.1', EMAIL, start)).toHaveProperty('retryAfterMs');
  });
});
