#!/usr/bin/env node
import { basename, isAbsolute, relative } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createApp, type App } from './app.js';
import { countSuperusers, upsertSuperuser } from './auth/superusers.js';
import { DEFAULT_DATABASE } from './defaults.js';
import { createJobs, type Jobs } from './engine/jobs.js';
import { JobsError } from './errors.js';

const DEFAULT_HTTP = '127.0.0.1:8090';

interface HttpAddress {
  host: string;
  port: number;
}

/** `host:port`, `[::1]:port` or `:port` (every interface). */
function parseHttpAddress(value: string): HttpAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    throw new InvalidArgumentError(`Expected host:port (e.g. ${DEFAULT_HTTP}), got "${value}".`);
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

function dbOption(): Option {
  return new Option('--db <url>', 'database: sqlite:PATH or postgres://…').env('JOBBASE_DB').default(DEFAULT_DATABASE);
}

/** `https://a.example.com,https://b.example.com` → the list; blanks dropped. */
function parseOrigins(value: string): string[] {
  return value.split(',').map((o) => o.trim()).filter((o) => o.length > 0);
}

/** Starts the server; resolves when a signal has closed it. */
async function serve(options: { http: HttpAddress; db: string; corsOrigins?: string[] }): Promise<void> {
  const app = await createApp({ database: options.db, corsOrigins: options.corsOrigins ?? [] });
  try {
    await bootstrapSuperuser(app, options.db);
    app.jobs.start();
    const server = await app.listen(options.http);
    const origin = `http://${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`;
    console.log(`Jobbase server started at ${origin}
├─ REST API:  ${origin}/api/
├─ API docs:  ${origin}/api/docs
└─ Admin UI:  ${origin}/_/`);
  } catch (err) {
    await app.close();
    throw err;
  }
  await closeOnSignal(app);
}

/** Upserts the superuser the environment names; with none at all, says how to make one. */
async function bootstrapSuperuser(app: App, database: string): Promise<void> {
  const store = app.jobs.store;
  const email = process.env.JOBBASE_SUPERUSER_EMAIL;
  const password = process.env.JOBBASE_SUPERUSER_PASSWORD;
  if (email && password) {
    const result = await upsertSuperuser(store, email, password);
    if (result !== 'unchanged') console.log(`Superuser ${email} ${result} from JOBBASE_SUPERUSER_EMAIL.`);
  } else if (email || password) {
    console.warn('Set both JOBBASE_SUPERUSER_EMAIL and JOBBASE_SUPERUSER_PASSWORD to create a superuser; ignoring.');
  }
  if ((await countSuperusers(store)) === 0) {
    const db = database === DEFAULT_DATABASE ? '' : ` --db '${database}'`;
    console.log(`No superuser yet: the /api/jobs routes refuse every request until you create one:
  ${selfCommand()} superuser upsert EMAIL PASSWORD${db}
or start with JOBBASE_SUPERUSER_EMAIL and JOBBASE_SUPERUSER_PASSWORD set.`);
  }
}

/**
 * How this CLI was started, to repeat in hints: `node server/dist/cli.js` in a clone (where tsc
 * leaves the file without its execute bit, so `npx jobbase` cannot run it), `jobbase` otherwise.
 */
function selfCommand(): string {
  const script = process.argv[1];
  if (!script || basename(script) === 'jobbase') return 'npx jobbase';
  const path = relative(process.cwd(), script);
  return `node ${path.startsWith('..') || isAbsolute(path) ? script : path}`;
}

/** SIGINT/SIGTERM: close gracefully (in-flight requests and jobs finish); a second signal exits at once. */
function closeOnSignal(app: App): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        console.error(`${signal} again: exiting without waiting.`);
        process.exit(1);
      }
      stopping = true;
      console.log(`${signal} received: shutting down…`);
      app.close().then(resolve, reject);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Opens the database (which migrates it) without starting any worker, runs `work`, closes it. */
async function withDatabase<T>(database: string, work: (jobs: Jobs) => Promise<T>): Promise<T> {
  const jobs = await createJobs({ database });
  try {
    return await work(jobs);
  } finally {
    await jobs.close();
  }
}

function program(): Command {
  const cli = new Command('jobbase').description('Jobbase: a persistent job queue with an HTTP API.').showHelpAfterError();

  cli
    .command('serve')
    .description('Serve the HTTP API (and run workers for registered topics).')
    .addOption(
      new Option('--http <host:port>', 'address to listen on')
        .env('JOBBASE_HTTP')
        .default(parseHttpAddress(DEFAULT_HTTP), DEFAULT_HTTP)
        .argParser(parseHttpAddress),
    )
    .addOption(dbOption())
    .addOption(
      new Option('--cors-origins <origins>', 'comma-separated origins whose pages may call the API (CORS); none by default')
        .env('JOBBASE_CORS_ORIGINS')
        .argParser(parseOrigins),
    )
    .action(serve);

  const superuser = cli.command('superuser').description('Manage superusers.');
  superuser
    .command('upsert')
    .description('Create a superuser, or set its password (a new password revokes its tokens).')
    .argument('<email>')
    .argument('<password>')
    .addOption(dbOption())
    .action(async (email: string, password: string, options: { db: string }) => {
      const result = await withDatabase(options.db, (jobs) => upsertSuperuser(jobs.store, email, password));
      console.log(`Superuser ${email} ${result}.`);
    });

  cli
    .command('migrate')
    .description('Create or upgrade the database schema (serve also does this on start).')
    .addOption(dbOption())
    .action(async (options: { db: string }) => {
      await withDatabase(options.db, async () => undefined);
      console.log('Database schema is up to date.');
    });

  return cli;
}

try {
  await program().parseAsync();
  process.exit(0);
} catch (err) {
  // Our errors and the system's (EADDRINUSE, ECONNREFUSED…) say it all in their message; a bug gets its stack.
  const plain = err instanceof JobsError || err instanceof RangeError || typeof (err as { code?: unknown }).code === 'string';
  console.error(plain ? `Error: ${(err as Error).message}` : err);
  process.exit(1);
}
