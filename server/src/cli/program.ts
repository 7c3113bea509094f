import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { bodyLimitOption, corsOriginsOption, dbOption, httpOption, listenUrlOption, listPayloadLimitOption, trustProxyOption } from './options.js';
import { headersTimeoutOption, keepAliveTimeoutOption, maxConnectionsOption, requestTimeoutOption } from './connection-options.js';
import { describeOpening, withDatabase } from './database.js';
import { keepCancelledOption, keepCompletedOption, keepFailedOption, metricsTokenOption } from './operations-options.js';
import { serveCommand } from './serve.js';
import { deleteCommand, listCommand, upsertCommand } from './superuser.js';
import { addTokenCommands } from './token.js';

/** @jobbase/server's version: its package.json sits two levels above this file, in dist/ and in src/. */
function serverVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

/** The `jobbase` command and its subcommands, built without running anything (the docs test reads its options). */
export function buildProgram(): Command {
  const cli = new Command('jobbase')
    .description('Jobbase: a persistent job queue with an HTTP API.')
    .version(serverVersion(), '-V, --version', 'print the version of @jobbase/server')
    .showHelpAfterError();

  cli
    .command('serve')
    .description(
      'Serve the HTTP API, its docs and the admin UI, and rescue jobs whose lock expired (their worker died). ' +
        'It runs no job handlers: worker processes embed the engine on the same database.',
    )
    .addOption(httpOption())
    .addOption(dbOption())
    .addOption(listenUrlOption())
    .addOption(corsOriginsOption())
    .addOption(bodyLimitOption())
    .addOption(listPayloadLimitOption())
    .addOption(trustProxyOption())
    .addOption(headersTimeoutOption())
    .addOption(requestTimeoutOption())
    .addOption(keepAliveTimeoutOption())
    .addOption(maxConnectionsOption())
    .addOption(keepCompletedOption())
    .addOption(keepFailedOption())
    .addOption(keepCancelledOption())
    .addOption(metricsTokenOption())
    .action(serveCommand);

  const superuser = cli.command('superuser').description('Manage superusers.');
  superuser
    .command('upsert')
    .description(
      'Create a superuser, or set its password (a new password revokes its tokens). Without PASSWORD, ' +
        'it is asked for on a terminal, or read from the first line of standard input.',
    )
    .argument('<email>')
    .argument('[password]')
    .addOption(dbOption())
    .action(upsertCommand);
  superuser.command('list').description('List the superusers and when each was created.').addOption(dbOption()).action(listCommand);
  superuser
    .command('delete')
    .description('Delete a superuser; its tokens stop working.')
    .argument('<email>')
    .addOption(dbOption())
    .action(deleteCommand);

  addTokenCommands(cli);

  cli
    .command('migrate')
    .description('Create or upgrade the database schema (serve also does this on start), and say what it did.')
    .addOption(dbOption())
    .action(async (options: { db: string }) => {
      const opening = await withDatabase(options.db, async (jobs) => jobs.store.opening);
      for (const line of describeOpening(options.db, opening)) console.log(line);
    });

  return cli;
}
