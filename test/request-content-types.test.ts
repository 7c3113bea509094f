import PocketBase from 'pocketbase';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture, EMAIL, PASSWORD, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';

const AUTH_PATH = '/api/collections/_superusers/auth-with-password';
const UNKNOWN_ID = '01900000-0000-7000-8000-000000000000';
const NOT_JSON = { status: 415, message: 'Send the body as JSON with Content-Type: application/json.', data: {} };

/** What curl sends for `-d`, and what a hand-written request often forgets to change. */
const OTHER_TYPES = ['application/x-www-form-urlencoded', 'text/plain', 'text/plain; charset=utf-8', 'application/xml'];

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

function multipart(fields: Record<string, string | Blob>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  return data;
}

async function postForm(url: string, path: string, body: FormData): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(url + path, { method: 'POST', body });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text };
}

describe.each(dialects())('request content types on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('jobs routes: a JSON body sent under another content type is a 415 saying so, and nothing is stored', async () => {
    const { url, token } = await fx.startSignedIn();
    const raw = JSON.stringify({ topic: 'send_email', payload: { to: 'a@example.com' } });
    for (const type of OTHER_TYPES) {
      const res = await api(url, '/api/jobs/enqueue', { token, raw, headers: { 'content-type': type } });
      expectError(res, 415);
      expect(res.body).toEqual(NOT_JSON);
      const batch = await api(url, '/api/jobs/enqueue/batch', { token, raw: `{"jobs":[${raw}]}`, headers: { 'content-type': type } });
      expect(batch.body).toEqual(NOT_JSON);
    }
    // No content type at all.
    const untyped = await fetch(`${url}/api/jobs/enqueue`, { method: 'POST', headers: { authorization: token }, body: new Uint8Array(Buffer.from(raw)) });
    expect(untyped.status).toBe(415);
    expect(await untyped.json()).toEqual(NOT_JSON);

    expect((await api(url, '/api/jobs/stats', { token })).body.total).toBe(0);
    const typed = await api(url, '/api/jobs/enqueue', { token, raw, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(typed.status, typed.text).toBe(200);
  });

  it('jobs routes: requests without a body are unaffected, whatever their content type', async () => {
    const { url, token } = await fx.startSignedIn();
    const typesWithoutBodies: Record<string, string>[] = [{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }];
    for (const headers of typesWithoutBodies) {
      expectError(await api(url, `/api/jobs/${UNKNOWN_ID}/requeue`, { token, method: 'POST', headers }), 404);
      expectError(await api(url, `/api/jobs/${UNKNOWN_ID}`, { token, method: 'DELETE', headers }), 404);
      expect((await api(url, '/api/jobs?topic=t', { token, headers })).status).toBe(200);
    }
  });

  it('jobs routes: without a token the answer is 401, not 415', async () => {
    const { url } = await fx.start();
    expectError(await api(url, '/api/jobs/enqueue', { raw: 'topic=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 401);
  });

  it('sign-in takes JSON, form-encoded and multipart bodies, as PocketBase does', async () => {
    const { url } = await fx.startSignedIn();
    const urlencoded = await api(url, AUTH_PATH, {
      raw: form({ identity: EMAIL, password: PASSWORD }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(urlencoded.status, urlencoded.text).toBe(200);
    expect(urlencoded.body.record).toMatchObject({ email: EMAIL });
    expect((await api(url, '/api/jobs/stats', { token: urlencoded.body.token })).status).toBe(200);

    const formData = await postForm(url, AUTH_PATH, multipart({ identity: EMAIL, password: PASSWORD }));
    expect(formData.status, formData.text).toBe(200);
    expect(formData.body.record).toMatchObject({ email: EMAIL });

    // Wrong and missing fields answer as they do in JSON.
    const wrong = await api(url, AUTH_PATH, { raw: form({ identity: EMAIL, password: 'wrong password' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(wrong.body).toEqual({ status: 400, message: 'Failed to authenticate.', data: {} });
    expectError(await api(url, AUTH_PATH, { raw: form({ identity: EMAIL }), headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 400, ['password']);
    const missing = await postForm(url, AUTH_PATH, multipart({ password: PASSWORD }));
    expect(missing.status).toBe(400);
    expect(Object.keys(missing.body.data)).toEqual(['identity']);
    // A file where the identity should be is no identity.
    const file = await postForm(url, AUTH_PATH, multipart({ identity: new Blob([EMAIL]), password: PASSWORD }));
    expect(file.status).toBe(400);
    expect(Object.keys(file.body.data)).toEqual(['identity']);
  });

  it('sign-in: other content types are a 415; broken or oversized forms a 4xx in the error shape', async () => {
    const { url } = await fx.startSignedIn();
    const json = JSON.stringify({ identity: EMAIL, password: PASSWORD });
    for (const type of ['text/plain', 'application/xml']) {
      const res = await api(url, AUTH_PATH, { raw: json, headers: { 'content-type': type } });
      expectError(res, 415);
      expect(res.body.message).toBe('Send the body as JSON, form-urlencoded or multipart/form-data.');
    }
    const big = 'x'.repeat(17 * 1024);
    expectError(await api(url, AUTH_PATH, { raw: form({ identity: EMAIL, password: big }), headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 413);
    const bigForm = await postForm(url, AUTH_PATH, multipart({ identity: EMAIL, password: big }));
    expect(bigForm.status).toBe(413);
    const broken = await api(url, AUTH_PATH, { raw: '--x\r\nContent-Disposition: form-data; name="identity"\r\n\r\nv', headers: { 'content-type': 'multipart/form-data; boundary=x' } });
    expectError(broken, 400);
    expect(broken.body.message).toBe('The request body is not valid multipart/form-data.');
    const noBoundary = await api(url, AUTH_PATH, { raw: json, headers: { 'content-type': 'multipart/form-data' } });
    expectError(noBoundary, 400);
    expect((await api(url, AUTH_PATH, { json: { identity: EMAIL, password: PASSWORD } })).status).toBe(200);
  });

  it('the pocketbase JS SDK signs in with a FormData body', async () => {
    const { url } = await fx.startSignedIn();
    const pb = new PocketBase(url);
    const auth = await pb.send(AUTH_PATH, { method: 'POST', body: multipart({ identity: EMAIL, password: PASSWORD }) });
    expect(auth.record).toMatchObject({ email: EMAIL, collectionName: '_superusers' });
    pb.authStore.save(auth.token, auth.record);
    await expect(pb.send('/api/jobs/stats', {})).resolves.toMatchObject({ total: 0 });
  });
});
