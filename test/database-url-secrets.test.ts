import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createJobs } from '@jobbase/server';
import { afterEach, describe, expect, it } from 'vitest';
import { unusedTestDatabase, postgresAvailable, type TestDatabase } from './helpers/databases.js';
import { waitFor } from './helpers/wait.js';
import { freePort } from './helpers/ports.js';

/**
 * A database URL may hold a password. `serve` printed it whole in its start hint
 * (`… --db 'postgres://postgres:S3cret@…'`), and a URL of another kind was quoted whole in the
 * error. Nothing the CLI prints or logs may hold it: the password shows as `***`.
 */

const CLI = fileURLToPath(new URL('../server/dist/cli.js', import.meta.url));
const SECRET = 'S3cret';

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, JOBBASE_LOG_LEVEL: 'trace', ...extra };
  for (const key of ['JOBBASE_DB', 'JOBBASE_HTTP', 'JOBBASE_SUPERUSER_EMAIL', 'JOBBASE_SUPERUSER_PASSWORD']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

/** Runs the CLI to its end; what it printed on stdout and stderr together. */
async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
}


/** `serve` until it has started, then SIGTERM; everything it printed (logs at trace level included). */
async function serveOnce(args: string[], env: Record<string, string> = {}): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--http', `127.0.0.1:${port}`, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const closed = once(child, 'close');
  await waitFor('serve to start', () => output.includes(`:${port}/_/`) || child.exitCode !== null);
  // A request, so the request log has something to say too.
  await fetch(`http://127.0.0.1:${port}/api/jobs/stats`).catch(() => undefined);
  child.kill('SIGTERM');
  await closed;
  return output;
}

/** `url` with `password` in it as the password. */
function withPassword(url: string, password = SECRET): string {
  const u = new URL(url);
  u.username ||= 'postgres';
  u.password = password;
  return u.toString();
}

describe('a database URL in what the CLI prints', () => {
  it('a URL of another kind is refused without quoting its password', async () => {
    for (const url of [`mysql://admin:${SECRET}@db.example/jobs`, `sqlite:mysql://admin:${SECRET}@db.example/jobs`]) {
      const result = await run(['migrate', '--db', url]);
      expect(result.code).toBe(1);
      expect(result.output).toContain(`Error: Unsupported database "${url.replace(SECRET, '***')}"`);
      expect(result.output).not.toContain(SECRET);
    }
  });

  it('the library refuses it the same way', async () => {
    await expect(createJobs({ database: `redis://:${SECRET}@cache.example:6379/0` })).rejects.toThrow(
      'Unsupported database "redis://:***@cache.example:6379/0": use sqlite:PATH or postgres://…',
    );
  });
});

describe.runIf(postgresAvailable())('a PostgreSQL URL with a password in what the CLI prints', () => {
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });

  it('serve (a new database, no superuser) and migrate print the URL with *** for the password, and log nothing of it', async () => {
    db = await unusedTestDatabase('postgres');
    const url = withPassword(db.url);
    const name = new URL(db.url).pathname.slice(1);

    const served = await serveOnce(['--db', url]);
    expect(served).toContain(`Created the PostgreSQL database ${name}.`);
    expect(served).toContain(`superuser upsert EMAIL PASSWORD --db '${url.replace(`:${SECRET}@`, ':***@')}'`);
    expect(served).not.toContain(SECRET);

    const fromEnv = await serveOnce([], { JOBBASE_DB: url });
    expect(fromEnv).toContain(':***@');
    expect(fromEnv).not.toContain(SECRET);

    const migrated = await run(['migrate', '--db', url]);
    expect(migrated.code, migrated.output).toBe(0);
    expect(migrated.output).not.toContain(SECRET);
  });

  it('a password given as a query parameter is hidden too', async () => {
    db = await unusedTestDatabase('postgres');
    const url = `${db.url}?password=${SECRET}&application_name=jobbase`;
    const served = await serveOnce(['--db', url]);
    expect(served).toContain('?password=***&application_name=jobbase');
    expect(served).not.toContain(SECRET);
  });

  it('a server that cannot be reached is an error without the password', async () => {
    const port = await freePort();
    const result = await run(['migrate', '--db', `postgres://postgres:${SECRET}@127.0.0.1:${port}/jobbase`]);
    expect(result.code).toBe(1);
    expect(result.output).toContain('ECONNREFUSED');
    expect(result.output).not.toContain(SECRET);
  });
});
