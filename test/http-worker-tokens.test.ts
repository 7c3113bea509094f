import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkerTokens } from '@jobbase/server';
import { AppFixture, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';

const UNKNOWN_ID = '0194455b-5100-7c3a-9f2e-4b8d1a6e0c57';

/** How the server stores a worker token (SHA-256, hex), written out here so the test does not trust the server's own. */
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Managing remote workers' tokens over HTTP (`/api/worker-tokens`), as `jobbase token` does from a shell. */
describe.each(dialects())('worker tokens over HTTP on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('create answers the secret once; the token claims its topics only; the list never shows a secret or a hash', async () => {
    const { url, token, app } = await fx.startSignedIn();
    const created = await api(url, '/api/worker-tokens', { token, json: { name: 'resizer', topics: ['img', 'img', 'thumb'] } });
    expect(created.status, created.text).toBe(201);
    const { token: secret, ...record } = created.body;
    expect(secret).toMatch(/^jbw_[\w-]{43}$/);
    // Repeated topics are kept once.
    expect(record).toEqual({ id: expect.any(String), name: 'resizer', role: 'worker', topics: ['img', 'thumb'], created: expect.any(String) });
    expect(Math.abs(Date.parse(record.created) - Date.now())).toBeLessThan(60_000);
    // Stored as its hash, as the CLI's are: the same class made it.
    expect(await app.jobs.store.workerTokenByHash(sha256(secret))).toMatchObject({ id: record.id, name: 'resizer' });

    const job = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'img' } });
    const claimed = await api(url, '/api/workers/claim', { token: `Bearer ${secret}`, json: { topics: ['img'] } });
    expect(claimed.status, claimed.text).toBe(200);
    expect(claimed.body.items.map((j: { id: string }) => j.id)).toEqual([job.body.id]);
    expectError(await api(url, '/api/workers/claim', { token: secret, json: { topics: ['mail'] } }), 403, ['topic']);

    const every = await api(url, '/api/worker-tokens', { token, json: {} });
    expect(every.status, every.text).toBe(201);
    expect(every.body).toMatchObject({ name: expect.stringMatching(/^worker-\d{4}-/), topics: null });
    expect((await api(url, '/api/workers/claim', { token: every.body.token, json: { topics: ['anything'] } })).status).toBe(200);
    // null says "every topic" too, as the list answers it.
    expect((await api(url, '/api/worker-tokens', { token, json: { name: 'all', topics: null } })).body.topics).toBeNull();

    const list = await api(url, '/api/worker-tokens', { token });
    expect(list.status, list.text).toBe(200);
    expect(list.body.items.map((t: { name: string }) => t.name)).toEqual(['resizer', every.body.name, 'all']);
    expect(list.body.items[0]).toEqual(record);
    for (const item of list.body.items) expect(Object.keys(item).sort()).toEqual(['created', 'id', 'name', 'role', 'topics']);
    for (const t of [secret, every.body.token]) {
      expect(list.text).not.toContain(t);
      expect(list.text).not.toContain(sha256(t));
    }
    // The CLI's class sees what the routes made, and the routes what it makes.
    const tokens = new WorkerTokens(app.jobs.store);
    expect((await tokens.list()).map((t) => t.id)).toEqual(list.body.items.map((t: { id: string }) => t.id));
    await tokens.create({ name: 'from-cli' });
    expect((await api(url, '/api/worker-tokens', { token })).body.items.map((t: { name: string }) => t.name)).toContain('from-cli');
  });

  it('revoke by id: the token’s next request is a 401, the other tokens still work, and a second revoke is a 404', async () => {
    const { url, token } = await fx.startSignedIn();
    const doomed = (await api(url, '/api/worker-tokens', { token, json: { name: 'doomed', topics: ['img'] } })).body;
    const kept = (await api(url, '/api/worker-tokens', { token, json: { name: 'kept', topics: ['img'] } })).body;
    expect((await api(url, '/api/workers/claim', { token: doomed.token, json: { topics: ['img'] } })).status).toBe(200);

    const revoked = await api(url, `/api/worker-tokens/${doomed.id}`, { token, method: 'DELETE' });
    expect(revoked.status, revoked.text).toBe(204);
    expect(revoked.text).toBe('');
    expectError(await api(url, '/api/workers/claim', { token: doomed.token, json: { topics: ['img'] } }), 401);
    expect((await api(url, '/api/workers/claim', { token: kept.token, json: { topics: ['img'] } })).status).toBe(200);
    expect((await api(url, '/api/worker-tokens', { token })).body.items.map((t: { id: string }) => t.id)).toEqual([kept.id]);

    expectError(await api(url, `/api/worker-tokens/${doomed.id}`, { token, method: 'DELETE' }), 404);
    expectError(await api(url, `/api/worker-tokens/${UNKNOWN_ID}`, { token, method: 'DELETE' }), 404);
    // By id only: a name (which the CLI's revoke takes) is no id here, and revokes nothing.
    expectError(await api(url, '/api/worker-tokens/kept', { token, method: 'DELETE' }), 404);
    // Text no database column holds is no id either: a 404, not a database error.
    expectError(await api(url, '/api/worker-tokens/a%00b', { token, method: 'DELETE' }), 404);
    expect((await api(url, '/api/workers/claim', { token: kept.token, json: { topics: ['img'] } })).status).toBe(200);
  });

  it('superusers only: a worker token is a 403, no token or a bad one a 401', async () => {
    // (Anything shaped like a worker token is a 403 on a superuser's route, known or not: require-worker.ts.)
    const { url, token } = await fx.startSignedIn();
    const worker = (await api(url, '/api/worker-tokens', { token, json: { name: 'w' } })).body;
    const routes = [
      ['GET', '/api/worker-tokens', undefined],
      ['POST', '/api/worker-tokens', { name: 'escalated' }],
      ['DELETE', `/api/worker-tokens/${worker.id}`, undefined],
    ] as const;
    for (const [method, path, json] of routes) {
      const refused = await api(url, path, { token: `Bearer ${worker.token}`, method, json });
      expectError(refused, 403);
      expect(refused.body.message).toMatch(/worker token may only claim, heartbeat and finish jobs/);
      for (const bad of [undefined, 'garbage']) expectError(await api(url, path, { token: bad, method, json }), 401);
    }
    // None of those made, listed away or revoked anything.
    const names = (await api(url, '/api/worker-tokens', { token })).body.items.map((t: { name: string }) => t.name);
    expect(names).toEqual(['w']);
    expect((await api(url, '/api/workers/claim', { token: worker.token, json: { topics: ['a'] } })).status).toBe(200);
  });

  it('bad input is a 400 naming the field, and nothing is made', async () => {
    const { url, token } = await fx.startSignedIn();
    const cases: [unknown, string][] = [
      [{ name: '' }, 'name'],
      [{ name: 'x'.repeat(256) }, 'name'],
      [{ name: 42 }, 'name'],
      [{ name: 'a\u0000b' }, 'name'],
      [{ topics: [] }, 'topics'],
      [{ topics: 'img' }, 'topics'],
      [{ topics: ['img', ''] }, 'topics.1'],
      [{ topics: ['t'.repeat(256)] }, 'topics.0'],
      [{ topics: Array.from({ length: 101 }, (_, n) => `t${n}`) }, 'topics'],
      [{ name: 'ok', role: 'superuser' }, 'role'],
    ];
    for (const [json, field] of cases) {
      const res = await api(url, '/api/worker-tokens', { token, json });
      expectError(res, 400, [field]);
      expect(res.text).not.toContain('jbw_');
    }
    expect((await api(url, '/api/worker-tokens', { token, json: { name: 'x'.repeat(255) } })).status).toBe(201);
    expectError(await api(url, '/api/worker-tokens', { token, raw: '{"name": ' }), 400);
    expectError(await api(url, '/api/worker-tokens', { token, raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415);
    expect((await api(url, '/api/worker-tokens', { token })).body.items.map((t: { name: string }) => t.name.length)).toEqual([255]);
  });
});
