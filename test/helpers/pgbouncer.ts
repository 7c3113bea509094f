import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answersQueries } from './postgres-admin.js';
import { freePort } from './ports.js';
import { postgresAdminUrl } from './postgres-url.js';
import { commandExists } from './prerequisites.js';
import { waitFor } from './wait.js';

/** pgbouncer refuses to run as root; as root it runs as this OS user (`-u`). */
const OS_USER = 'postgres';

/** Why PgBouncer cannot be started on this machine, or null when it can. */
export function pgbouncerMissing(): string | null {
  if (!commandExists('pgbouncer')) return 'pgbouncer is not installed (apt-get install pgbouncer)';
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', OS_USER]).status !== 0) {
    return `pgbouncer refuses to run as root, and there is no "${OS_USER}" OS user to run it as`;
  }
  return null;
}

/**
 * The configuration the tests run PgBouncer with, in front of `server` (the test server's
 * admin URL): transaction pooling, every database of the server reachable by its own name (a
 * test's new database included), trust authentication like the test server's. docs/scaling.md
 * shows it as the tested configuration.
 */
export function pgbouncerIni(server: string, port: number, userlist: string): string {
  const { hostname, port: serverPort } = new URL(server);
  return `[databases]
* = host=${hostname} port=${serverPort || 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${userlist}
pool_mode = transaction
max_client_conn = 500
default_pool_size = ${SERVER_CONNECTIONS}
logfile =
pidfile =
`;
}

/**
 * Server connections per database: fewer than one engine's pool (10), so the engine's
 * connections share them and a query runs on another server connection than the one before it
 * — where anything kept in a session (a named prepared statement, a session lock, LISTEN) goes
 * astray. At least 2: the migration's lock holds one while the migrations run on another.
 */
const SERVER_CONNECTIONS = 4;

/**
 * Debian's pgbouncer, started by a test in front of the test server in transaction mode on a
 * free port: an ini and userlist in a temp folder, the process in the foreground (not a daemon,
 * so it ends with the test's process at the latest), as the `postgres` OS user when root.
 */
export class PgBouncer {
  private output = '';
  private readonly exitHook = () => {
    this.proc.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  };

  private constructor(
    readonly dir: string,
    readonly port: number,
    /** The ini it runs with. */
    readonly ini: string,
    private readonly proc: ChildProcess,
  ) {
    proc.stdout!.setEncoding('utf8').on('data', (text: string) => (this.output += text));
    proc.stderr!.setEncoding('utf8').on('data', (text: string) => (this.output += text));
    process.once('exit', this.exitHook);
  }

  /** Started and accepting connections; throws with the reason when this machine cannot (see `pgbouncerMissing`). */
  static async start(server = postgresAdminUrl()): Promise<PgBouncer> {
    const missing = pgbouncerMissing();
    if (missing) throw new Error(missing);
    const dir = await mkdtemp(join(tmpdir(), 'jobbase-pgbouncer-'));
    // Read by pgbouncer running as the postgres OS user.
    await chmod(dir, 0o755);
    const userlist = join(dir, 'userlist.txt');
    const port = await freePort();
    const ini = pgbouncerIni(server, port, userlist);
    await writeFile(userlist, `"${decodeURIComponent(new URL(server).username) || 'postgres'}" ""\n`, { mode: 0o644 });
    await writeFile(join(dir, 'pgbouncer.ini'), ini, { mode: 0o644 });
    const asRoot = process.getuid?.() === 0 ? ['-u', OS_USER] : [];
    const proc = spawn('pgbouncer', [...asRoot, join(dir, 'pgbouncer.ini')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const bouncer = new PgBouncer(dir, port, ini, proc);
    try {
      await waitFor('PgBouncer to accept connections', () => bouncer.answers(), { timeout: 10_000, interval: 50 });
      return bouncer;
    } catch (err) {
      await bouncer.stop();
      throw new Error(`PgBouncer did not start: ${(err as Error).message}\n${bouncer.output.slice(-2_000)}`);
    }
  }

  /** `url` (a database on the test server) as reached through PgBouncer. */
  urlFor(url: string): string {
    const through = new URL(url);
    through.hostname = '127.0.0.1';
    through.port = String(this.port);
    return through.toString();
  }

  /** What PgBouncer logged so far. */
  log(): string {
    return this.output;
  }

  /** Whether a query through it answers now. */
  private async answers(): Promise<boolean> {
    if (this.proc.exitCode !== null) throw new Error(`pgbouncer exited with code ${this.proc.exitCode}`);
    return answersQueries(this.urlFor(postgresAdminUrl()), 1_000);
  }

  /** Stops it (SIGTERM: its connections are closed at once) and deletes its folder. */
  async stop(): Promise<void> {
    process.off('exit', this.exitHook);
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((resolve) => this.proc.once('close', resolve));
      this.proc.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
