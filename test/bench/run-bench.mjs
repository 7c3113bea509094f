// npm run bench [-- --full] [--only=A,C] [--systems=jobbase-postgres,pg-boss-tuned]
//               [--synchronous=FULL] [--repeats=N] [--no-write] [--cpu-prof]
// node test/bench/run-bench.mjs --report-only=test/bench/.results/<run>.json
//               (rewrites docs/benchmarks.md from a run's raw results, after a change to the report)
//
// Runs every measurement of the plan in its own child process against its own fresh database,
// repeats the whole plan (repeats interleaved, so a noisy minute hits every system alike), then
// writes docs/benchmarks.md and the raw results to test/bench/.results/.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { runChild } from './lib/child.mjs';
import { dropLeftoverDatabases, freshDatabase, postgresVersion } from './lib/databases.mjs';
import { describeMachine, describeVersions } from './lib/machine.mjs';
import { MODES } from './lib/modes.mjs';
import { buildPlan, SCENARIOS } from './lib/plan.mjs';
import { writeReport } from './lib/report.mjs';
import { headline } from './lib/headline.mjs';

const RESULTS_DIR = new URL('./.results/', import.meta.url);
const REPORT = new URL('../../docs/benchmarks.md', import.meta.url);

function parseArgs(argv) {
  const args = { mode: MODES.quick, scenarios: new Set(Object.keys(SCENARIOS)), systems: null, synchronous: 'NORMAL', write: true, cpuProf: false, repeats: null };
  for (const arg of argv) {
    const [flag, value = ''] = arg.split('=');
    if (flag === '--full') args.mode = MODES.full;
    else if (flag === '--quick') args.mode = MODES.quick;
    else if (flag === '--only') args.scenarios = new Set(value.toUpperCase().split(',').filter(Boolean));
    else if (flag === '--systems') args.systems = new Set(value.split(',').filter(Boolean));
    else if (flag === '--synchronous' && (value === 'NORMAL' || value === 'FULL')) args.synchronous = value;
    else if (flag === '--repeats' && Number.isInteger(Number(value)) && Number(value) >= 1) args.repeats = Number(value);
    else if (flag === '--no-write') args.write = false;
    else if (flag === '--report-only' && value) args.reportOnly = value;
    else if (flag === '--cpu-prof') args.cpuProf = true;
    else throw new Error(`Unknown argument "${arg}". See the comment at the top of test/bench/run-bench.mjs.`);
  }
  // The mode's sizes with fewer (or more) repeats, e.g. when a full run would not fit the time
  // there is; the report says so.
  if (args.repeats && args.repeats !== args.mode.repeats) args.mode = { ...args.mode, repeats: args.repeats, repeatsOverride: true };
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.reportOnly) {
    await writeReport(REPORT, JSON.parse(await readFile(args.reportOnly, 'utf8')));
    console.log(`report: ${fileURLToPath(REPORT)} (from ${args.reportOnly})`);
    return;
  }
  if (!(await postgresVersion())) throw new Error('PostgreSQL is not reachable on 127.0.0.1:5432 (user postgres).');
  await dropLeftoverDatabases();
  const plan = buildPlan(args.mode, args);
  const repeats = args.mode.repeats;
  const startedAt = new Date();
  const machine = await describeMachine();
  const execArgv = args.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${fileURLToPath(new URL('profiles/', RESULTS_DIR))}`] : [];
  console.log(`jobbase bench, ${args.mode.name} mode: ${plan.length} measurements × ${repeats} repeats, synchronous=${args.synchronous}`);

  const results = new Map(plan.map((c) => [c.key, { ...c, runs: [] }]));
  /** The 1-minute load average before each measurement: the report says whether the machine was shared. */
  const loadSamples = [];
  const total = plan.length * repeats;
  let done = 0;
  for (let repeat = 1; repeat <= repeats; repeat++) {
    for (const c of plan) {
      done++;
      const entry = results.get(c.key);
      loadSamples.push(os.loadavg()[0]);
      const database = await freshDatabase(c.dialect);
      const t = Date.now();
      try {
        const value = await runChild(c.kind, { system: c.system, database, ...c.params }, { timeoutMs: args.mode.childTimeoutMs, execArgv });
        entry.runs.push({ ok: true, value });
        console.log(`[${done}/${total}] ${c.key} #${repeat}: ${headline(c.kind, value)} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
      } catch (err) {
        entry.runs.push({ ok: false, error: err.message });
        console.log(`[${done}/${total}] ${c.key} #${repeat}: ERROR ${err.message}`);
      } finally {
        await database.dispose();
      }
    }
  }

  const run = {
    mode: args.mode,
    synchronous: args.synchronous,
    startedAt: startedAt.toISOString(),
    minutes: (Date.now() - startedAt.getTime()) / 60_000,
    machine,
    loadSamples,
    versions: describeVersions(),
    results: [...results.values()],
  };
  await mkdir(RESULTS_DIR, { recursive: true });
  const rawFile = new URL(`${args.mode.name}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`, RESULTS_DIR);
  await writeFile(rawFile, JSON.stringify(run, null, 2));
  console.log(`raw results: ${fileURLToPath(rawFile)}`);
  if (args.write) {
    await writeReport(REPORT, run);
    console.log(`report: ${fileURLToPath(REPORT)}`);
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exitCode = 1;
});
