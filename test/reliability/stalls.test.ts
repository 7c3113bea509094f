import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createApp } from '@jobbase/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture, api, expectError } from '../helpers/app.js';
import { createTestDatabase, dialects } from '../helpers/databases.js';
import { capturedLogger } from '../helpers/logs.js';
import { report } from '../helpers/soak.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/ports.js';

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

/** A raw connection to the server: what it answered, and when it closed. */
interface RawConnection {
  socket: Socket;
  answer: () => string;
  closed: Promise<void>;
}

async function rawConnection(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let answer = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => (answer += chunk));
  socket.on('error', () => undefined); // a refused connection may be reset: it closes all the same
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await once(socket, 'connect');
  return { socket, answer: () => answer, closed };
}

/** Writes `text` a byte every `interval` ms until the server closes the connection; resolves then. */
async function trickle(connection: RawConnection, text: string, interval: number): Promise<void> {
  let at = 0;
  const timer = setInterval(() => {
    if (connection.socket.writable) connection.socket.write(text[at++ % text.length]!, 'latin1');
  }, interval);
  try {
    await Promise.race([connection.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the server kept the slow connection open')), 5_000))]);
  } finally {
    clearInterval(timer);
  }
}

/** One request on an open connection, answered. */
async function exchange(connection: RawConnection, text: string): Promise<string> {
  const before = connection.answer().length;
  connection.socket.write(text);
  await waitFor('an answer', () => /\r\n\r\n[\s\S]*\}$/.test(connection.answer().slice(before)), { timeout: 5_000 });
  return connection.answer().slice(before);
}

const HEALTH = 'GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n';

// The HTTP server's timeouts and cap involve no database: SQLite's app suffices.
describe('slow clients and idle connections', () => {
  const fx = new AppFixture('sqlite');
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('headers sent a byte at a time get a 408 at the headers timeout', async () => {
    const { url } = await fx.start({ headersTimeout: 500, requestTimeout: 2_000 });
    const slow = await rawConnection(url);
    slow.socket.write('GET /api/health HTTP/1.1\r\nHost: x\r\n');
    const { ms } = await timed(() => trickle(slow, 'X-Slow: a\r\n', 100));
    expect(slow.answer()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(slow.answer()).toContain('"message":"The request took too long to arrive."');
    report('stalls: slow headers', 'sqlite', { headersTimeoutMs: 500, closedAfterMs: ms });
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(1_500);
  });

  it('a body sent a byte at a time gets a 408 at the request timeout', async () => {
    const { url, token } = await fx.startSignedIn({ headersTimeout: 500, requestTimeout: 1_000 });
    const slow = await rawConnection(url);
    slow.socket.write(`POST /api/jobs/enqueue HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"topic":"t","payload":"`);
    const { ms } = await timed(() => trickle(slow, 'a', 100));
    expect(slow.answer()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    report('stalls: slow body', 'sqlite', { requestTimeoutMs: 1_000, closedAfterMs: ms });
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(ms).toBeLessThan(2_000);
    expect((await api(url, '/api/jobs/stats', { token })).body.total).toBe(0);
  });

  it('an idle keep-alive connection is told the keep-alive timeout and closed a second after it', async () => {
    const { url } = await fx.start({ keepAliveTimeout: 1_000 });
    const idle = await rawConnection(url);
    expect(await exchange(idle, HEALTH)).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Keep-Alive: timeout=1\r\n/);
    // Node waits a second past the timeout it announced, for a request already on its way.
    const { ms } = await timed(() => idle.closed);
    report('stalls: idle keep-alive', 'sqlite', { keepAliveTimeoutMs: 1_000, closedAfterMs: ms });
    expect(ms).toBeGreaterThanOrEqual(1_500);
    expect(ms).toBeLessThan(3_000);
  });

  it('past the connection cap a new connection is closed unanswered, and the cap frees up as connections close', async () => {
    const logs = capturedLogger();
    const { url } = await fx.start({ maxConnections: 2, logger: logs.logger });
    const held = [await rawConnection(url), await rawConnection(url)];
    for (const connection of held) expect(await exchange(connection, HEALTH)).toMatch(/^HTTP\/1\.1 200/);

    const third = await rawConnection(url);
    third.socket.write(HEALTH);
    await Promise.race([third.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the third connection was kept')), 2_000))]);
    expect(third.answer()).toBe('');
    // The two held connections still serve.
    expect(await exchange(held[0]!, HEALTH)).toMatch(/^HTTP\/1\.1 200/);
    expect(logs.entries('connection cap').length).toBeGreaterThan(0);

    held[1]!.socket.destroy();
    await waitFor('a connection to be served again', async () => {
      const next = await rawConnection(url);
      next.socket.write(HEALTH);
      await Promise.race([next.closed, waitFor('an answer', () => next.answer().includes('\r\n\r\n'), { timeout: 2_000 }).catch(() => undefined)]);
      next.socket.destroy();
      return next.answer().startsWith('HTTP/1.1 200');
    });
  });
});

const CLI = fileURLToPath(new URL('../../server/dist/cli.js', import.meta.url));

/** `jobbase ARGS` with no JOBBASE_ variable from the developer's shell but `env`; its output and exit. */
function startCli(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('JOBBASE_')));
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...clean, JOBBASE_LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  return { child, output: () => output, exit: once(child, 'exit') as Promise<[number | null]> };
}


describe('the limits as settings', () => {
  it('createApp refuses a limit that is no positive integer, and headers allowed longer than the request', async () => {
    const database = 'sqlite:/nonexistent/never-opened.db';
    await expect(createApp({ database, headersTimeout: 0 })).rejects.toThrow('Option headersTimeout must be a positive integer (ms), got 0.');
    await expect(createApp({ database, maxConnections: 1.5 })).rejects.toThrow('Option maxConnections must be a positive integer (connections), got 1.5.');
    await expect(createApp({ database, requestTimeout: 5_000 })).rejects.toThrow('Option headersTimeout (10000 ms) must not exceed requestTimeout (5000 ms).');
  });

  it('serve takes them as flags and environment variables; a bad value exits 1 saying why', async () => {
    const db = await createTestDatabase('sqlite');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const cli = startCli(['serve', '--http', `127.0.0.1:${port}`, '--db', db.url, '--headers-timeout', '300', '--max-connections', '1'], { JOBBASE_REQUEST_TIMEOUT: '600' });
    try {
      await waitFor(`the server to print ${url}`, () => cli.output().includes(`${url}/api/`) || cli.child.exitCode !== null);
      const slowHeaders = await rawConnection(url);
      slowHeaders.socket.write('GET /api/health HTTP/1.1\r\n');
      const headers = await timed(() => trickle(slowHeaders, 'X-Slow: a\r\n', 50));
      expect(slowHeaders.answer()).toMatch(/^HTTP\/1\.1 408/);
      expect(headers.ms).toBeLessThan(1_000);

      // A body nobody reads is still bounded by the request timeout: the 404 goes out at once,
      // the connection closes when the rest of the body is late.
      const slowBody = await rawConnection(url);
      slowBody.socket.write('POST /foo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[');
      const body = await timed(() => trickle(slowBody, '[', 50));
      expect(slowBody.answer()).toMatch(/^HTTP\/1\.1 404/);
      expect(body.ms).toBeGreaterThanOrEqual(500);
      expect(body.ms).toBeLessThan(1_500);

      const held = await rawConnection(url);
      expect(await exchange(held, HEALTH)).toMatch(/^HTTP\/1\.1 200/);
      const refused = await rawConnection(url);
      refused.socket.write(HEALTH);
      await refused.closed;
      expect(refused.answer()).toBe('');
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exit;
      await db.drop();
    }

    const badValues: [string[], string][] = [
      [['--headers-timeout', '10s'], 'Expected a whole number of milliseconds above 0, e.g. 10000, got "10s".'],
      [['--keep-alive-timeout', '0'], 'Expected a whole number of milliseconds above 0, e.g. 10000, got "0".'],
      [['--max-connections', '-1'], 'Expected a whole number of connections above 0, e.g. 1000, got "-1".'],
      [['--headers-timeout', '5000', '--request-timeout', '1000'], 'Option headersTimeout (5000 ms) must not exceed requestTimeout (1000 ms).'],
    ];
    for (const [args, message] of badValues) {
      const bad = startCli(['serve', '--http', '127.0.0.1:0', '--db', 'sqlite:/nonexistent/never-opened.db', ...args]);
      const [code] = await bad.exit;
      expect(code, bad.output()).toBe(1);
      expect(bad.output()).toContain(message);
    }
  });
});
