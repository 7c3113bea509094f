import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { answersQueries } from './postgres-admin.js';
import { freePort } from './ports.js';
import { commandExists } from './prerequisites.js';

const run = promisify(execFile);

/** initdb and pg_ctl refuse to run as root; as root they run as this OS user. */
const OS_USER = 'postgres';

/** The directory of initdb and pg_ctl, from pg_config; null without pg_config. */
function postgresBindir(): string | null {
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The uid and gid of `user`, or null when there is no such user. */
function osUser(user: string): { uid: number; gid: number } | null {
  const ids = (flag: string) => spawnSync('id', [flag, user], { encoding: 'utf8' });
  const [uid, gid] = [ids('-u'), ids('-g')];
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Why a throwaway cluster cannot be made on this machine, or null when it can. */
export function throwawayPostgresMissing(): string | null {
  const bindir = postgresBindir();
  if (!bindir) return 'pg_config is not on the PATH, so there is no initdb to make a throwaway PostgreSQL cluster with (apt-get install postgresql)';
  for (const tool of ['initdb', 'pg_ctl']) {
    if (!existsSync(join(bindir, tool))) return `there is no ${tool} in ${bindir} to make a throwaway PostgreSQL cluster with`;
  }
  if (process.getuid?.() === 0) {
    if (!osUser(OS_USER)) return `initdb refuses to run as root, and there is no "${OS_USER}" OS user to run it as`;
    if (!commandExists('runuser')) return `initdb refuses to run as root, and there is no runuser to run it as "${OS_USER}"`;
  }
  return null;
}

/**
 * A PostgreSQL cluster of a test's own, so it can stop and start a server without touching the
 * machine's: `initdb` into a fresh temp folder (trust auth, superuser `postgres`), served on
 * 127.0.0.1 at a free port with its socket in that folder. As root, initdb and pg_ctl run as
 * the `postgres` OS user (they refuse root), the folder owned by it. `remove()` stops the server
 * and deletes the folder; if the test process exits first, an exit hook does the same.
 */
export class ThrowawayPostgres {
  private readonly exitHook = () => this.removeNow();

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bindir: string,
    /** Set when running as root: who runs the server. */
    private readonly owner: { uid: number; gid: number } | null,
  ) {}

  /** Made and started; throws with the reason when this machine cannot (see `throwawayPostgresMissing`). */
  static async start(): Promise<ThrowawayPostgres> {
    const missing = throwawayPostgresMissing();
    if (missing) throw new Error(missing);
    const owner = process.getuid?.() === 0 ? osUser(OS_USER) : null;
    const dir = await mkdtemp(join(tmpdir(), 'jobbase-pg-'));
    const cluster = new ThrowawayPostgres(dir, await freePort(), postgresBindir()!, owner);
    process.once('exit', cluster.exitHook);
    try {
      await mkdir(cluster.socketDir);
      if (owner) for (const path of [dir, cluster.socketDir]) await chown(path, owner.uid, owner.gid);
      await cluster.pg('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
      await cluster.start();
      return cluster;
    } catch (err) {
      await cluster.remove();
      throw err;
    }
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get socketDir(): string {
    return join(this.dir, 'socket');
  }

  private get logFile(): string {
    return join(this.dir, 'server.log');
  }

  /** The superuser's URL, for `createTestDatabase` and `AppFixture`. */
  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = `-c listen_addresses=127.0.0.1 -p ${this.port} -k ${this.socketDir}`;
    try {
      await this.pg('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-o', options, '-w', '-t', '60', 'start']);
    } catch (err) {
      const log = await readFile(this.logFile, 'utf8').catch(() => '(no log)');
      throw new Error(`the throwaway PostgreSQL cluster in ${this.dir} did not start: ${(err as Error).message}\n${log.slice(-2_000)}`);
    }
  }

  /** Stops the server (fast mode: open transactions roll back, clients are cut at once). */
  async stop(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  /** Whether the server answers a query now (3 s at most). */
  async answers(): Promise<boolean> {
    return answersQueries(this.adminUrl, 3_000);
  }

  /** Stops the server if it runs and deletes its folder. */
  async remove(): Promise<void> {
    process.off('exit', this.exitHook);
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
      await this.stop().catch(() => this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined));
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /** `remove()` for a process that is exiting: nothing asynchronous runs any more. */
  private removeNow(): void {
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
      const [command, args] = this.command('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
      spawnSync(command, args, { cwd: this.dir, stdio: 'ignore', timeout: 30_000 });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private command(tool: string, args: string[]): [string, string[]] {
    const path = join(this.bindir, tool);
    return this.owner ? ['runuser', ['-u', OS_USER, '--', path, ...args]] : [path, args];
  }

  private async pg(tool: string, args: string[]): Promise<void> {
    const [command, all] = this.command(tool, args);
    // From the cluster's folder: the postgres user may not be able to read the current one.
    await run(command, all, { cwd: this.dir, timeout: 120_000 });
  }
}
