// F. Memory: what a queue adds to a process that embeds it. A fresh process notes its RSS, imports
// what a service imports to run the queue's workers (for Jobbase: `@jobbase/server` and the store
// module `createJobs` loads for the database's dialect), notes it again, then opens the queue on
// an empty database (its migrations included) with no job, and notes it a third time.
import { openQueue, systemById } from '../adapters/queue-adapter.mjs';
import { jobbaseModule } from '../lib/jobbase-server.mjs';

/** Per queue, the modules a service imports to run its workers on `dialect`. */
const IMPORTS = {
  jobbase: (dialect) => [jobbaseModule('index.js'), jobbaseModule(`store/${dialect}/store.js`)],
  'graphile-worker': () => ['graphile-worker'],
  'pg-boss': () => ['pg-boss'],
  // plainjob takes the better-sqlite3 connection its user opens.
  plainjob: () => ['plainjob', 'better-sqlite3'],
};

const rssMb = () => process.memoryUsage.rss() / 1024 / 1024;

export async function run({ system, database }) {
  const { queue, dialect } = systemById(system);
  const modules = IMPORTS[queue](dialect);
  const before = rssMb();
  for (const specifier of modules) await import(specifier);
  const imported = rssMb();
  const opened = await openQueue(system, { database, concurrency: 10 });
  const afterOpen = rssMb();
  await opened.close();
  return {
    importMb: imported - before,
    openMb: afterOpen - before,
    baseMb: before,
    modules: modules.map((m) => (m.startsWith('file:') ? m.replace(/^.*\/server\/dist\//, '@jobbase/server dist/') : m)),
    settings: opened.settings,
  };
}
