// Builds the admin UI (server/admin) into server/dist/admin: type-checks it for the browser,
// bundles it with esbuild, and copies the static files. The server serves that folder at /_/.
// No source map: every server would serve it and the package would ship it, and the server has
// no development mode to keep it to; the UI's source is in the repository (server/admin/src).
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const server = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(server, 'admin');
const out = join(server, 'dist', 'admin');

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(source, 'tsconfig.json')], { stdio: 'inherit' });

await mkdir(out, { recursive: true });
// A map left by a build from before it was dropped would still be served and packed.
await rm(join(out, 'app.js.map'), { force: true });
await build({
  entryPoints: [join(source, 'src', 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
await Promise.all(['index.html', 'app.css', 'favicon.svg'].map((f) => copyFile(join(source, f), join(out, f))));
