// `npm run bench` step 1: install this package (its own lockfile, outside the workspaces) when
// it has not been installed yet or its lockfile changed since. The root `npm ci` never does.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const installed = fileURLToPath(new URL('./node_modules/.package-lock.json', import.meta.url));
const lockfile = fileURLToPath(new URL('./package-lock.json', import.meta.url));

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lockfile).mtimeMs) {
  console.log('test/bench: installing the benchmark dependencies (npm ci; better-sqlite3 may compile)…');
  // Under `npm run`, npm_execpath is npm's own CLI: use the same npm that runs us, but without
  // the root script's npm_* environment, so nothing of the workspace root's config carries over.
  const npm = process.env.npm_execpath;
  const [command, args] = npm ? [process.execPath, [npm]] : ['npm', []];
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  const result = spawnSync(command, [...args, 'ci', '--prefix', here, '--no-audit', '--no-fund'], { cwd: here, env, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
