// Debian's pgbouncer in transaction mode in front of the local server, for the Jobbase systems
// measured through it (the same configuration as test/helpers/pgbouncer.ts, which the suite and
// docs/scaling.md use): started in the measuring child, on a free port, stopped with the queue.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function answers(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Started and answering: `{ urlFor(url), stop() }`; `urlFor` turns a direct URL into one through it. */
export async function startPgBouncer() {
  const dir = await mkdtemp(join(tmpdir(), 'jobbase-bench-pgbouncer-'));
  await chmod(dir, 0o755); // read by pgbouncer running as the postgres OS user
  const port = await freePort();
  await writeFile(join(dir, 'userlist.txt'), '"postgres" ""\n', { mode: 0o644 });
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    `[databases]\n* = host=127.0.0.1 port=5432\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${port}\n` +
      `unix_socket_dir =\nauth_type = trust\nauth_file = ${join(dir, 'userlist.txt')}\npool_mode = transaction\n` +
      'max_client_conn = 500\ndefault_pool_size = 20\nlogfile =\npidfile =\n',
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0 ? ['-u', 'postgres'] : [];
  const proc = spawn('pgbouncer', [...asRoot, join(dir, 'pgbouncer.ini')], { cwd: dir, stdio: 'ignore' });
  const exited = new Promise((resolve) => proc.once('close', resolve));
  const urlFor = (url) => {
    const through = new URL(url);
    through.port = String(port);
    return through.toString();
  };
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await answers(urlFor('postgres://postgres@127.0.0.1:5432/postgres')))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error('pgbouncer did not start (apt-get install pgbouncer)');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { urlFor, stop };
}
