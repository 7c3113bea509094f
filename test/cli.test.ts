import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { upsertSuperuser } from '@jobbase/server';
import { openStore } from '@jobbase/server/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMAIL, PASSWORD, api, login } from './helpers/app.js';
import { createTestDatabase, dialects, unusedTestDatabase, type TestDatabase } from './helpers/databases.js';
import { waitFor } from './helpers/wait.js';
import { freePort } from './helpers/ports.js';

const CLI = fileURLToPath(new URL('../server/dist/cli.js', import.meta.url));
const SERVER_PACKAGE = new URL('../server/package.json', import.meta.url);

/** The environment without anything a developer's shell might set for jobbase. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // Every setting from the developer's shell left out (each serve option has a JOBBASE_ variable).
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('JOBBASE_')));
  return { ...env, JOBBASE_LOG_LEVEL: 'silent', ...extra };
}

interface Cli {
  child: ChildProcess;
  output: () => string;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}

/** `stdin`: written to the CLI's standard input, which is then closed; none, and it reads nothing. */
function start(args: string[], env: Record<string, string> = {}, stdin?: string): Cli {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (stdin !== undefined) child.stdin!.end(stdin);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += String(chunk)));
  child.stderr!.on('data', (chunk) => (output += String(chunk)));
  const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, output: () => output, exit };
}

async function run(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<{ code: number | null; output: string }> {
  const cli = start(args, env, stdin);
  const [code] = await cli.exit;
  return { code, output: cli.output() };
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

  it('migrate says which migrations it applied, then that the schema is already up to date', async () => {
    const result = await run(['migrate', '--db', db.url]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/^Applied \d+ migrations: 0001_initial, .*\.$/m);
    expect(result.output).not.toContain('up to date');
    const again = await run(['migrate', '--db', db.url]);
    expect(again.code, again.output).toBe(0);
    expect(again.output.trim()).toBe('Database schema is already up to date.');
  });

  it('migrate and serve on a database that does not exist say they created it', async () => {
    const fresh = await unusedTestDatabase(dialect);
    try {
      const name = dialect === 'postgres' ? new URL(fresh.url).pathname.slice(1) : fresh.url.slice('sqlite:'.length);
      const kind = dialect === 'postgres' ? 'PostgreSQL' : 'SQLite';
      const result = await run(['migrate', '--db', fresh.url]);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain(`Created the ${kind} database ${name}.`);
      expect(result.output).toMatch(/^Applied \d+ migrations: /m);
    } finally {
      await fresh.drop();
    }
    const served = await unusedTestDatabase(dialect);
    try {
      const { cli } = await serve(['--db', served.url]);
      expect(cli.output()).toMatch(/^Created the (PostgreSQL|SQLite) database .*\.$/m);
      expect(cli.output()).toMatch(/^Applied \d+ migrations: /m);
      cli.child.kill('SIGTERM');
      expect(await cli.exit).toEqual([0, null]);
      const again = await serve(['--db', served.url]);
      expect(again.cli.output()).toContain('Database schema is already up to date.');
      expect(again.cli.output()).not.toContain('Created the');
      again.cli.child.kill('SIGTERM');
      await again.cli.exit;
    } finally {
      await served.drop();
    }
  });

  it('superuser list shows each email with its creation date; "No superusers." when none', async () => {
    const none = await run(['superuser', 'list', '--db', db.url]);
    expect(none.code, none.output).toBe(0);
    expect(none.output.trim()).toBe('No superusers.');
    for (const email of ['b@example.com', 'a@example.com']) {
      expect((await run(['superuser', 'upsert', email, PASSWORD, '--db', db.url])).code).toBe(0);
    }
    const listed = await run(['superuser', 'list', '--db', db.url]);
    expect(listed.code, listed.output).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    const lines = listed.output.trim().split('\n');
    expect(lines[0]).toMatch(/^EMAIL\s+CREATED$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^a@example\\.com\\s+${today}T\\d\\d:\\d\\d:\\d\\dZ$`)),
      expect.stringMatching(new RegExp(`^b@example\\.com\\s+${today}T\\d\\d:\\d\\d:\\d\\dZ$`)),
    ]);
  });

  it('superuser delete removes it, which revokes its tokens; an unknown email exits 1', async () => {
    expect((await run(['superuser', 'upsert', EMAIL, PASSWORD, '--db', db.url])).code).toBe(0);
    const { cli, url } = await serve(['--db', db.url]);
    const token = await login(url);
    expect((await api(url, '/api/jobs/stats', { token })).status).toBe(200);

    const deleted = await run(['superuser', 'delete', EMAIL.toUpperCase(), '--db', db.url]);
    expect(deleted.code, deleted.output).toBe(0);
    expect(deleted.output.trim()).toBe(`Superuser ${EMAIL} deleted.`);
    expect((await api(url, '/api/jobs/stats', { token })).status).toBe(401);
    expect((await run(['superuser', 'list', '--db', db.url])).output.trim()).toBe('No superusers.');

    const missing = await run(['superuser', 'delete', EMAIL, '--db', db.url]);
    expect(missing.code).toBe(1);
    expect(missing.output.trim()).toBe(`Error: No superuser has the email ${EMAIL}.`);
    cli.child.kill('SIGTERM');
    await cli.exit;
  });

  it('superuser upsert without a password reads it from the first line of standard input', async () => {
    const piped = await run(['superuser', 'upsert', EMAIL, '--db', db.url], {}, `${PASSWORD}\nignored second line\n`);
    expect(piped.code, piped.output).toBe(0);
    expect(piped.output.trim()).toBe(`Superuser ${EMAIL} created.`);
    const store = await openStore(db.url);
    try {
      // The first line is the password: upserting it again changes nothing.
      expect(await upsertSuperuser(store, EMAIL, PASSWORD)).toBe('unchanged');
    } finally {
      await store.close();
    }
    // Without a final newline too.
    expect((await run(['superuser', 'upsert', EMAIL, '--db', db.url], {}, PASSWORD)).output).toContain('unchanged');
    const empty = await run(['superuser', 'upsert', EMAIL, '--db', db.url], {}, '');
    expect(empty.code).toBe(1);
    expect(empty.output).toContain('standard input');
  });

  it('superuser upsert without a password asks for it, unseen, on a terminal', async () => {
    const command = [process.execPath, CLI, 'superuser', 'upsert', EMAIL, '--db', db.url].map((a) => `'${a}'`).join(' ');
    // script(1) gives the CLI a pseudo-terminal as its standard input and output.
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    const exit = once(child, 'exit');
    await waitFor('the password prompt', () => output.includes('Password: '));
    child.stdin.write(`${PASSWORD}\r`);
    await waitFor('the confirmation prompt', () => output.includes('Password (again): '));
    child.stdin.write(`${PASSWORD}\r`);
    const [code] = await exit;
    expect(code, output).toBe(0);
    expect(output).toContain(`Superuser ${EMAIL} created.`);
    expect(output).not.toContain(PASSWORD);
  });

  it('serve --body-limit / JOBBASE_BODY_LIMIT set the body limit, which a 413 names', async () => {
    await run(['superuser', 'upsert', EMAIL, PASSWORD, '--db', db.url]);
    const { cli, url } = await serve(['--db', db.url, '--body-limit', '2kb']);
    const token = await login(url);
    expect((await api(url, '/api/jobs/enqueue', { token, json: { topic: 't', payload: 'x'.repeat(1_900) } })).status).toBe(200);
    const over = await api(url, '/api/jobs/enqueue', { token, json: { topic: 't', payload: 'x'.repeat(2_100) } });
    expect(over.status).toBe(413);
    expect(over.body).toEqual({
      status: 413,
      message: 'The request body is larger than the 2KB limit (serve --body-limit / JOBBASE_BODY_LIMIT).',
      data: {},
    });
    cli.child.kill('SIGTERM');
    await cli.exit;

    const fromEnv = await serve(['--db', db.url], { JOBBASE_BODY_LIMIT: '1024' });
    const big = await api(fromEnv.url, '/api/jobs/enqueue', { token: await login(fromEnv.url), json: { topic: 't', payload: 'x'.repeat(1_100) } });
    expect(big.status).toBe(413);
    expect(big.body.message).toContain('1KB limit');
    fromEnv.cli.child.kill('SIGTERM');
    await fromEnv.cli.exit;
  });

  it('serve --list-payload-limit / JOBBASE_LIST_PAYLOAD_LIMIT set the budget of one list page, past which it is a 422', async () => {
    await run(['superuser', 'upsert', EMAIL, PASSWORD, '--db', db.url]);
    const { cli, url } = await serve(['--db', db.url, '--list-payload-limit', '3kb']);
    const token = await login(url);
    for (let i = 0; i < 2; i++) {
      expect((await api(url, '/api/jobs/enqueue', { token, json: { topic: 'big', payload: 'x'.repeat(2_000) } })).status).toBe(200);
    }
    const both = await api(url, '/api/jobs?topic=big', { token });
    expect(both.status).toBe(422);
    expect(both.body.message).toContain('more than the 3KB one list page may carry');
    expect((await api(url, '/api/jobs?topic=big&limit=1', { token })).status).toBe(200);
    cli.child.kill('SIGTERM');
    await cli.exit;

    // The default (8 MiB) takes both; the variable sets it too.
    const byDefault = await serve(['--db', db.url]);
    expect((await api(byDefault.url, '/api/jobs?topic=big', { token: await login(byDefault.url) })).status).toBe(200);
    byDefault.cli.child.kill('SIGTERM');
    await byDefault.cli.exit;
    const fromEnv = await serve(['--db', db.url], { JOBBASE_LIST_PAYLOAD_LIMIT: '3000' });
    expect((await api(fromEnv.url, '/api/jobs?topic=big', { token: await login(fromEnv.url) })).status).toBe(422);
    fromEnv.cli.child.kill('SIGTERM');
    await fromEnv.cli.exit;
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
    for (const size of ['lots', '0', '-5mb']) {
      const badLimit = await run(['serve', '--db', db.url, '--http', '127.0.0.1:0', '--body-limit', size]);
      expect(badLimit.code).toBe(1);
      expect(badLimit.output).toContain(`Expected a size in bytes (e.g. 4194304, 512kb or 8mb), got "${size}".`);
    }
  });
});

describe('jobbase CLI without a database', () => {
  it('--version prints the server package\'s version', async () => {
    const { version } = JSON.parse(await readFile(SERVER_PACKAGE, 'utf8')) as { version: string };
    const result = await run(['--version']);
    expect(result.code, result.output).toBe(0);
    expect(result.output.trim()).toBe(version);
  });

  it('serve --help says what serve runs: the API, its docs, the admin UI and the rescue of expired locks', async () => {
    const help = await run(['serve', '--help']);
    expect(help.code).toBe(0);
    const text = help.output.replace(/\s+/g, ' ');
    expect(text).not.toContain('workers for registered topics');
    expect(text).toContain('Serve the HTTP API, its docs and the admin UI, and rescue jobs whose lock expired');
    expect(text).toContain('It runs no job handlers');
  });
});
