// Jobbase as built at the root (`tsc -b` → server/dist). Imported by path rather than as an
// npm dependency so this package's lockfile never copies the workspace's dependency tree; the
// server's own dependencies resolve from the root node_modules.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../../../server/dist/index.js', import.meta.url);

/** The URL of a module of the built server, `index.js` or e.g. `store/sqlite/store.js`. */
export function jobbaseModule(path) {
  return new URL(path, entry).href;
}

export async function loadJobbase() {
  if (!existsSync(fileURLToPath(entry))) {
    throw new Error('server/dist is missing: run `npx tsc -b` at the repository root (npm run bench does).');
  }
  return import(entry.href);
}

export function jobbaseVersion() {
  const pkg = JSON.parse(readFileSync(new URL('../../../server/package.json', import.meta.url), 'utf8'));
  return pkg.version;
}
