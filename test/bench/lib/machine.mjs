// What the report says about the machine and the software measured.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import Database from 'better-sqlite3';
import { postgresVersion } from './databases.mjs';
import { jobbaseVersion } from './jobbase-server.mjs';

const BENCH_MODULES = new URL('../node_modules/', import.meta.url);
const ROOT_MODULES = new URL('../../../node_modules/', import.meta.url);

function packageVersion(base, name) {
  try {
    return JSON.parse(readFileSync(new URL(`${name}/package.json`, base), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: new URL('../../..', import.meta.url), encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

export async function describeMachine() {
  const memory = new Database(':memory:');
  const sqlite = memory.prepare('select sqlite_version() as v').get().v;
  memory.close();
  const cpus = os.cpus();
  return {
    nproc: os.availableParallelism(),
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    memoryGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg(),
    node: process.version,
    postgres: (await postgresVersion()) ?? 'unreachable',
    sqliteBetter: sqlite,
  };
}

export function describeVersions() {
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
  return {
    jobbase: `${jobbaseVersion()} (commit ${commit || 'unknown'}${dirty ? ' with uncommitted changes' : ''})`,
    'jobbase sqlite driver': `better-sqlite3 ${packageVersion(ROOT_MODULES, 'better-sqlite3')} via MikroORM ${packageVersion(ROOT_MODULES, '@mikro-orm/core')} (@mikro-orm/better-sqlite)`,
    'jobbase postgres driver': `pg ${packageVersion(ROOT_MODULES, 'pg')}`,
    'graphile-worker': packageVersion(BENCH_MODULES, 'graphile-worker'),
    'pg-boss': packageVersion(BENCH_MODULES, 'pg-boss'),
    plainjob: packageVersion(BENCH_MODULES, 'plainjob'),
    'better-sqlite3': packageVersion(BENCH_MODULES, 'better-sqlite3'),
    'pg (harness, peers)': packageVersion(BENCH_MODULES, 'pg'),
    autocannon: packageVersion(BENCH_MODULES, 'autocannon'),
  };
}
