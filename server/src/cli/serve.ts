import { basename, dirname, isAbsolute, relative } from 'node:path';
import { API_REFERENCE_PATH } from '@jobbase/openapi';
import { createApp, type App } from '../app.js';
import { countSuperusers, upsertSuperuser } from '../auth/superusers.js';
import { DEFAULT_DATABASE } from '../defaults.js';
import { ADMIN_UI_PATH } from '../http/admin-ui.js';
import { redactDatabaseUrl } from '../store/open.js';
import { describeOpening } from './database.js';
import { describeRetention } from './operations-options.js';
import type { TrustProxy } from '../http/trust-proxy.js';
import type { ConnectionLimits } from '../http/http-server.js';
import type { HttpAddress } from './options.js';

export interface ServeOptions extends ConnectionLimits {
  http: HttpAddress;
  db: string;
  listenUrl?: string | false;
  corsOrigins: string[];
  bodyLimit: number;
  listPayloadLimit: number;
  trustProxy?: TrustProxy;
  /** ms; 0 keeps them for ever. */
  keepCompleted: number;
  keepFailed: number;
  keepCancelled: number;
  metricsToken?: string;
}

/** Starts the server; resolves when a signal has closed it. */
export async function serveCommand(options: ServeOptions): Promise<void> {
  const app = await createApp({
    database: options.db,
    listenUrl: options.listenUrl,
    corsOrigins: options.corsOrigins,
    bodyLimit: options.bodyLimit,
    maxListPayloadSize: options.listPayloadLimit,
    trustProxy: options.trustProxy,
    headersTimeout: options.headersTimeout,
    requestTimeout: options.requestTimeout,
    keepAliveTimeout: options.keepAliveTimeout,
    maxConnections: options.maxConnections,
    // 0 is "for ever": no retention for that status.
    retention: {
      ...(options.keepCompleted > 0 ? { completed: options.keepCompleted } : {}),
      ...(options.keepFailed > 0 ? { failed: options.keepFailed } : {}),
      ...(options.keepCancelled > 0 ? { cancelled: options.keepCancelled } : {}),
    },
    metricsToken: options.metricsToken,
  });
  // Listening for signals before anything is printed: a supervisor (or a test) that sends
  // SIGTERM as soon as it reads the banner must get a graceful close, not the default kill.
  const closed = closeOnSignal(app);
  try {
    for (const line of describeOpening(options.db, app.jobs.store.opening)) console.log(line);
    await bootstrapSuperuser(app, options.db);
    app.jobs.start();
    const server = await app.listen(options.http);
    const origin = `http://${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`;
    console.log(`Jobbase server started at ${origin}
├─ REST API:  ${origin}/api/
├─ API docs:  ${origin}${API_REFERENCE_PATH}
└─ Admin UI:  ${origin}${ADMIN_UI_PATH}
Finished jobs: completed ${describeRetention(options.keepCompleted)}, failed ${describeRetention(options.keepFailed)}, cancelled ${describeRetention(options.keepCancelled)} (--keep-completed, --keep-failed, --keep-cancelled)`);
  } catch (err) {
    await app.close();
    throw err;
  }
  await closed;
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
    // The password stays out of the terminal and its scrollback: whoever runs this knows it.
    const db = database === DEFAULT_DATABASE ? '' : ` --db '${redactDatabaseUrl(database)}'`;
    console.log(`No superuser yet: the /api/jobs routes refuse every request until you create one:
  ${selfCommand()} superuser upsert EMAIL PASSWORD${db}
or start with JOBBASE_SUPERUSER_EMAIL and JOBBASE_SUPERUSER_PASSWORD set.`);
  }
}

/**
 * How this CLI was started, to repeat in hints. Through the bin npm linked into a project's
 * node_modules/.bin (the clone's, or one that installs @jobbase/server), `npx jobbase` finds it
 * again from anywhere inside that project; a bin elsewhere is on the PATH (a global install);
 * a script run by path (`node server/dist/cli.js`) is repeated as it was given.
 */
function selfCommand(): string {
  const script = process.argv[1];
  if (!script) return 'npx jobbase';
  if (basename(script) === 'jobbase') {
    const bins = dirname(script);
    const project = dirname(dirname(bins));
    const fromProject = relative(project, process.cwd());
    const inProject = basename(bins) === '.bin' && !fromProject.startsWith('..') && !isAbsolute(fromProject);
    return inProject ? 'npx jobbase' : 'jobbase';
  }
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
