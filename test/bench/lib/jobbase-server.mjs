// Jobbase as built at the root (`tsc -b` → server/dist). Imported by path rather than as an
// npm dependency so this package's lockfile never copies the workspace's dependency tree; the
// server's own dependencies resolve from the root node_modules.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../../../server/dist/index.js', import.meta.url);

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
