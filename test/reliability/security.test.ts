import { rawQuery } from '@jobbase/server/testing';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SignJWT, decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, upsertSuperuser } from '@jobbase/server';
import { AppFixture, EMAIL, PASSWORD, api, expectError, login, type ApiResponse } from '../helpers/app.js';
import { createTestDatabase, dialects } from '../helpers/databases.js';
import { capturedLogger } from '../helpers/logs.js';
import { postFrom } from '../helpers/http-from.js';
import { waitFor } from '../helpers/wait.js';

const AUTH_PATH = '/api/collections/_superusers/auth-with-password';
const CLI = fileURLToPath(new URL('../../server/dist/cli.js', import.meta.url));

/** SQL metacharacters and the classic injections, each a topic a job may legitimately have. */
const SQL_STRINGS = [
  "'",
  "''",
  "' or '1'='1",
  "' or 1=1 --",
  "'; drop table jobs; --",
  '"; drop table jobs; --',
  "') union select id, topic, payload, status, run_at, retries, max_retries, last_error, created, updated from jobs --",
  '%',
  '_',
  'a%',
  '\\',
  '\\\'',
  '$1',
  '?',
  '*/',
  '/*',
  ';',
  'null',
  '1; select pg_sleep(5)',
  "' || (select token_key from superusers) || '",
];

/** The raw bytes a socket sends, and everything the server answers before closing. */
async function rawExchange(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let answer = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => (answer += chunk));
  await once(socket, 'connect');
  socket.write(text, 'latin1');
  await Promise.race([once(socket, 'close'), waitFor('an answer', () => /\r\n\r\n[\s\S]*\}$/.test(answer), { timeout: 5_000 })]);
  socket.destroy();
  return answer;
}

/** The headers helmet sets and the API adds, on any answer the app builds. */
function expectSecurityHeaders(res: { headers: Headers }, what: string, api = true): void {
  const h = res.headers;
  expect(h.get('x-content-type-options'), what).toBe('nosniff');
  expect(h.get('x-frame-options'), what).toBe('SAMEORIGIN');
  expect(h.get('content-security-policy'), what).toContain("default-src 'self'");
  expect(h.get('content-security-policy'), what).toContain("frame-ancestors 'self'");
  expect(h.get('referrer-policy'), what).toBe('no-referrer');
  expect(h.get('cross-origin-resource-policy'), what).toBe('same-origin');
  expect(h.get('cross-origin-opener-policy'), what).toBe('same-origin');
  expect(h.get('x-powered-by'), what).toBeNull();
  if (api) expect(h.get('cache-control'), what).toBe('no-store');
}

describe.each(dialects())('hostile requests and secrets on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('SQL metacharacters in every filter and id are data, never SQL', async () => {
    const { url, token } = await fx.startSignedIn();
    for (const topic of SQL_STRINGS) {
      expect((await api(url, '/api/jobs/enqueue', { token, json: { topic, payload: { topic } } })).status).toBe(200);
    }
    for (const topic of SQL_STRINGS) {
      const page = await api(url, `/api/jobs?topic=${encodeURIComponent(topic)}&limit=500`, { token });
      expect(page.status, topic).toBe(200);
      // Exactly the one job of that topic: no LIKE wildcard, no injected condition.
      expect(page.body.total, topic).toBe(1);
      expect(page.body.items.map((j: { topic: string }) => j.topic)).toEqual([topic]);
      const both = await api(url, `/api/jobs?topic=${encodeURIComponent(topic)}&status=pending`, { token });
      expect(both.body.total, topic).toBe(1);
      for (const [param, value] of [
        ['status', topic],
        ['limit', topic],
        ['offset', topic],
      ]) {
        const res = await api(url, `/api/jobs?${param}=${encodeURIComponent(value!)}`, { token });
        expectError(res, 400, [param!]);
      }
      for (const [method, suffix] of [
        ['GET', ''],
        ['DELETE', ''],
        ['POST', '/requeue'],
      ]) {
        expectError(await api(url, `/api/jobs/${encodeURIComponent(topic)}${suffix}`, { method, token }), 404);
      }
      const signIn = await api(url, AUTH_PATH, { json: { identity: topic, password: topic } });
      expect([400, 429]).toContain(signIn.status);
    }
    const stats = await api(url, '/api/jobs/stats', { token });
    expect(stats.body).toMatchObject({ pending: SQL_STRINGS.length, total: SQL_STRINGS.length });
    // The superuser is intact (from another address: this one's made-up sign-ins are rate limited).
    expect((await postFrom('127.0.0.4', url, AUTH_PATH, { identity: EMAIL, password: PASSWORD })).status).toBe(200);
  });

  it('401 for a token signed with another secret, an expired token, and a deleted superuser’s token', async () => {
    const { app, url, token } = await fx.startSignedIn();
    const claims = decodeJwt(token);
    const forged = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new Uint8Array(randomBytes(32)));
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${token.split('.')[1]}.`;
    // A real token of a real server, issued for another database: its secret is not this one's.
    const otherDb = await createTestDatabase(dialect);
    const other = await createApp({ database: otherDb.url });
    try {
      await upsertSuperuser(other.jobs.store, EMAIL, PASSWORD);
      const otherServer = await other.listen({ port: 0 });
      const foreign = await login(`http://127.0.0.1:${otherServer.port}`);
      for (const bad of [forged, unsigned, foreign]) expectError(await api(url, '/api/jobs/stats', { token: bad }), 401);
    } finally {
      await other.close();
      await otherDb.drop();
    }
    expect((await api(url, '/api/jobs/stats', { token })).status).toBe(200);

    // A token of this database's own secret that outlived its lifetime (issued by a second app
    // with a 1 ms one): JWT expiry has one-second resolution, so it dies within a second.
    const shortLived = await fx.start({ tokenDuration: 1 });
    const expiring = await login(shortLived.url);
    await waitFor('the token to expire', async () => (await api(url, '/api/jobs/stats', { token: expiring })).status === 401, { timeout: 10_000 });
    expectError(await api(url, '/api/jobs/stats', { token: expiring }), 401);

    await rawQuery(app.jobs.store, 'delete from superusers');
    expectError(await api(url, '/api/jobs/stats', { token }), 401);
  });

  it('login rate limiting holds against spoofed forwarding headers, other identities and parallel guesses', async () => {
    const { url } = await fx.startSignedIn();
    const guesses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api(url, AUTH_PATH, {
          json: { identity: i % 2 ? EMAIL : `someone${i}@example.com`, password: `guess ${i}` },
          headers: { 'x-forwarded-for': `10.0.0.${i}`, 'x-real-ip': `10.0.1.${i}`, forwarded: `for=10.0.2.${i}` },
        }),
      ),
    );
    expect(guesses.filter((r) => r.status === 400)).toHaveLength(5);
    expect(guesses.filter((r) => r.status === 429)).toHaveLength(5);
    // Blocked, even with the right password and a fresh "address" in the headers.
    const right = await api(url, AUTH_PATH, { json: { identity: EMAIL, password: PASSWORD }, headers: { 'x-forwarded-for': '192.0.2.1' } });
    expectError(right, 429);
    // Another client address is not blocked by this one's guesses.
    expect((await postFrom('127.0.0.3', url, AUTH_PATH, { identity: EMAIL, password: PASSWORD })).status).toBe(200);
  });

  it('passwords and tokens never reach the logs, whatever happens', async () => {
    const { logger, output } = capturedLogger();
    const { app, url, token } = await fx.startSignedIn({ logger });
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    await api(url, AUTH_PATH, { json: { identity: EMAIL, password: wrong } });
    await api(url, AUTH_PATH, { raw: `{"identity": "${EMAIL}", "password": "${wrong}"` }); // malformed
    await api(url, AUTH_PATH, { json: { identity: EMAIL, password: PASSWORD, extra: token } });
    await api(url, '/api/jobs/enqueue', { token, json: { topic: 't', payload: { password: PASSWORD, token } } });
    await api(url, '/api/jobs/enqueue', { token, raw: `{"topic": "t", "payload": "${PASSWORD}` });
    await api(url, '/api/jobs/stats', { token: `Bearer ${token}` });
    await api(url, '/api/jobs/stats', { token: `${token}tampered` });
    await api(url, '/api/jobs/stats', { headers: { cookie: `pb_auth=${token}`, 'proxy-authorization': `Basic ${PASSWORD}` } });
    await api(url, '/api/jobs/enqueue', { token, json: { topic: 'x'.repeat(300), payload: { password: PASSWORD } } });
    // Failures on the server's side too: a job whose handler throws the secret, and a closed engine.
    app.jobs.register('leaky', () => {
      throw new Error(`cannot connect with ${PASSWORD}`);
    });
    app.jobs.start();
    const leaky = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'leaky', max_retries: 0 } });
    await waitFor('the leaky job to fail', async () => (await api(url, `/api/jobs/${leaky.body.id}`, { token })).body.status === 'failed');
    await app.jobs.close();
    expectError(await api(url, '/api/jobs/enqueue', { token, json: { topic: 't', payload: { password: PASSWORD } } }), 503);
    expectError(await api(url, AUTH_PATH, { json: { identity: EMAIL, password: PASSWORD } }), 503);

    expect(output().length).toBeGreaterThan(0);
    const signature = token.split('.')[2]!;
    for (const secret of [PASSWORD, wrong, token, signature]) expect(output()).not.toContain(secret);
    expect(output().toLowerCase()).not.toContain('authorization');
    expect(output()).not.toContain('pb_auth');
  });

  it('the CLI never prints a password', async () => {
    const password = `cli-secret-${randomBytes(6).toString('hex')}`;
    const runCli = async (args: string[], env: Record<string, string> = {}) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { ...process.env, JOBBASE_LOG_LEVEL: 'trace', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c) => (output += String(c)));
      child.stderr.on('data', (c) => (output += String(c)));
      const [code] = await once(child, 'exit');
      return { code, output };
    };
    const created = await runCli(['superuser', 'upsert', EMAIL, password, '--db', fx.db.url]);
    expect(created.code, created.output).toBe(0);
    const short = await runCli(['superuser', 'upsert', EMAIL, 'short', '--db', fx.db.url]);
    expect(short.code).toBe(1);
    for (const { output } of [created, short]) {
      expect(output).not.toContain(password);
      expect(output).not.toContain('short\n');
    }
  });

  it('security headers on every answer: successes, every error status, the admin UI and the docs', async () => {
    const { app, url, token } = await fx.startSignedIn({ bodyLimit: 64 * 1024 });
    const job = (await api(url, '/api/jobs/enqueue', { token, json: { topic: 't' } })).body;
    const answers: [string, Promise<ApiResponse | Response>, boolean][] = [
      ['health 200', api(url, '/api/health'), true],
      ['enqueue 200', api(url, '/api/jobs/enqueue', { token, json: { topic: 't' } }), true],
      ['list 200', api(url, '/api/jobs', { token }), true],
      ['400 bad body', api(url, '/api/jobs/enqueue', { token, json: { topic: '' } }), true],
      ['400 bad JSON', api(url, '/api/jobs/enqueue', { token, raw: '{' }), true],
      ['401', api(url, '/api/jobs'), true],
      ['404 api', api(url, '/api/nope', { token }), true],
      ['413', api(url, '/api/jobs/enqueue', { token, json: { topic: 't', payload: 'x'.repeat(70_000) } }), true],
      ['415', api(url, '/api/jobs/enqueue', { token, raw: '{}', headers: { 'content-type': 'application/json; charset=utf-16' } }), true],
      ['204 delete', api(url, `/api/jobs/${job.id}`, { method: 'DELETE', token }), true],
      ['HEAD', fetch(`${url}/api/health`, { method: 'HEAD' }), true],
      ['OPTIONS', fetch(`${url}/api/health`, { method: 'OPTIONS' }), true],
      ['admin UI', fetch(`${url}/_/`), false],
      ['admin UI redirect', fetch(`${url}/_`, { redirect: 'manual' }), false],
      ['404 page', fetch(`${url}/nope`), false],
      ['docs', fetch(`${url}/api/docs`), true],
      ['openapi.json', fetch(`${url}/api/docs/openapi.json`), true],
    ];
    for (const [what, answer, isApi] of answers) expectSecurityHeaders(await answer, what, isApi);
    // 429 and 503 too.
    for (let i = 0; i < 6; i++) await api(url, AUTH_PATH, { json: { identity: EMAIL, password: `wrong ${i}` } });
    const limited = await api(url, AUTH_PATH, { json: { identity: EMAIL, password: 'wrong' } });
    expect(limited.status).toBe(429);
    expectSecurityHeaders(limited, '429');
    await app.jobs.close();
    const closed = await api(url, '/api/jobs/stats', { token });
    expect(closed.status).toBe(503);
    expectSecurityHeaders(closed, '503');
  });

  it('requests the HTTP parser refuses still get the error shape (431, 400)', async () => {
    const { url } = await fx.start();
    const answers = [
      await rawExchange(url, `GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
      await rawExchange(url, 'GET /api/health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'),
      await rawExchange(url, 'NOT A REQUEST\r\n\r\n'),
      await rawExchange(url, `POST ${AUTH_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`),
      await rawExchange(url, `POST ${AUTH_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}`),
    ];
    expect(answers.map((a) => a.split('\r\n')[0])).toEqual([
      'HTTP/1.1 431 Request Header Fields Too Large',
      'HTTP/1.1 400 Bad Request',
      'HTTP/1.1 400 Bad Request',
      'HTTP/1.1 400 Bad Request',
      'HTTP/1.1 400 Bad Request',
    ]);
    for (const answer of answers) {
      const [head, body] = answer.split('\r\n\r\n');
      expect(head).toMatch(/content-type: application\/json/i);
      expect(head).toMatch(/x-content-type-options: nosniff/i);
      const parsed = JSON.parse(body!);
      expect(Object.keys(parsed).sort()).toEqual(['data', 'message', 'status']);
      expect(String(parsed.status)).toBe(answer.split(' ')[1]);
    }
    expect((await api(url, '/api/health')).status).toBe(200);
  });

  it('CORS is off unless origins are configured; then only those origins get it', async () => {
    const closed = await fx.startSignedIn();
    const evil = { origin: 'https://evil.example' };
    const plain = await api(closed.url, '/api/health', { headers: evil });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${closed.url}/api/jobs/enqueue`, {
      method: 'OPTIONS',
      headers: { ...evil, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
    expect(preflight.status).toBeGreaterThanOrEqual(400);

    const admin = 'https://admin.example.com';
    const open = await fx.start({ corsOrigins: [admin] });
    await upsertSuperuser(open.app.jobs.store, EMAIL, PASSWORD);
    const allowed = await fetch(`${open.url}/api/jobs/enqueue`, {
      method: 'OPTIONS',
      headers: { origin: admin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(admin);
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    expect(allowed.headers.get('vary')).toMatch(/origin/i);
    const token = await login(open.url);
    const call = await api(open.url, '/api/jobs/stats', { token, headers: { origin: admin } });
    expect(call.status).toBe(200);
    expect(call.headers.get('access-control-allow-origin')).toBe(admin);
    const other = await api(open.url, '/api/jobs/stats', { token, headers: evil });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const otherPreflight = await fetch(`${open.url}/api/jobs/stats`, { method: 'OPTIONS', headers: { ...evil, 'access-control-request-method': 'GET' } });
    expect(otherPreflight.headers.get('access-control-allow-origin')).toBeNull();

    const any = await fx.start({ corsOrigins: ['*'] });
    expect((await api(any.url, '/api/health', { headers: evil })).headers.get('access-control-allow-origin')).toBe('*');
    for (const bad of [['https://admin.example.com/'], ['admin.example.com'], ['https://a.example/path'], 'https://a.example' as unknown as string[]]) {
      await expect(createApp({ database: fx.db.url, corsOrigins: bad })).rejects.toThrow(/corsOrigins/);
    }
  });

  it('JOBBASE_CORS_ORIGINS configures the CLI server', async () => {
    const admin = 'https://admin.example.com';
    const child = spawn(process.execPath, [CLI, 'serve', '--http', '127.0.0.1:0', '--db', fx.db.url], {
      env: { ...process.env, JOBBASE_LOG_LEVEL: 'silent', JOBBASE_CORS_ORIGINS: `${admin}, https://other.example.com` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      child.stdout.on('data', (c) => (output += String(c)));
      child.stderr.on('data', (c) => (output += String(c)));
      const origin = await waitFor('the server to start', () => /started at (http:\/\/\S+)/.exec(output)?.[1]);
      const res = await api(origin, '/api/health', { headers: { origin: admin } });
      expect(res.headers.get('access-control-allow-origin')).toBe(admin);
      expect((await api(origin, '/api/health', { headers: { origin: 'https://evil.example' } })).headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  const enqueueRaw = (url: string, token: string, json: unknown) => api(url, '/api/jobs/enqueue', { token, raw: JSON.stringify(json) });

  it('a topic comes back exactly as sent: one with a lone surrogate or NUL is refused (400), not altered', async () => {
    const { url, token } = await fx.startSignedIn();
    for (const topic of ['x\ud800', '\udfffy', 'a\u0000b']) expectError(await enqueueRaw(url, token, { topic }), 400, ['topic']);
    expect((await api(url, '/api/jobs/stats', { token })).body.total).toBe(0);
  });

  it('a payload with lone surrogates or NUL is stored exactly or refused (400), never a 500', async () => {
    const { url, token } = await fx.startSignedIn();
    let stored = 0;
    for (const payload of ['\ud800', { k: 'x\udfff' }, { '\ud800': 1 }, 'a\u0000b']) {
      const res = await enqueueRaw(url, token, { topic: 't', payload });
      if (res.status === 200) {
        stored++;
        expect(res.body.payload, JSON.stringify(payload)).toEqual(payload);
        expect((await api(url, `/api/jobs/${res.body.id}`, { token })).body.payload).toEqual(payload);
      } else expectError(res, 400, ['payload']);
    }
    // A refused request stored nothing.
    expect((await api(url, '/api/jobs/stats', { token })).body.total).toBe(stored);
  });

  it('run_at in years 0 to 999 is stored exactly or refused (400): never another date, never a 500', async () => {
    const { url, token } = await fx.startSignedIn();
    let stored = 0;
    for (const runAt of ['0000-01-01T00:00:00.000Z', '0001-01-01T00:00:00.000Z', '0017-10-13T23:19:52.525Z', '0099-12-31T00:00:00.000Z', '0999-06-15T12:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
      const res = await enqueueRaw(url, token, { topic: 'dated', run_at: runAt });
      if (res.status === 200) {
        stored++;
        expect(res.body.run_at).toBe(runAt);
        expect((await api(url, `/api/jobs/${res.body.id}`, { token })).body.run_at).toBe(runAt);
      } else expectError(res, 400, ['run_at']);
    }
    // Whatever was accepted, the list still answers, and a refused request stored nothing.
    const page = await api(url, '/api/jobs?topic=dated&limit=500', { token });
    expect(page.status, page.text).toBe(200);
    expect(page.body.total).toBe(stored);
  });
});
