import { rawQuery } from '@jobbase/server/testing';
import { randomBytes } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import PocketBase from 'pocketbase';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobs, upsertSuperuser } from '@jobbase/server';
import { AppFixture, EMAIL, PASSWORD, api, expectError, login } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { capturedLogger } from './helpers/logs.js';
import { waitFor } from './helpers/wait.js';

const AUTH_PATH = '/api/collections/_superusers/auth-with-password';
const REFRESH_PATH = '/api/collections/_superusers/auth-refresh';
const UNAUTHORIZED = { status: 401, message: 'The request requires valid record authorization token.', data: {} };

/** 200 from an authenticated route, or the status it got. */
async function statsStatus(url: string, token: string): Promise<number> {
  return (await api(url, '/api/jobs/stats', { token })).status;
}

describe.each(dialects())('superuser auth on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('signs in with email and password: a token and the record, PocketBase-shaped', async () => {
    const { url } = await fx.startSignedIn();
    const res = await api(url, AUTH_PATH, { json: { identity: EMAIL, password: PASSWORD } });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['record', 'token']);
    expect(Object.keys(res.body.record).sort()).toEqual(['collectionId', 'collectionName', 'created', 'email', 'id', 'updated']);
    expect(res.body.record).toMatchObject({ collectionName: '_superusers', email: EMAIL });
    expect(res.body.token.split('.')).toHaveLength(3);

    const claims = decodeJwt(res.body.token);
    expect(claims).toMatchObject({ id: res.body.record.id, type: 'auth', collectionId: res.body.record.collectionId });
    // Default lifetime: 24 h.
    expect(claims.exp! - claims.iat!).toBeGreaterThanOrEqual(24 * 3600 - 1);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(24 * 3600);

    expect(await statsStatus(url, res.body.token)).toBe(200);
    expect(await statsStatus(url, `Bearer ${res.body.token}`)).toBe(200);
    expect(await statsStatus(url, `bearer ${res.body.token}`)).toBe(200);
  });

  it('emails compare case-insensitively', async () => {
    const { url } = await fx.startSignedIn();
    expect(await statsStatus(url, await login(url, EMAIL.toUpperCase()))).toBe(200);
  });

  it('wrong password and unknown email: the same 400 "Failed to authenticate."', async () => {
    const { url } = await fx.startSignedIn();
    for (const json of [
      { identity: EMAIL, password: 'wrong password' },
      { identity: 'nobody@example.com', password: PASSWORD },
    ]) {
      const res = await api(url, AUTH_PATH, { json });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ status: 400, message: 'Failed to authenticate.', data: {} });
    }
  });

  it('a sign-in without identity or password is a 400 naming the field', async () => {
    const { url } = await fx.startSignedIn();
    expectError(await api(url, AUTH_PATH, { json: { password: PASSWORD } }), 400, ['identity']);
    expectError(await api(url, AUTH_PATH, { json: { identity: EMAIL, password: '' } }), 400, ['password']);
    expectError(await api(url, AUTH_PATH, { json: {} }), 400, ['identity', 'password']);
  });

  it('stores the password hashed with scrypt', async () => {
    const { app } = await fx.startSignedIn();
    const rows = await rawQuery(app.jobs.store, 'select password_hash from superusers where email = ?', [EMAIL]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.password_hash).toMatch(/^scrypt\$/);
    expect(rows[0]!.password_hash).not.toContain(PASSWORD);
  });

  it('refuses tokens signed with another secret, tampered, unsigned or malformed (401)', async () => {
    const { url, token } = await fx.startSignedIn();
    const claims = decodeJwt(token);
    const otherSecret = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new Uint8Array(randomBytes(32)));
    const [header, , signature] = token.split('.');
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp! + 3600 })).toString('base64url')}.${signature}`;
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${token.split('.')[1]}.`;
    for (const bad of [otherSecret, tampered, unsigned, `${token}x`, token.slice(0, -2), 'x'.repeat(5000)]) {
      const res = await api(url, '/api/jobs/stats', { token: bad });
      expect(res.body).toEqual(UNAUTHORIZED);
    }
    expect(await statsStatus(url, token)).toBe(200);
  });

  it('an expired token is refused (401)', async () => {
    const { url } = await fx.startSignedIn({ tokenDuration: 1 });
    const token = await login(url);
    await waitFor('the token to expire', async () => (await statsStatus(url, token)) === 401);
    expect((await api(url, '/api/jobs/stats', { token })).body).toEqual(UNAUTHORIZED);
  });

  it('a token that worked is refused (401) once it expires', async () => {
    // Expires 1–2 s from now (exp is in whole seconds, rounded down): long enough to work first.
    const { url } = await fx.startSignedIn({ tokenDuration: 2000 });
    const token = await login(url);
    expect(await statsStatus(url, token)).toBe(200);
    await waitFor('the token to expire', async () => (await statsStatus(url, token)) === 401);
  });

  it('a new password revokes the old tokens; the same password keeps them', async () => {
    const { app, url, token } = await fx.startSignedIn();
    expect(await upsertSuperuser(app.jobs.store, EMAIL, PASSWORD)).toBe('unchanged');
    expect(await statsStatus(url, token)).toBe(200);

    expect(await upsertSuperuser(app.jobs.store, EMAIL, 'a brand new password')).toBe('updated');
    expect(await statsStatus(url, token)).toBe(401);
    expect((await api(url, AUTH_PATH, { json: { identity: EMAIL, password: PASSWORD } })).status).toBe(400);
    expect(await statsStatus(url, await login(url, EMAIL, 'a brand new password'))).toBe(200);
  });

  it("a deleted superuser's token is refused (401)", async () => {
    const { app, url, token } = await fx.startSignedIn();
    await rawQuery(app.jobs.store, 'delete from superusers where email = ?', [EMAIL]);
    expect(await statsStatus(url, token)).toBe(401);
  });

  it('upsertSuperuser refuses a bad email or a short password', async () => {
    const { app } = await fx.start();
    await expect(upsertSuperuser(app.jobs.store, 'not an email', PASSWORD)).rejects.toMatchObject({ code: 'validation' });
    await expect(upsertSuperuser(app.jobs.store, EMAIL, 'short')).rejects.toMatchObject({ code: 'validation' });
  });

  it('auth-refresh: a valid token gets a new token and the same record, PocketBase-shaped', async () => {
    const { url } = await fx.startSignedIn();
    const signIn = await api(url, AUTH_PATH, { json: { identity: EMAIL, password: PASSWORD } });
    for (const token of [signIn.body.token, `Bearer ${signIn.body.token}`]) {
      const res = await api(url, REFRESH_PATH, { method: 'POST', token });
      expect(res.status, res.text).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['record', 'token']);
      expect(res.body.record).toEqual(signIn.body.record);
      const before = decodeJwt(signIn.body.token);
      const after = decodeJwt(res.body.token);
      expect(after).toMatchObject({ id: before.id, sub: before.sub, type: 'auth', collectionId: before.collectionId });
      expect(after.exp!).toBeGreaterThanOrEqual(before.exp!);
      expect(await statsStatus(url, res.body.token)).toBe(200);
    }
  });

  it('auth-refresh: no token, a bad, expired or revoked one is 401', async () => {
    const { app, url, token } = await fx.startSignedIn();
    for (const bad of [undefined, '', `${token}x`, 'Bearer ', 'x'.repeat(5000)]) {
      const res = await api(url, REFRESH_PATH, { method: 'POST', token: bad });
      expect(res.body, String(bad)).toEqual(UNAUTHORIZED);
    }
    expect(await upsertSuperuser(app.jobs.store, EMAIL, 'a brand new password')).toBe('updated');
    expect((await api(url, REFRESH_PATH, { method: 'POST', token })).body).toEqual(UNAUTHORIZED);

    const short = await fx.start({ tokenDuration: 1 });
    const expiring = await login(short.url, EMAIL, 'a brand new password');
    await waitFor('the token to expire', async () => (await statsStatus(short.url, expiring)) === 401);
    expect((await api(short.url, REFRESH_PATH, { method: 'POST', token: expiring })).body).toEqual(UNAUTHORIZED);
  });

  it('the pocketbase JS SDK refreshes its token (authRefresh)', async () => {
    const { url } = await fx.startSignedIn();
    const pb = new PocketBase(url);
    const signIn = await pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
    const refreshed = await pb.collection('_superusers').authRefresh();
    expect(refreshed.record).toMatchObject({ id: signIn.record.id, email: EMAIL, collectionName: '_superusers' });
    expect(pb.authStore.token).toBe(refreshed.token);
    expect(pb.authStore.isValid).toBe(true);
    await expect(pb.send('/api/jobs/stats', {})).resolves.toMatchObject({ total: 0 });

    pb.authStore.clear();
    await expect(pb.collection('_superusers').authRefresh()).rejects.toMatchObject({ status: 401 });
  });

  it('limits failed sign-ins per address: the 6th attempt within a minute is 429, even with the right password', async () => {
    const { url } = await fx.startSignedIn();
    for (let i = 0; i < 4; i++) {
      expect((await api(url, AUTH_PATH, { json: { identity: EMAIL, password: `wrong ${i}` } })).status).toBe(400);
    }
    // startSignedIn's own sign-in succeeded, which cleared the count: these are 4 of 5.
    expect((await api(url, AUTH_PATH, { json: { identity: EMAIL, password: 'wrong 4' } })).status).toBe(400);
    for (const password of ['wrong 5', PASSWORD]) {
      const res = await api(url, AUTH_PATH, { json: { identity: EMAIL, password } });
      expectError(res, 429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    }
  });

  it('parallel guesses cannot slip past the limit', async () => {
    const { url } = await fx.startSignedIn();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => api(url, AUTH_PATH, { json: { identity: EMAIL, password: `guess ${i}` } })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 400)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
  });

  it('tokens survive a restart of the app on the same database', async () => {
    const first = await fx.startSignedIn();
    await first.app.close();
    const second = await fx.start();
    expect(await statsStatus(second.url, first.token)).toBe(200);
  });

  it('two apps starting at once on one database share one signing secret', async () => {
    // Migrate first: the race under test is the secret's, not the schema's.
    await (await createJobs({ database: fx.db.url })).close();
    const [a, b] = await Promise.all([fx.start(), fx.start()]);
    await upsertSuperuser(a.app.jobs.store, EMAIL, PASSWORD);
    expect(await statsStatus(b.url, await login(a.url))).toBe(200);
    expect(await statsStatus(a.url, await login(b.url))).toBe(200);
    const rows = await rawQuery(a.app.jobs.store, 'select key from settings', []);
    expect(rows).toHaveLength(1);
  });

  it('the pocketbase JS SDK signs in and enqueues', async () => {
    const { url } = await fx.startSignedIn();
    const pb = new PocketBase(url);
    const auth = await pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
    expect(auth.record).toMatchObject({ email: EMAIL, collectionName: '_superusers' });
    expect(pb.authStore.isValid).toBe(true);
    const job = await pb.send('/api/jobs/enqueue', { method: 'POST', body: { topic: 'from_sdk', payload: { n: 1 } } });
    expect(job).toMatchObject({ topic: 'from_sdk', payload: { n: 1 }, status: 'pending' });
    const page = await pb.send('/api/jobs', { query: { topic: 'from_sdk' } });
    expect(page.total).toBe(1);

    pb.authStore.clear();
    await expect(pb.send('/api/jobs/stats', {})).rejects.toMatchObject({ status: 401 });
    await expect(pb.collection('_superusers').authWithPassword(EMAIL, 'wrong password')).rejects.toMatchObject({
      status: 400,
      response: { message: 'Failed to authenticate.' },
    });
  });

  it('logs each request without headers, tokens, passwords or payloads', async () => {
    const { logger, output } = capturedLogger();
    const { url, token } = await fx.startSignedIn({ logger });
    await api(url, AUTH_PATH, { json: { identity: EMAIL, password: 'wrong-password-marker' } });
    await api(url, '/api/jobs/enqueue', { token, json: { topic: 'logged', payload: { secret: 'payload-marker' } } });
    await api(url, '/api/jobs/enqueue', { token, raw: '{"payload": "malformed-marker' });
    await api(url, '/api/jobs/stats', { token: `Bearer ${token}` });

    const lines = output().trim().split('\n').map((line) => JSON.parse(line));
    const requests = lines.filter((l) => l.req);
    expect(requests.map((l) => `${l.req.method} ${l.req.url} ${l.res.statusCode}`)).toEqual(
      expect.arrayContaining([
        `POST ${AUTH_PATH} 400`,
        'POST /api/jobs/enqueue 200',
        'POST /api/jobs/enqueue 400',
        'GET /api/jobs/stats 200',
      ]),
    );
    for (const secret of [PASSWORD, 'wrong-password-marker', token, token.split('.')[2]!, 'payload-marker', 'malformed-marker']) {
      expect(output()).not.toContain(secret);
    }
    expect(output().toLowerCase()).not.toContain('authorization');
    expect(output().toLowerCase()).not.toContain('cookie');
  });
});
