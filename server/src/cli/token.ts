import { Option, type Command } from 'commander';
import { WorkerTokens } from '../auth/worker-tokens.js';
import { withDatabase } from './database.js';
import { dbOption } from './options.js';
import { UsageError } from './usage-error.js';

/** `jobbase token create|list|revoke`: remote workers' tokens (issue 19). */
export function addTokenCommands(cli: Command): void {
  const token = cli.command('token').description('Manage worker tokens: bearer tokens that may only claim, heartbeat and finish jobs.');
  token
    .command('create')
    .description('Create a token and print it (it is stored hashed: it cannot be shown again).')
    .addOption(new Option('--role <role>', 'what the token may do').choices(['worker']).makeOptionMandatory())
    .option('--topics <topics>', 'comma-separated topics it may claim and finish (default: every topic)')
    .option('--name <name>', 'a name to list and revoke it by')
    .addOption(dbOption())
    .action(async (options: { db: string; topics?: string; name?: string }) => {
      const topics = options.topics?.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
      const { token: secret } = await withDatabase(options.db, (jobs) => new WorkerTokens(jobs.store).create({ name: options.name, topics }));
      console.log(secret);
    });
  token
    .command('list')
    .description('List the worker tokens: id, name, topics and when each was created.')
    .addOption(dbOption())
    .action(async (options: { db: string }) => {
      const tokens = await withDatabase(options.db, (jobs) => new WorkerTokens(jobs.store).list());
      if (tokens.length === 0) {
        console.log('No worker tokens.');
        return;
      }
      for (const t of tokens) {
        console.log(`${t.id}  ${t.name}  ${t.role}  ${t.topics?.join(',') ?? '*'}  ${t.created.toISOString().replace(/\.\d+Z$/, 'Z')}`);
      }
    });
  token
    .command('revoke')
    .description('Revoke a worker token by its id or name: its next request is refused.')
    .argument('<id-or-name>')
    .addOption(dbOption())
    .action(async (idOrName: string, options: { db: string }) => {
      const revoked = await withDatabase(options.db, (jobs) => new WorkerTokens(jobs.store).revoke(idOrName));
      if (revoked === 0) throw new UsageError(`No worker token has the id or name ${idOrName}.`);
      console.log(`Revoked ${revoked} worker token${revoked === 1 ? '' : 's'}.`);
    });
}
