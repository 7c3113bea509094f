import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { openStore, rawQuery } from '@jobbase/server/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture, api } from './helpers/app.js';
import { dialects } from './helpers/databases.js';

const CLI = fileURLToPath(new URL('../server/dist/cli.js', import.meta.url));

async function jobbase(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JOBBASE_'))), JOBBASE_LOG_LEVEL: 'silent' };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe.each(dialects())('jobbase token on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('create prints a token kept only hashed, that works on the worker routes of its topics; list shows it; revoke stops it', async () => {
    const made = await jobbase(['token', 'create', '--role', 'worker', '--topics', 'img, pdf', '--name', 'render', '--db', fx.db.url]);
    expect(made.code, made.stderr).toBe(0);
    const token = made.stdout.trim();
    expect(token).toMatch(/^jbw_[A-Za-z0-9_-]{43}$/);
    const store = await openStore(fx.db.url);
    try {
      const rows = await rawQuery(store, 'select name, topics, token_hash from worker_tokens');
      expect(rows).toEqual([{ name: 'render', topics: '["img","pdf"]', token_hash: createHash('sha256').update(token).digest('hex') }]);
    } finally {
      await store.close();
    }
    const listed = await jobbase(['token', 'list', '--db', fx.db.url]);
    expect(listed.stdout).toMatch(/render {2}worker {2}img,pdf/);
    expect(listed.stdout).not.toContain(token);

    const { url } = await fx.start();
    expect((await api(url, '/api/workers/claim', { token, json: { topics: ['img'] } })).status).toBe(200);
    expect((await api(url, '/api/workers/claim', { token, json: { topics: ['mail'] } })).status).toBe(403);

    const revoked = await jobbase(['token', 'revoke', 'render', '--db', fx.db.url]);
    expect(revoked).toMatchObject({ code: 0, stdout: 'Revoked 1 worker token.\n' });
    expect((await api(url, '/api/workers/claim', { token, json: { topics: ['img'] } })).status).toBe(401);
    const again = await jobbase(['token', 'revoke', 'render', '--db', fx.db.url]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('No worker token has the id or name render.');
    expect((await jobbase(['token', 'create', '--db', fx.db.url])).stderr).toMatch(/--role/);
    expect((await jobbase(['token', 'create', '--role', 'admin', '--db', fx.db.url])).stderr).toMatch(/worker/);
  });
});
