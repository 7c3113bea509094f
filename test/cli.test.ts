import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMAIL, PASSWORD, api, login } from './helpers/app.js';
import { createTestDatabase, dialects, type TestDatabase } from './helpers/databases.js';
import { waitFor } from './helpers/wait.js';

const CLI = fileURLToPath(new URL('../server/dist/cli.js', import.meta.url));

/** The environment without anything a developer's shell might set for jobbase. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, JOBBASE_LOG_LEVEL: 'silent', ...extra };
  for (const key of ['JOBBASE_DB', 'JOBBASE_HTTP', 'JOBBASE_SUPERUSER_EMAIL', 'JOBBASE_SUPERUSER_PASSWORD']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

interface Cli {
  child: ChildProcess;
  output: () => string;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}

function start(args: string[], env: Record<string, string> = {}): Cli {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += String(chunk)));
  child.stderr!.on('data', (chunk) => (output += String(chunk)));
  const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, output: () => output, exit };
}

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const cli = start(args, env);
  const [code] = await cli.exit;
  return { code, output: cli.output() };
}

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

describe.each(dialects())('jobbase CLI on %s', (dialect) => {
  let db: TestDatabase;
  const running: Cli[] = [];
  beforeEach(async () => {
    db = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    for (const cli of running.splice(0)) {
      if (cli.child.exitCode === null && cli.child.signalCode === null) {
        cli.child.kill('SIGKILL');
        await cli.exit;
      }
    }
    await db.drop();
  });

  async function serve(args: string[], env: Record<string, string> = {}): Promise<{ cli: Cli; url: string }> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const cli = start(['serve', '--http', `127.0.0.1:${port}`, ...args], env);
    running.push(cli);
    await waitFor(`the server to print ${url}`, () => cli.output().includes(`${url}/api/`) || cli.child.exitCode !== null);
    expect(cli.child.exitCode, cli.output()).toBeNull();
    return { cli, url };
  }

  it('superuser upsert, then serve answers on the chosen port; SIGTERM exits 0', async () => {
    const upsert = await run(['superuser', 'upsert', EMAIL, PASSWORD, '--db', db.url]);
    expect(upsert.code, upsert.output).toBe(0);
    expect(upsert.output).toContain(`Superuser ${EMAIL} created.`);
    expect((await run(['superuser', 'upsert', EMAIL, PASSWORD, '--db', db.url])).output).toContain('unchanged');

    const { cli, url } = await serve(['--db', db.url]);
    expect(cli.output()).toContain(`${url}/api/docs`);
    expect(cli.output()).toContain(`${url}/_/`);
    expect(cli.output()).not.toContain('No superuser yet');
    expect((await api(url, '/api/health')).status).toBe(200);
    const token = await login(url);
    const job = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'from_cli_test' } });
    expect(job.status).toBe(200);

    cli.child.kill('SIGTERM');
    expect(await cli.exit).toEqual([0, null]);
  });

  it('serve takes its settings from JOBBASE_DB / JOBBASE_HTTP and its superuser from the environment; SIGINT exits 0', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const cli = start(['serve'], {
      JOBBASE_DB: db.url,
      JOBBASE_HTTP: `127.0.0.1:${port}`,
      JOBBASE_SUPERUSER_EMAIL: EMAIL,
      JOBBASE_SUPERUSER_PASSWORD: PASSWORD,
      JOBBASE_CORS_ORIGINS: 'https://a.example',
    });
    running.push(cli);
    await waitFor('the server to start', () => cli.output().includes(`${url}/api/`) || cli.child.exitCode !== null);
    expect(cli.output()).toContain(`Superuser ${EMAIL} created`);
    expect((await api(url, '/api/jobs/stats', { token: await login(url) })).status).toBe(200);
    const cors = await fetch(`${url}/api/health`, { headers: { origin: 'https://a.example' } });
    expect(cors.headers.get('access-control-allow-origin')).toBe('https://a.example');
    cli.child.kill('SIGINT');
    expect(await cli.exit).toEqual([0, null]);
  });

  it('serve without any superuser says how to create one', async () => {
    const { cli, url } = await serve(['--db', db.url]);
    expect(cli.output()).toContain('No superuser yet');
    expect(cli.output()).toMatch(/node \S*cli.js superuser upsert EMAIL PASSWORD --db/);
    expect((await api(url, '/api/jobs/stats')).status).toBe(401);
    // No --cors-origins: no page of another origin may read an answer.
    const cors = await fetch(`${url}/api/health`, { headers: { origin: 'https://a.example' } });
    expect(cors.headers.get('access-control-allow-origin')).toBeNull();
    cli.child.kill('SIGTERM');
    expect(await cli.exit).toEqual([0, null]);
  });

  it('serve --cors-origins lets pages of those origins call the API, and no other', async () => {
    const { cli, url } = await serve(['--db', db.url, '--cors-origins', 'https://a.example, https://b.example']);
    const allowed = await fetch(`${url}/api/health`, { headers: { origin: 'https://a.example' } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://a.example');
    const second = await fetch(`${url}/api/health`, { headers: { origin: 'https://b.example' } });
    expect(second.headers.get('access-control-allow-origin')).toBe('https://b.example');
    const preflight = await fetch(`${url}/api/jobs/enqueue`, {
      method: 'OPTIONS',
      headers: { origin: 'https://a.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://a.example');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    const other = await fetch(`${url}/api/health`, { headers: { origin: 'https://evil.example' } });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const otherPreflight = await fetch(`${url}/api/jobs/enqueue`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(otherPreflight.headers.get('access-control-allow-origin')).toBeNull();
    cli.child.kill('SIGTERM');
    expect(await cli.exit).toEqual([0, null]);
  });

  it('migrate creates the schema and exits 0', async () => {
    const result = await run(['migrate', '--db', db.url]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('up to date');
  });

  it('bad arguments exit 1 with a message', async () => {
    const badHttp = await run(['serve', '--http', 'not-an-address', '--db', db.url]);
    expect(badHttp.code).toBe(1);
    expect(badHttp.output).toContain('host:port');
    const badEmail = await run(['superuser', 'upsert', 'not-an-email', PASSWORD, '--db', db.url]);
    expect(badEmail.code).toBe(1);
    expect(badEmail.output).toContain('not a valid email');
    const shortPassword = await run(['superuser', 'upsert', EMAIL, 'short', '--db', db.url]);
    expect(shortPassword.code).toBe(1);
    expect(shortPassword.output).toContain('password');
    const badOrigin = await run(['serve', '--db', db.url, '--http', '127.0.0.1:0', '--cors-origins', 'https://a.example/path']);
    expect(badOrigin.code).toBe(1);
    expect(badOrigin.output).toContain('"https://a.example/path" is not an origin');
  });
});
