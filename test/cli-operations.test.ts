import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { openStore, rawQuery } from '@jobbase/server/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, dialects, type TestDatabase } from './helpers/databases.js';
import { freePort } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';

const CLI = fileURLToPath(new URL('../server/dist/cli.js', import.meta.url));
const DAY = 86_400_000;

/** `jobbase serve` with no JOBBASE_ setting from the developer's shell but those given. */
function serve(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('JOBBASE_')));
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { env: { ...clean, JOBBASE_LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += String(chunk)));
  child.stderr!.on('data', (chunk) => (output += String(chunk)));
  return { child, output: () => output, exit: once(child, 'exit') };
}

/**
 * `serve`'s operations settings (issue 18): retention of finished jobs (defaults 7 d completed,
 * 30 d failed and cancelled; 0 keeps for ever; flags and env), stated in the banner and applied, and the
 * metrics token.
 */
describe.each(dialects())('jobbase serve: retention and the metrics token on %s', (dialect) => {
  let db: TestDatabase;
  const running: ChildProcess[] = [];
  beforeEach(async () => {
    db = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    for (const child of running.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
    await db.drop();
  });

  async function started(args: string[], env: Record<string, string> = {}) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const cli = serve(['--http', `127.0.0.1:${port}`, '--db', db.url, ...args], env);
    running.push(cli.child);
    await waitFor(`the banner of ${url}`, () => cli.output().includes('Finished jobs:') || cli.child.exitCode !== null);
    expect(cli.child.exitCode, cli.output()).toBeNull();
    return { ...cli, url };
  }

  /** Finished jobs last updated `days` ago, through the store as an earlier run would have left them. */
  async function finishedJobs(days: number) {
    const store = await openStore(db.url);
    try {
      const when = new Date(Date.now() - days * DAY).toISOString();
      const ids: Record<string, string> = {};
      for (const status of ['completed', 'failed', 'cancelled'] as const) {
        const id = `0190000${{ completed: '1', failed: '2', cancelled: '3' }[status]}-0000-7000-8000-${String(days).padStart(12, '0')}`;
        await rawQuery(
          store,
          `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, created, updated) values (?, 'old', '{}', ?, ?, 0, 3, ?, ?)`,
          [id, status, when, when, when],
        );
        ids[status] = id;
      }
      return ids;
    } finally {
      await store.close();
    }
  }

  async function remaining(): Promise<string[]> {
    const store = await openStore(db.url);
    try {
      return (await rawQuery<{ id: string; status: string }>(store, 'select id, status from jobs order by id')).map((r) => `${r.status} ${r.id}`);
    } finally {
      await store.close();
    }
  }

  it('keeps completed jobs 7 days, failed and cancelled ones 30 days by default, says so, and deletes older ones', async () => {
    const old = await finishedJobs(8);
    await finishedJobs(31);
    const cli = await started([]);
    expect(cli.output()).toContain('Finished jobs: completed 7 d, failed 30 d, cancelled 30 d (--keep-completed, --keep-failed, --keep-cancelled)');
    // The first cleaning pass runs at start: 8 days old completed goes, 8 days old failed and cancelled stay.
    await waitFor('the old jobs to go', async () => (await remaining()).length === 2);
    expect(await remaining()).toEqual([`failed ${old.failed}`, `cancelled ${old.cancelled}`]);
  });

  it('takes durations from flags and env, 0 keeping for ever, and a metrics token that reads /api/metrics', async () => {
    const old = await finishedJobs(2);
    const cli = await started(['--keep-completed', '0', '--keep-cancelled', '0'], { JOBBASE_KEEP_FAILED: '1d', JOBBASE_METRICS_TOKEN: 'scraper-token-0123456789' });
    expect(cli.output()).toContain('Finished jobs: completed kept for ever, failed 1 d, cancelled kept for ever');
    await waitFor('the old failed job to go', async () => (await remaining()).length === 2);
    expect(await remaining()).toEqual([`completed ${old.completed}`, `cancelled ${old.cancelled}`]);
    const metrics = await fetch(`${cli.url}/api/metrics`, { headers: { authorization: 'Bearer scraper-token-0123456789' } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('jobbase_jobs{topic="old",status="completed"} 1');
    expect((await fetch(`${cli.url}/api/metrics`, { headers: { authorization: 'Bearer another-token-0123456789' } })).status).toBe(401);
  });

  it('takes the cancelled jobs’ retention from JOBBASE_KEEP_CANCELLED', async () => {
    const old = await finishedJobs(2);
    const cli = await started([], { JOBBASE_KEEP_CANCELLED: '36h' });
    expect(cli.output()).toContain('Finished jobs: completed 7 d, failed 30 d, cancelled 36 h');
    await waitFor('the old cancelled job to go', async () => (await remaining()).length === 2);
    expect(await remaining()).toEqual([`completed ${old.completed}`, `failed ${old.failed}`]);
  });

  it('refuses a duration it cannot read, naming the setting', async () => {
    const cli = serve(['--db', db.url, '--keep-failed', 'a month']);
    running.push(cli.child);
    const [code] = await cli.exit;
    expect(code).not.toBe(0);
    expect(cli.output()).toContain("option '--keep-failed <duration>' argument 'a month' is invalid");
  });
});
